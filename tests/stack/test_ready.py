"""The S3 ObjectCreated event and OpenTok's status callback: how archives become ready."""

import boto3
import pytest

from tests.support.stack import API_KEY, Stack, load_event


def _uploaded(stack: Stack) -> dict:
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"])
    return archive


def _stored(stack: Stack, archive_id: str) -> dict:
    return stack.get(f"/archive/{archive_id}").json()


def test_the_bucket_event_marks_the_archive_ready_with_its_key_size_and_time(
    stack: Stack,
) -> None:
    archive = _uploaded(stack)
    assert _stored(stack, archive["id"])["ready"] is False
    assert stack.deliver_s3_events() == 1
    item = stack.stored(archive["id"])
    assert item["ready"] == {"BOOL": True}
    assert item["s3Key"] == {"S": f"{API_KEY}/{archive['id']}/archive.mp4"}
    head = boto3.client("s3").head_object(Bucket=stack.bucket, Key=item["s3Key"]["S"])
    assert int(item["size"]["N"]) == head["ContentLength"] > 0
    assert int(item["readyAt"]["N"]) >= int(item["stoppedAt"]["N"]) >= int(item["createdAt"]["N"])


def test_a_duplicate_event_changes_nothing(stack: Stack) -> None:
    archive = _uploaded(stack)
    event = load_event("s3_recording_uploaded", archive_id=archive["id"], bucket=stack.bucket)
    stack.deliver_s3_events()
    before = stack.stored(archive["id"])
    stack.invoke("MarkReadyFunction", event)
    assert stack.stored(archive["id"]) == before


def test_url_encoded_keys_are_decoded(stack: Stack) -> None:
    archive = _uploaded(stack)
    event = load_event("s3_recording_uploaded", archive_id=archive["id"], bucket=stack.bucket)
    record = event["Records"][0]["s3"]["object"]
    record["key"] = record["key"].replace("/", "%2F")
    stack.invoke("MarkReadyFunction", event)
    assert _stored(stack, archive["id"])["ready"] is True


def test_individual_stream_archives_are_ready_once_split_into_streams(stack: Stack) -> None:
    archive = stack.record(outputMode="individual")
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"])
    stack.deliver_s3_events()
    assert stack.stored(archive["id"])["s3Key"]["S"].endswith("/archive.zip")
    assert _stored(stack, archive["id"])["ready"] is False  # tests/stack/test_streams.py: the split
    stack.deliver_stream_requests()
    # The zip is downloaded, not played; its streams are played (tests/stack/test_streams.py).
    assert "response-content-disposition=attachment" in _stored(stack, archive["id"])["url"]


@pytest.mark.parametrize(
    "key",
    [
        "notes/meeting+notes.txt",
        f"{API_KEY}/not-an-archive/archive.mp4",
        f"{API_KEY}/b40ef09b-3811-4726-b508-e41a0f96c68f/../archive.mp4",
        f"{API_KEY}/b40ef09b-3811-4726-b508-e41a0f96c68f/archive.mp4.exe",
        "99999999/b40ef09b-3811-4726-b508-e41a0f96c68f/archive.mp4",
        "%E2%80%AE" + API_KEY + "/b40ef09b-3811-4726-b508-e41a0f96c68f/archive.mp4",
    ],
)
def test_objects_that_are_not_our_recordings_are_ignored(stack: Stack, key: str) -> None:
    event = load_event("s3_unrelated_object", bucket=stack.bucket)
    event["Records"][0]["s3"]["object"]["key"] = key
    stack.invoke("MarkReadyFunction", event)
    assert boto3.client("dynamodb").scan(TableName=stack.table)["Count"] == 0
    assert stack.opentok.calls == []


def test_a_recording_we_never_started_is_adopted_from_what_opentok_says(stack: Stack) -> None:
    session = stack.join()
    started = stack.sdk().start_archive(session["sessionId"], name="Automatic")
    started.stop()
    stack.wait_until_uploaded(started.id)
    stack.deliver_s3_events()
    adopted = _stored(stack, started.id)
    assert adopted["ready"] is True
    assert adopted["name"] == "Automatic"
    assert adopted["sessionId"] == session["sessionId"]
    listed = stack.get("/archive", {"sessionId": session["sessionId"]}).json()
    assert [item["id"] for item in listed["items"]] == [started.id]


def test_a_recording_opentok_does_not_know_is_not_adopted(stack: Stack) -> None:
    event = load_event("s3_recording_uploaded", archive_id="0b0b0b0b-1111-4222-8333-444455556666")
    stack.invoke("MarkReadyFunction", event)
    assert boto3.client("dynamodb").scan(TableName=stack.table)["Count"] == 0


def _callback(stack: Stack, body: dict) -> dict:
    answer = stack.post("/archive/callback", body)
    assert answer.status == 200, answer.body
    return answer.json()


def test_a_late_callback_never_unreadies_an_archive(stack: Stack) -> None:
    archive = _uploaded(stack)
    stack.deliver_s3_events()
    # OpenTok's callbacks may arrive late and in any order.
    for status in ("started", "stopped", "uploaded"):
        _callback(stack, {"id": archive["id"], "status": status})
    stored = _stored(stack, archive["id"])
    assert stored["ready"] is True
    assert stored["status"] == "uploaded"


def test_a_callback_before_the_bucket_event_records_progress_without_readiness(
    stack: Stack,
) -> None:
    archive = _uploaded(stack)
    stack.opentok.wait_for(lambda: stack.sdk().get_archive(archive["id"]).status == "uploaded")
    assert _callback(stack, {"id": archive["id"], "status": "uploaded"})["ready"] is False
    assert _stored(stack, archive["id"])["status"] == "uploaded"
    stack.deliver_s3_events()
    assert _stored(stack, archive["id"])["ready"] is True


def test_a_forged_callback_body_stores_only_what_opentok_says(stack: Stack) -> None:
    archive = stack.record(name="Real name")
    forged = {
        "id": archive["id"],
        "status": "available",
        "name": "Forged",
        "url": "https://evil.example/x.mp4",
        "size": 1,
    }
    assert _callback(stack, forged)["status"] == "started"
    stored = _stored(stack, archive["id"])
    assert stored["name"] == "Real name"
    assert stored["status"] == "started"
    assert stored["url"] is None


def test_a_callback_for_a_failed_recording_records_opentoks_reason(stack: Stack) -> None:
    """Contract §3: the SDK's Archive drops `reason`; the callback reads OpenTok's own JSON."""
    archive = stack.failed_recording()
    said = stack.sdk().get_archive(archive["id"])
    assert _callback(stack, {"id": archive["id"]})["status"] == "failed"
    shown = stack.get(f"/archive/{archive['id']}").json()
    assert (shown["status"], shown["ready"]) == ("failed", False)
    assert shown["reason"]  # OpenTok's words, whatever this version of it says
    assert said.status == "failed"


def test_a_callback_for_an_archive_opentok_does_not_know_changes_nothing(stack: Stack) -> None:
    answer = stack.post("/archive/callback", {"id": "0b0b0b0b-1111-4222-8333-444455556666"})
    assert answer.status == 404
    assert boto3.client("dynamodb").scan(TableName=stack.table)["Count"] == 0


@pytest.mark.parametrize("body", [{}, {"id": "x"}, {"id": 7}])
def test_a_callback_without_an_archive_id_is_refused(stack: Stack, body: dict) -> None:
    answer = stack.post("/archive/callback", body)
    assert answer.status == 400
    assert stack.opentok.calls == []
