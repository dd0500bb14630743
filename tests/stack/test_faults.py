"""When OpenTok, S3's notifications or DynamoDB misbehave: clear answers, nothing
half-written, no second recording, no recording lost. The faults: local/opentok/faults.py.
"""

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import requests

from local.tools.harness import AwsCall
from tests.support.dev_process import DevProcess
from tests.support.stack import Stack, eventually


def _archive_items(stack: Stack) -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName=stack.table)["Items"]
    return [item for item in items if item["pk"]["S"].startswith("archive#")]


def _opentok_archives(stack: Stack, session_id: str) -> list:
    return list(stack.sdk().list_archives(session_id=session_id))


@pytest.mark.parametrize("status", [500, 503])
def test_opentok_failing_a_start_is_a_bad_gateway_that_writes_nothing(
    stack: Stack, status: int
) -> None:
    session = stack.join()
    stack.opentok.faults.fail("POST", r"/archive$", status)
    answer = stack.post("/archive/start", {"sessionId": session["sessionId"]})
    assert answer.status == 502, answer.body
    assert answer.headers["retry-after"]
    assert "OpenTok" in answer.json()["error"]
    assert _archive_items(stack) == []
    assert _opentok_archives(stack, session["sessionId"]) == []
    # OpenTok is well again: the same request, retried as Retry-After says, records.
    again = stack.post("/archive/start", {"sessionId": session["sessionId"]})
    assert again.status == 200


def test_opentok_answering_a_start_with_a_conflict_writes_nothing(stack: Stack) -> None:
    session = stack.join()
    stack.opentok.faults.fail("POST", r"/archive$", 409)
    answer = stack.post("/archive/start", {"sessionId": session["sessionId"]})
    assert answer.status == 409
    assert answer.json()["error"]
    assert _archive_items(stack) == []


def test_opentok_failing_a_stop_leaves_the_recording_and_its_record_as_they_were(
    stack: Stack,
) -> None:
    archive = stack.record()
    stack.opentok.faults.fail("POST", r"/stop$", 503)
    answer = stack.post(f"/archive/{archive['id']}/stop")
    assert answer.status == 502
    assert answer.headers["retry-after"]
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "started"
    assert stack.sdk().get_archive(archive["id"]).status == "started"
    assert stack.post(f"/archive/{archive['id']}/stop").json()["status"] == "stopped"


@pytest.fixture
def impatient(stack: Stack) -> Stack:
    """The functions wait half a second for OpenTok, not six."""
    stack.configure_functions(OPENTOK_TIMEOUT_SECONDS="0.5")
    return stack


def test_a_start_retried_after_a_timeout_does_not_make_a_second_recording(
    impatient: Stack,
) -> None:
    stack = impatient
    session = stack.join()
    stack.opentok.faults.delay("POST", r"/archive$", seconds=1.5)
    first = stack.post("/archive/start", {"sessionId": session["sessionId"]})
    assert first.status == 504
    assert first.headers["retry-after"]
    assert _archive_items(stack) == []  # nothing half-written: we never heard its answer
    # OpenTok started it all the same, late; the page retries.
    started = eventually(lambda: _opentok_archives(stack, session["sessionId"]), timeout=5)
    again = stack.post("/archive/start", {"sessionId": session["sessionId"]})
    assert again.status == 200, again.body
    assert again.json()["id"] == started[0].id
    assert len(_opentok_archives(stack, session["sessionId"])) == 1
    assert stack.stored(started[0].id)["status"]["S"] == "started"


def test_a_stop_retried_after_a_timeout_answers_the_stopped_recording(impatient: Stack) -> None:
    stack = impatient
    archive = stack.record()
    stack.opentok.faults.delay("POST", r"/stop$", seconds=1.5)
    first = stack.post(f"/archive/{archive['id']}/stop")
    assert first.status == 504
    eventually(lambda: stack.sdk().get_archive(archive["id"]).status != "started", timeout=5)
    again = stack.post(f"/archive/{archive['id']}/stop")
    assert again.status == 200
    assert again.json()["status"] in ("stopped", "uploaded")
    assert stack.stored(archive["id"])["status"]["S"] in ("stopped", "uploaded")


def test_a_lost_s3_notification_is_repaired_by_the_reconciler(stack: Stack) -> None:
    archive = stack.recording_whose_s3_event_was_lost()
    assert stack.get(f"/archive/{archive['id']}").json()["ready"] is False
    _reconcile_now(stack)
    assert stack.get(f"/archive/{archive['id']}").json()["ready"] is True


def test_a_recording_whose_stop_and_upload_went_unheard_is_found(stack: Stack) -> None:
    """OpenTok stopped it (everyone left), its callback and its S3 notification were lost."""
    archive = stack.record()
    stack.opentok.faults.drop_callbacks(times=5)
    stack.opentok.faults.drop_s3_notifications()
    stack.sdk().stop_archive(archive["id"])
    stack.wait_until_uploaded(archive["id"])
    assert stack.deliver_s3_events() == 0
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "started"
    _reconcile_now(stack)
    repaired = stack.get(f"/archive/{archive['id']}").json()
    assert repaired["ready"] is True
    assert repaired["status"] == "uploaded"


def _reconcile_now(stack: Stack) -> dict[str, int]:
    # As if StuckAfterMinutes had passed: the reconciler's threshold, not the clock, moves.
    stack.configure_functions(STUCK_AFTER_MINUTES="-1")
    return stack.invoke("ReconcileArchivesFunction", {"detail-type": "Scheduled Event"})


def test_a_duplicated_s3_notification_marks_the_archive_ready_once(stack: Stack) -> None:
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"])
    stack.opentok.faults.duplicate_s3_notifications()
    assert stack.deliver_s3_events() == 2  # two invocations at once, as at-least-once allows
    ready = stack.get(f"/archive/{archive['id']}").json()
    assert ready["ready"] is True
    assert ready["status"] == "uploaded"
    stored = stack.stored(archive["id"])
    # Delivered again later, it changes nothing.
    event = _s3_event(stack, archive["id"])
    stack.invoke("MarkReadyFunction", event)
    assert stack.stored(archive["id"]) == stored


def _s3_event(stack: Stack, archive_id: str) -> dict[str, Any]:
    from tests.support.stack import load_event

    return load_event("s3_recording_uploaded", archive_id=archive_id, bucket=stack.bucket)


THROTTLED = (
    400,
    "application/x-amz-json-1.0",
    json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "message": "throttled",
        }
    ).encode(),
)


def _is_write(call: AwsCall) -> bool:
    return call.operation in ("PutItem", "UpdateItem")


def _throttle_writes(stack: Stack, times: int) -> Callable[[], int]:
    """DynamoDB answers the next `times` writes with a throttling error, as DynamoDB does;
    gives a count of the write attempts made from now on."""
    before = len(stack.aws_calls())
    stack.moto.refuse(_is_write, times, THROTTLED)
    return lambda: len([call for call in stack.aws_calls(since=before) if _is_write(call)])


def test_dynamodb_throttling_is_retried_and_the_recording_is_kept(stack: Stack) -> None:
    session = stack.join()
    attempts = _throttle_writes(stack, 2)
    answer = stack.post("/archive/start", {"sessionId": session["sessionId"]})
    assert answer.status == 200, answer.body
    assert attempts() == 3  # two throttled, the third written
    assert stack.stored(answer.json()["id"])["status"]["S"] == "started"


def test_dynamodb_throttling_that_outlasts_the_retries_is_a_503_to_retry(stack: Stack) -> None:
    archive = stack.record()
    attempts = _throttle_writes(stack, 100)
    answer = stack.post(f"/archive/{archive['id']}/stop")
    assert answer.status == 503
    assert answer.headers["retry-after"]
    assert "Traceback" not in answer.body.decode()
    assert attempts() == 3  # three attempts in all, then an answer in good time
    stack.moto.stop_refusing()
    # OpenTok stopped it; asking again records what it says.
    assert stack.post(f"/archive/{archive['id']}/stop").json()["status"] in ("stopped", "uploaded")
    assert stack.stored(archive["id"])["status"]["S"] in ("stopped", "uploaded")


# --- Races, with threads, against `make dev`'s stack over HTTP --------------------------


@pytest.fixture(scope="module")
def dev() -> Any:
    stack = DevProcess(processing_delay=0.3)
    yield stack
    stack.stop()


def _host(dev: DevProcess, room: str) -> tuple[dict[str, Any], dict[str, str]]:
    joined = requests.get(
        f"{dev.url}/room/{room}", headers={"x-host-key": dev.host_key}, timeout=10
    ).json()
    connection = requests.post(
        f"{dev.url}/_emulator/sessions/{joined['sessionId']}/connections",
        json={"token": joined["token"]},
        timeout=10,
    )
    connection.raise_for_status()
    return joined, {"authorization": f"Bearer {joined['token']}"}


def _at_once(*calls: Any) -> list[requests.Response]:
    gate = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        gate.wait(timeout=10)
        answers[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_many_starts_at_once_make_one_recording(dev: DevProcess) -> None:
    joined, host = _host(dev, "race-starts")

    def start() -> requests.Response:
        return dev.start(joined["sessionId"], host)

    answers = _at_once(*[start] * 8)
    assert {answer.status_code for answer in answers} == {200}, [a.text for a in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1
    listed = requests.get(
        f"{dev.url}/archive",
        params={"sessionId": joined["sessionId"]},
        headers={"x-host-key": dev.host_key},
        timeout=10,
    ).json()
    assert [item["id"] for item in listed["items"]] == [answers[0].json()["id"]]


def test_a_stop_racing_a_start_ends_with_one_consistent_story(dev: DevProcess) -> None:
    joined, host = _host(dev, "race-stop-start")
    first = dev.start(joined["sessionId"], host).json()
    stop, start = _at_once(
        lambda: requests.post(f"{dev.url}/archive/{first['id']}/stop", headers=host, timeout=20),
        lambda: dev.start(joined["sessionId"], host),
    )
    assert stop.status_code == 200
    assert start.status_code in (200, 409), start.text
    # Whatever the order, what we say of each recording is what OpenTok says of it.
    listed = requests.get(
        f"{dev.url}/archive",
        params={"sessionId": joined["sessionId"]},
        headers={"x-host-key": dev.host_key},
        timeout=10,
    ).json()["items"]
    ids = {item["id"] for item in listed}
    assert first["id"] in ids
    if start.status_code == 200:
        assert start.json()["id"] in ids
    recording = [item for item in listed if item["status"] == "started"]
    assert first["id"] not in {item["id"] for item in recording}
    assert len(recording) <= 1
    # The end of the story: every recording of the session, once stopped, becomes playable.
    for item in recording:
        stopped = requests.post(f"{dev.url}/archive/{item['id']}/stop", headers=host, timeout=20)
        assert stopped.status_code == 200
    for archive_id in ids:
        dev.wait_until_ready(archive_id)


def test_a_duplicated_notification_under_make_dev_makes_one_ready_archive(
    dev: DevProcess,
) -> None:
    joined, host = _host(dev, "race-duplicate")
    faults = requests.post(
        f"{dev.url}/_emulator/faults", json={"kind": "duplicate-s3-notification"}, timeout=10
    )
    assert faults.status_code == 201
    started = dev.start(joined["sessionId"], host).json()
    requests.post(f"{dev.url}/archive/{started['id']}/stop", headers=host, timeout=20)
    archive = dev.wait_until_ready(started["id"])
    assert archive["status"] == "uploaded"
    # The duplicate was delivered (the fault is used up), and broke nothing.
    assert requests.get(f"{dev.url}/_emulator/faults", timeout=10).json()["faults"] == []
    assert not any("failed on an S3 event" in line for line in dev.output)


def test_the_reconciler_asks_opentok_only_of_recordings_past_two_hours(stack: Stack) -> None:
    long_running = stack.record("long")
    fresh = stack.record("fresh")
    three_hours_ago = int(time.time() * 1000) - 3 * 3600 * 1000
    boto3.client("dynamodb").update_item(
        TableName=stack.table,
        Key={"pk": {"S": f"archive#{long_running['id']}"}},
        UpdateExpression="SET createdAt = :t",
        ExpressionAttributeValues={":t": {"N": str(three_hours_ago)}},
    )
    stack.opentok.calls.clear()
    summary = _reconcile_now(stack)
    asked = [path for method, path in stack.opentok.calls if method == "GET"]
    assert [path.rsplit("/", 1)[-1] for path in asked] == [long_running["id"]]
    # Both still record, as OpenTok says: neither is repaired nor reported stuck.
    assert summary["stuck"] == 0 and summary["repaired"] == 0
    for archive in (long_running, fresh):
        assert stack.get(f"/archive/{archive['id']}").json()["status"] == "started"


def test_a_recording_opentok_fails_is_failed_with_its_reason_and_never_ready(
    stack: Stack,
) -> None:
    """The `fail-recording` fault: OpenTok fails the next recording it processes."""
    archive = stack.record()
    stack.opentok.faults.fail_recordings()
    stack.post(f"/archive/{archive['id']}/stop")
    stack.opentok.wait_for(lambda: stack.sdk().get_archive(archive["id"]).status == "failed")
    stack.post("/archive/callback", {"id": archive["id"]})  # OpenTok's callback says so
    shown = stack.get(f"/archive/{archive['id']}").json()
    assert (shown["status"], shown["reason"], shown["ready"]) == ("failed", "failure", False)
    view = stack.get(f"/archive/{archive['id']}/view", accept="application/json")
    assert (view.status, view.json()) == (409, {"error": "the archive failed: failure"})
    assert stack.deliver_s3_events() == 0  # nothing was uploaded


def test_an_answer_that_a_ready_recording_failed_does_not_make_it_failed(stack: Stack) -> None:
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"])
    stack.deliver_s3_events()
    described = f"{stack.opentok.url}/v2/project/{stack.opentok.api_key}/archive/{archive['id']}"
    answer = requests.get(described, headers=stack.sdk().get_json_headers(), timeout=5).json()
    failed = json.dumps(answer | {"status": "failed", "reason": "failure"})
    stack.opentok.faults.answer("GET", f"/archive/{archive['id']}$", 200, failed, 9)
    stack.post("/archive/callback", {"id": archive["id"]})  # makes us ask OpenTok again

    shown = stack.get(f"/archive/{archive['id']}").json()
    assert (shown["status"], shown["ready"]) == ("uploaded", True)
    listed = stack.get("/archive").json()["items"]
    assert [(item["status"], item["ready"]) for item in listed] == [("uploaded", True)]


def test_a_failed_answer_once_the_zip_is_in_the_bucket_does_not_fail_the_recording(
    stack: Stack,
) -> None:
    archive = stack.record(outputMode="individual")
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"])
    stack.deliver_s3_events()  # the zip is in: its split is asked for
    described = f"{stack.opentok.url}/v2/project/{stack.opentok.api_key}/archive/{archive['id']}"
    answer = requests.get(described, headers=stack.sdk().get_json_headers(), timeout=5).json()
    failed = json.dumps(answer | {"status": "failed", "reason": "failure"})
    stack.opentok.faults.answer("GET", f"/archive/{archive['id']}$", 200, failed, 9)
    stack.post("/archive/callback", {"id": archive["id"]})
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "uploaded"

    assert stack.deliver_stream_requests() == 1
    shown = stack.get(f"/archive/{archive['id']}").json()
    assert (shown["status"], shown["ready"]) == ("uploaded", True)
