"""No recording lost: one OpenTok kept in its cloud (its upload failed, fallback `opentok`) is
copied into our bucket before its 72 hours run out, and becomes ready from there."""

import json
import os
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from local.opentok import handler as emulator_handler
from local.tools.harness import AwsCall
from tests.support.stack import API_KEY, SITE_URL, Stack, eventually, load_event

RIGHT_AWAY = pytest.mark.parametrize(
    "stack_parameters", [{"StuckAfterMinutes": "0"}], indirect=True
)
COPY = "CopyRecordingFunction"
MIB = 1024 * 1024
# Three parts of 5 MiB, S3's least: two whole ones and the rest.
RECORDING_BYTES = 12 * MIB + 12345


@pytest.fixture(autouse=True)
def small_parts(stack: Stack) -> None:
    """Parts of 5 MiB (the template's are 32)."""
    stack.configure_functions(COPY_PART_SIZE_MIB="5")


@pytest.fixture
def recording_file(tmp_path: Path) -> Path:
    """A stand-in recording, served by the emulator from disk."""
    path = tmp_path / "archive.mp4"
    path.write_bytes(os.urandom(RECORDING_BYTES))
    return path


def _kept_by_opentok(stack: Stack, recording_file: Path) -> dict[str, Any]:
    """A recording whose upload to the bucket failed, so that OpenTok keeps it (`available`)."""
    stack.point_storage_at("no-such-bucket", fallback="opentok")
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    stack.opentok.wait_for(lambda: stack.sdk().get_archive(archive["id"]).status == "available")
    stack.opentok.state.serve_from_disk(archive["id"], recording_file)
    return archive


def _key(archive: dict[str, Any]) -> str:
    return f"{API_KEY}/{archive['id']}/archive.mp4"


def _in_bucket(stack: Stack, archive: dict[str, Any]) -> bytes:
    return boto3.client("s3").get_object(Bucket=stack.bucket, Key=_key(archive))["Body"].read()


def _ask_for_copy(stack: Stack, archive_id: str) -> None:
    boto3.client("sqs").send_message(
        QueueUrl=stack.queues[COPY], MessageBody=json.dumps({"archiveId": archive_id})
    )


def _deliver_bucket_events(stack: Stack) -> None:
    # moto announces a completed multipart upload twice (Put, then CompleteMultipartUpload);
    # S3 once. Either way the ready function marks it ready once.
    assert stack.deliver_s3_events() >= 1


def _reconcile(stack: Stack) -> dict:
    return stack.invoke("ReconcileArchivesFunction", load_event("scheduled_reconcile"))


def _is_part(call: AwsCall) -> bool:
    return call.operation == "UploadPart"


def _parts_uploaded(stack: Stack) -> list[int]:
    """The part numbers the copy function has uploaded (S3 took them), in order."""
    return [
        int(call.query["partNumber"][0])
        for call in stack.aws_calls("s3")
        if _is_part(call) and call.status == 200
    ]


def test_a_recording_opentok_kept_is_copied_into_our_bucket_and_becomes_ready(
    stack: Stack, recording_file: Path
) -> None:
    archive = _kept_by_opentok(stack, recording_file)
    # OpenTok's callback says available: that is not done, the copy is asked for.
    assert stack.post("/archive/callback", {"id": archive["id"]}).json()["ready"] is False
    assert stack.get(f"/archive/{archive['id']}").json()["ready"] is False

    assert stack.deliver_copy_requests() == 1
    _deliver_bucket_events(stack)

    shown = stack.get(f"/archive/{archive['id']}").json()
    assert shown["ready"] is True
    assert shown["size"] == RECORDING_BYTES
    assert _in_bucket(stack, archive) == recording_file.read_bytes()
    assert _parts_uploaded(stack) == [1, 2, 3]
    view = stack.get(f"/archive/{archive['id']}/view")
    assert view.status == 302
    assert _key(archive) in view.headers["location"]  # our copy, not OpenTok's


def test_a_copy_cut_short_by_its_time_carries_on_without_uploading_parts_again(
    stack: Stack, recording_file: Path
) -> None:
    archive = _kept_by_opentok(stack, recording_file)
    # The first invocation's time, as Lambda's context tells it: plenty when it takes its
    # lease and before the first part, a second once that part is up. The next one has all.
    times = iter([[900_000, 900_000, 1_000]])

    def invoke(event: dict[str, Any]) -> Any:
        return stack.invoke(COPY, event, time_left_ms=next(times, None))

    _ask_for_copy(stack, archive["id"])
    # The first invocation uploads a part and asks to carry on; the next one finishes.
    assert stack.deliver_copy_requests(invoke) == 2
    assert _parts_uploaded(stack) == [1, 2, 3]
    _deliver_bucket_events(stack)
    assert stack.get(f"/archive/{archive['id']}").json()["ready"] is True
    assert _in_bucket(stack, archive) == recording_file.read_bytes()


def test_a_copy_that_fails_midway_is_delivered_again_and_resumes_from_its_parts(
    stack: Stack, recording_file: Path
) -> None:
    archive = _kept_by_opentok(stack, recording_file)
    # S3 refuses the second part, however often the function tries it, until it gives up.
    stack.moto.refuse(lambda call: _is_part(call) and call.query["partNumber"] == ["2"], 100)
    _ask_for_copy(stack, archive["id"])

    assert stack.deliver_copy_requests() == 0  # failed: left on the queue for SQS to retry
    stack.moto.stop_refusing()
    assert boto3.client("s3").list_objects_v2(Bucket=stack.bucket).get("KeyCount") == 0
    assert stack.deliver_copy_requests() == 1
    assert _parts_uploaded(stack) == [1, 2, 3]  # part 1 was not uploaded again
    _deliver_bucket_events(stack)
    assert stack.get(f"/archive/{archive['id']}").json()["ready"] is True
    assert _in_bucket(stack, archive) == recording_file.read_bytes()


def test_an_expired_download_link_is_read_anew_from_opentok(
    stack: Stack, recording_file: Path
) -> None:
    archive = _kept_by_opentok(stack, recording_file)
    described = f"{stack.opentok.url}/v2/project/{stack.opentok.api_key}/archive/{archive['id']}"
    stale = requests.get(described, headers=stack.sdk().get_json_headers(), timeout=5).json()
    # OpenTok's links last 10 minutes (contract §3), a few seconds on the emulator's fast clock.
    eventually(lambda: requests.get(stale["url"], timeout=5).status_code == 403)
    # The copy's first read answers with that link, as if it had been read long before.
    stack.opentok.faults.answer("GET", f"/archive/{archive['id']}$", 200, json.dumps(stale))
    stack.opentok.calls.clear()
    _ask_for_copy(stack, archive["id"])

    assert stack.deliver_copy_requests() == 1
    reads = [path for _, path in stack.opentok.calls if path.endswith(archive["id"])]
    assert len(reads) == 2  # the refused link was replaced by reading the archive again
    _deliver_bucket_events(stack)
    assert _in_bucket(stack, archive) == recording_file.read_bytes()


def test_a_long_copy_reads_a_fresh_link_before_its_link_runs_out(
    stack: Stack, recording_file: Path
) -> None:
    archive = _kept_by_opentok(stack, recording_file)
    # As if each part took longer than a link is trusted for (8 of its 10 minutes).
    stack.configure_functions(COPY_LINK_REFRESH_SECONDS="0")
    stack.opentok.calls.clear()
    _ask_for_copy(stack, archive["id"])
    assert stack.deliver_copy_requests() == 1
    reads = [path for _, path in stack.opentok.calls if path.endswith(archive["id"])]
    assert len(reads) == 1 + 3  # the first read, then one before each of the three parts
    _deliver_bucket_events(stack)
    assert _in_bucket(stack, archive) == recording_file.read_bytes()


@RIGHT_AWAY
def test_the_reconciler_starts_the_copy_nobody_asked_for(
    stack: Stack, recording_file: Path
) -> None:
    archive = _kept_by_opentok(stack, recording_file)  # its callback was never heard
    summary = _reconcile(stack)
    assert (summary["copying"], summary["repaired"], summary["stuck"]) == (1, 0, 0)
    assert stack.deliver_copy_requests() == 1
    _deliver_bucket_events(stack)
    assert stack.get(f"/archive/{archive['id']}").json()["ready"] is True
    assert _reconcile(stack)["checked"] == 0  # nothing left to do


@RIGHT_AWAY
def test_the_reconciler_does_not_ask_again_for_a_bucket_write_under_way(
    stack: Stack, recording_file: Path
) -> None:
    archive = _kept_by_opentok(stack, recording_file)
    stack.post("/archive/callback", {"id": archive["id"]})  # asks for the copy once
    assert _waiting_copy_requests(stack) == 1
    an_hour_on = str(int(time.time() * 1000) + 3600 * 1000)
    _set(stack, archive["id"], "SET bucketWriteUntil = :until", {":until": {"N": an_hour_on}})

    assert _reconcile(stack)["copying"] == 1
    assert _waiting_copy_requests(stack) == 1  # none more


def _waiting_copy_requests(stack: Stack) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.queues[COPY], AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


@RIGHT_AWAY
def test_a_recording_still_only_in_opentok_as_its_72_hours_run_out_is_at_risk(
    stack: Stack, recording_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = _kept_by_opentok(stack, recording_file)
    stack.post("/archive/callback", {"id": archive["id"]})
    created = int(time.time() * 1000) - 50 * 3600 * 1000
    boto3.client("dynamodb").update_item(
        TableName=stack.table,
        Key={"pk": {"S": f"archive#{archive['id']}"}},
        UpdateExpression="SET createdAt = :t, createdSort = :sort",
        ExpressionAttributeValues={
            ":t": {"N": str(created)},
            ":sort": {"S": f"{created:015d}#{archive['id']}"},
        },
    )
    capsys.readouterr()
    assert _reconcile(stack)["atRisk"] == 1
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "{" in line]
    assert any(line.get("ArchivesAtRisk") == [1.0] for line in emitted)
    assert any(archive["id"] in line.get("archive_ids", []) for line in emitted)


def test_the_reconciler_reads_only_the_index_of_unfinished_archives(stack: Stack) -> None:
    done = stack.record("done")
    stack.post(f"/archive/{done['id']}/stop")
    stack.wait_until_uploaded(done["id"])
    stack.deliver_s3_events()
    pending = stack.record("pending")
    before = len(stack.aws_calls())
    _reconcile(stack)
    calls = stack.aws_calls("dynamodb", since=before)
    assert [(call.operation, call.request.get("IndexName")) for call in calls] == [
        ("Query", "UnfinishedArchives")
    ]
    assert [item["id"]["S"] for item in calls[0].answer["Items"]] == [pending["id"]]
    assert calls[0].answer["ScannedCount"] == 1  # the ready one is not even read


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({"archive": "x"}),
        json.dumps({"archiveId": "../../etc"}),
        json.dumps({"archiveId": "b40ef09b-3811-4726-b508-e41a0f96c68f"}),  # not ours
    ],
)
def test_a_bad_copy_request_is_logged_and_dropped_without_a_write(
    stack: Stack, body: str, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("sqs").send_message(QueueUrl=stack.queues[COPY], MessageBody=body)
    capsys.readouterr()
    assert stack.deliver_copy_requests() == 1  # handled: dropped, not retried
    reads = ("GetItem", "GetSecretValue")
    assert [call.operation for call in stack.aws_calls() if call.operation not in reads] == []
    assert stack.opentok.calls == []
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "{" in line]
    assert any(line.get("message", "").startswith("dropped a copy request") for line in logged)


def test_a_download_that_breaks_off_midway_is_asked_again_from_where_the_part_began(
    stack: Stack, recording_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _kept_by_opentok(stack, recording_file)
    serve = emulator_handler.Handler._send_file
    broken: list[int] = []

    def break_once(self: Any, status: int, path: Path, start: int, end: int, *rest: Any) -> None:
        if start == 0 or broken:
            return serve(self, status, path, start, end, *rest)
        broken.append(start)  # the second part: headers, a little of it, then the line drops
        content_type, headers = rest
        headers["Content-Length"] = str(end - start + 1)
        self._send(status, b"", content_type, headers)
        with path.open("rb") as file:
            file.seek(start)
            self.wfile.write(file.read(1000))
        self.close_connection = True
        return None

    monkeypatch.setattr(emulator_handler.Handler, "_send_file", break_once)
    _ask_for_copy(stack, archive["id"])
    assert stack.deliver_copy_requests() == 1
    assert broken == [5 * MIB]
    assert _parts_uploaded(stack) == [1, 2, 3]
    _deliver_bucket_events(stack)
    assert _in_bucket(stack, archive) == recording_file.read_bytes()


def _set(stack: Stack, archive_id: str, expression: str, values: dict, **names: str) -> None:
    """Writes the record as a running copy or a late callback leaves it."""
    extra = {"ExpressionAttributeNames": names} if names else {}
    boto3.client("dynamodb").update_item(
        TableName=stack.table,
        Key={"pk": {"S": f"archive#{archive_id}"}},
        UpdateExpression=expression,
        ExpressionAttributeValues=values,
        **extra,
    )


def test_a_recording_being_copied_is_not_deleted_until_the_copy_is_done(
    stack: Stack, recording_file: Path
) -> None:
    archive = _kept_by_opentok(stack, recording_file)
    stack.post("/archive/callback", {"id": archive["id"]})
    an_hour_on = str(int(time.time() * 1000) + 3600 * 1000)
    _set(stack, archive["id"], "SET bucketWriteUntil = :until", {":until": {"N": an_hour_on}})

    refused = stack.delete(f"/archive/{archive['id']}")

    assert refused.status == 409 and "being written into the bucket" in refused.json()["error"]
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "available"
    assert stack.sdk().get_archive(archive["id"]).status == "available"  # OpenTok's kept too


def test_our_copy_of_a_recording_opentok_let_expire_still_becomes_ready(
    stack: Stack, recording_file: Path
) -> None:
    """OpenTok's `expired` (72 hours on) may be recorded before our copy lands: ours remains."""
    archive = _kept_by_opentok(stack, recording_file)
    _ask_for_copy(stack, archive["id"])
    assert stack.deliver_copy_requests() == 1
    expired = {":expired": {"S": "expired"}, ":rank": {"N": "4"}}
    _set(stack, archive["id"], "SET #s = :expired, statusRank = :rank", expired, **{"#s": "status"})

    _deliver_bucket_events(stack)

    shown = stack.get(f"/archive/{archive['id']}").json()
    assert shown["ready"] is True
    assert requests.get(shown["url"], timeout=5).content == recording_file.read_bytes()


def test_a_failed_download_is_logged_without_its_link(
    stack: Stack, recording_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A download link lets whoever holds it download the recording: logs never keep one."""
    archive = _kept_by_opentok(stack, recording_file)
    described = f"{stack.opentok.url}/v2/project/{stack.opentok.api_key}/archive/{archive['id']}"
    stale = requests.get(described, headers=stack.sdk().get_json_headers(), timeout=5).json()
    eventually(lambda: requests.get(stale["url"], timeout=5).status_code == 403)
    stack.opentok.faults.answer("GET", f"/archive/{archive['id']}$", 200, json.dumps(stale), 9)
    _ask_for_copy(stack, archive["id"])
    capsys.readouterr()

    assert stack.deliver_copy_requests() == 0  # failed, back to SQS

    logged = capsys.readouterr().out
    assert "copy failed" in logged and "HTTP 403" in logged
    assert "signature=" not in logged and stale["url"].split("?")[0] not in logged


def _doctored(stack: Stack, archive: dict[str, Any], url: str) -> None:
    """OpenTok's every answer about the archive now gives `url` as its download link."""
    described = f"{stack.opentok.url}/v2/project/{stack.opentok.api_key}/archive/{archive['id']}"
    answer = requests.get(described, headers=stack.sdk().get_json_headers(), timeout=5).json()
    doctored = json.dumps(answer | {"url": url})
    stack.opentok.faults.answer("GET", f"/archive/{archive['id']}$", 200, doctored, 99)


def test_the_view_never_sends_a_browser_where_opentok_does_not_serve_archives(
    stack: Stack, recording_file: Path
) -> None:
    archive = _kept_by_opentok(stack, recording_file)
    _doctored(stack, archive, "javascript:alert(1)")
    browser = {"accept": "text/html"}
    opened = stack.api.request("GET", f"/archive/{archive['id']}/view", headers=browser)
    assert opened.status == 302
    assert opened.headers["location"].startswith(f"{SITE_URL}/view.html?")  # our page says why
    asked = stack.api.request("GET", f"/archive/{archive['id']}/view")
    assert asked.status == 409
    assert asked.json() == {"error": "OpenTok has no download link for the archive"}


def test_the_copy_fetches_nothing_from_a_link_elsewhere_and_does_not_retry(
    stack: Stack, recording_file: Path
) -> None:
    archive = _kept_by_opentok(stack, recording_file)
    probe = f"{stack.moto.url}/probe-{archive['id']}"  # an address inside, as a metadata URL
    _doctored(stack, archive, probe)
    _ask_for_copy(stack, archive["id"])
    before = len(stack.moto.calls)

    assert stack.deliver_copy_requests() == 1  # done with: no retry makes the link OpenTok's
    assert not [call for call in stack.aws_calls(since=before) if "probe-" in call.path]
    assert stack.deliver_copy_requests() == 0  # nothing left in the queue
    assert stack.get(f"/archive/{archive['id']}").json()["ready"] is False


@pytest.mark.parametrize(
    "said",
    [{"size": RECORDING_BYTES + 1}, {"sha256sum": "0" * 64}],
    ids=["another size", "another sha256sum"],
)
def test_a_download_that_is_not_what_opentok_recorded_never_becomes_the_recording(
    stack: Stack, recording_file: Path, said: dict[str, Any]
) -> None:
    archive = _kept_by_opentok(stack, recording_file)
    described = f"{stack.opentok.url}/v2/project/{stack.opentok.api_key}/archive/{archive['id']}"
    answer = requests.get(described, headers=stack.sdk().get_json_headers(), timeout=5).json()
    assert answer["size"] == RECORDING_BYTES and len(answer["sha256sum"]) == 64
    stack.opentok.faults.answer(
        "GET", f"/archive/{archive['id']}$", 200, json.dumps(answer | said), 99
    )
    _ask_for_copy(stack, archive["id"])

    assert stack.deliver_copy_requests() == 0  # failed, back to SQS to be tried again
    s3 = boto3.client("s3")
    assert s3.list_objects_v2(Bucket=stack.bucket, Prefix=_key(archive))["KeyCount"] == 0
    assert s3.list_multipart_uploads(Bucket=stack.bucket).get("Uploads", []) == []
    assert stack.get(f"/archive/{archive['id']}").json()["ready"] is False
