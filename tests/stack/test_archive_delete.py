"""DELETE /archive/{archiveId}: gone from OpenTok and from our bucket, and the record says so."""

import boto3
import opentok
import pytest

from tests.support.stack import API_KEY, Stack


def _ready_archive(stack: Stack) -> dict:
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"])
    stack.deliver_s3_events()
    stack.opentok.wait_for(lambda: stack.sdk().get_archive(archive["id"]).status == "uploaded")
    return stack.get(f"/archive/{archive['id']}").json()


def _delete(stack: Stack, archive_id: str):
    return stack.delete(f"/archive/{archive_id}")


def _versions_left(stack: Stack, archive_id: str) -> list[str]:
    """Every version and delete marker the versioned bucket keeps of the archive's objects."""
    listed = boto3.client("s3").list_object_versions(
        Bucket=stack.bucket, Prefix=f"{API_KEY}/{archive_id}/"
    )
    return [item["Key"] for item in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]]


def _opentok_status(stack: Stack, archive_id: str) -> str:
    # What OpenTok answers for a deleted archive is unverified: itself as deleted, or a 404.
    try:
        return stack.sdk().get_archive(archive_id).status
    except opentok.exceptions.NotFoundError:
        return "deleted"


def test_deleting_a_recording_removes_it_from_opentok_and_our_bucket(stack: Stack) -> None:
    archive = _ready_archive(stack)
    key = stack.stored(archive["id"])["s3Key"]["S"]
    answer = _delete(stack, archive["id"])
    assert answer.status == 200
    assert answer.json()["status"] == "deleted"
    assert answer.json()["ready"] is False
    assert _opentok_status(stack, archive["id"]) == "deleted"
    assert key.startswith(f"{API_KEY}/{archive['id']}/")
    # Not hidden behind a delete marker for the bucket's 30 days: every version is gone.
    assert _versions_left(stack, archive["id"]) == []
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "deleted"
    assert stack.get(f"/archive/{archive['id']}/view").status == 410


def test_deleting_twice_answers_the_deleted_record(stack: Stack) -> None:
    archive = _ready_archive(stack)
    _delete(stack, archive["id"])
    calls = len(stack.opentok.calls)
    again = _delete(stack, archive["id"])
    assert again.status == 200
    assert again.json()["status"] == "deleted"
    assert len(stack.opentok.calls) == calls


def test_a_late_bucket_event_does_not_bring_a_deleted_recording_back(stack: Stack) -> None:
    archive = _ready_archive(stack)
    _delete(stack, archive["id"])
    stack.invoke(
        "MarkReadyFunction",
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": stack.bucket},
                        "object": {
                            "key": archive["url"].split("?")[0].split("/", 4)[-1],
                            "size": 1,
                        },
                    },
                }
            ]
        },
    )
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "deleted"


def test_a_recording_deleted_before_its_bucket_event_leaves_nothing_in_the_bucket(
    stack: Stack,
) -> None:
    # OpenTok uploaded it, and S3's event is late or lost: the record knows no key.
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"])
    stack.opentok.wait_for(lambda: stack.sdk().get_archive(archive["id"]).status == "uploaded")
    assert "s3Key" not in stack.stored(archive["id"])

    answer = _delete(stack, archive["id"])

    assert (answer.status, answer.json()["status"]) == (200, "deleted")
    assert _versions_left(stack, archive["id"]) == []
    stack.deliver_s3_events()  # the late event finds nothing to bring back
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "deleted"
    assert _versions_left(stack, archive["id"]) == []


def test_an_upload_landing_after_the_delete_is_deleted_not_marked_ready(stack: Stack) -> None:
    archive = _ready_archive(stack)
    _delete(stack, archive["id"])
    # The same recording uploaded again (a retry of OpenTok's, or the upload key's holder).
    boto3.client("s3").put_object(
        Bucket=stack.bucket, Key=f"{API_KEY}/{archive['id']}/archive.mp4", Body=b"late"
    )

    stack.deliver_s3_events()

    assert _versions_left(stack, archive["id"]) == []
    answer = stack.get(f"/archive/{archive['id']}").json()
    assert (answer["status"], answer["ready"]) == ("deleted", False)
    assert stack.get(f"/archive/{archive['id']}/view").status == 410


def test_a_recording_still_being_recorded_cannot_be_deleted(stack: Stack) -> None:
    archive = stack.record()
    answer = _delete(stack, archive["id"])
    assert answer.status == 409
    assert "stop" in answer.json()["error"]
    assert stack.sdk().get_archive(archive["id"]).status == "started"


def test_a_recording_opentok_is_still_processing_cannot_be_deleted_yet(stack: Stack) -> None:
    stack.opentok.state.processing_delay = 30  # still processing for the whole test
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    answer = _delete(stack, archive["id"])
    assert answer.status == 409
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "stopped"


# Fixed ids, not uuid4(): every test process must collect the same test names.
UNKNOWN_ARCHIVE = "8c0a5be6-ebb3-4492-8a13-1ca17e79039e"


@pytest.mark.parametrize(("archive_id", "status"), [(UNKNOWN_ARCHIVE, 404), ("nope", 400)])
def test_deleting_what_is_not_an_archive_is_refused(
    stack: Stack, archive_id: str, status: int
) -> None:
    assert _delete(stack, archive_id).status == status
    assert stack.opentok.calls == []


def test_deleting_a_failed_recording_marks_it_deleted(stack: Stack) -> None:
    """OpenTok refuses to delete a failed archive (409, contract §5 [unverified for failed]):
    nothing is left there to delete, so the record is marked deleted all the same."""
    archive = stack.failed_recording()
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "stopped"  # not told yet
    answer = _delete(stack, archive["id"])
    assert answer.status == 200, answer.body
    assert answer.json()["status"] == "deleted"
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "deleted"
    assert _delete(stack, archive["id"]).json()["status"] == "deleted"


def test_deleting_a_recording_known_to_have_failed_asks_nothing_of_opentok(stack: Stack) -> None:
    archive = stack.failed_recording()
    assert stack.get(f"/archive/{archive['id']}/view", accept="application/json").status == 409
    stack.opentok.calls.clear()
    answer = _delete(stack, archive["id"])
    assert answer.status == 200
    assert answer.json()["status"] == "deleted"
    # Only its room is told (tests/stack/test_room_signals.py); the archive is not asked after.
    assert [path for _, path in stack.opentok.calls if not path.endswith("/signal")] == []


def test_deleting_an_expired_recording_marks_it_deleted(stack: Stack) -> None:
    """OpenTok's cloud copy expired (72 h, contract §6), so OpenTok has nothing to delete."""
    archive = stack.record()
    stack.opentok.state.processing_delay = 30  # stays `stopped` until expired below
    stack.post(f"/archive/{archive['id']}/stop")
    with stack.opentok.state.lock:
        stack.opentok.state.archives[archive["id"]].set_status("expired")
    answer = _delete(stack, archive["id"])
    assert answer.status == 200, answer.body
    assert answer.json()["status"] == "deleted"


def test_deleting_a_failed_recording_removes_our_copy_if_we_have_one(stack: Stack) -> None:
    archive = _ready_archive(stack)
    key = stack.stored(archive["id"])["s3Key"]["S"]
    boto3.client("dynamodb").update_item(
        TableName=stack.table,
        Key={"pk": {"S": f"archive#{archive['id']}"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "failed"}},
    )
    answer = _delete(stack, archive["id"])
    assert answer.status == 200
    listed = boto3.client("s3").list_objects_v2(Bucket=stack.bucket, Prefix=key)
    assert listed.get("KeyCount", 0) == 0
