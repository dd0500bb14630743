"""The reconciler: no recording is lost when an S3 event or a callback never arrives."""

import json
import time

import boto3
import pytest
import requests

from tests.support.stack import API_KEY, Stack, load_event

RIGHT_AWAY = pytest.mark.parametrize(
    "stack_parameters", [{"StuckAfterMinutes": "0"}], indirect=True
)


def _reconcile(stack: Stack) -> dict:
    return stack.invoke("ReconcileArchivesFunction", load_event("scheduled_reconcile"))


def _lose_s3_events(stack: Stack) -> None:
    boto3.client("sqs").purge_queue(QueueUrl=stack.queues["MarkReadyFunction"])


@RIGHT_AWAY
def test_a_recording_whose_bucket_event_was_lost_is_marked_ready(stack: Stack) -> None:
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"])
    _lose_s3_events(stack)
    assert _reconcile(stack) == {
        "checked": 1,
        "repaired": 1,
        "copying": 0,
        "splitting": 0,
        "stuck": 0,
        "atRisk": 0,
    }
    shown = stack.get(f"/archive/{archive['id']}").json()
    assert shown["ready"] is True
    assert shown["size"] > 0
    assert _reconcile(stack)["checked"] == 0  # nothing left to do


@RIGHT_AWAY
def test_a_recording_kept_by_opentok_whose_callback_was_lost_becomes_viewable(
    stack: Stack,
) -> None:
    requests.delete(
        f"{stack.opentok.url}/v2/project/{API_KEY}/archive/storage",
        headers=stack.sdk().get_json_headers(),
        timeout=5,
    ).raise_for_status()
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    stack.opentok.wait_for(lambda: stack.sdk().get_archive(archive["id"]).status == "available")
    summary = _reconcile(stack)
    assert (summary["repaired"], summary["copying"]) == (0, 1)  # not done: only in OpenTok
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "available"
    assert stack.get(f"/archive/{archive['id']}/view").status == 302


@RIGHT_AWAY
def test_a_recording_that_never_arrives_is_reported_stuck(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.opentok.state.processing_delay = 60
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    capsys.readouterr()
    assert _reconcile(stack) == {
        "checked": 1,
        "repaired": 0,
        "copying": 0,
        "splitting": 0,
        "stuck": 1,
        "atRisk": 0,
    }
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert any(line.get("ArchivesStuck") == [1.0] for line in emitted)


def test_recordings_stopped_moments_ago_are_left_to_their_events(stack: Stack) -> None:
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    calls = len(stack.opentok.calls)
    assert _reconcile(stack) == {
        "checked": 0,
        "repaired": 0,
        "copying": 0,
        "splitting": 0,
        "stuck": 0,
        "atRisk": 0,
    }
    assert len(stack.opentok.calls) == calls


def test_only_archives_neither_ready_nor_ended_are_in_the_reconcilers_index(stack: Stack) -> None:
    archive = stack.record()
    assert "unfinished" in stack.stored(archive["id"])
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"])
    stack.deliver_s3_events()
    assert "unfinished" not in stack.stored(archive["id"])
    # OpenTok's late callback (uploaded) moves nothing back.
    assert stack.post("/archive/callback", {"id": archive["id"]}).json()["ready"] is True
    assert "unfinished" not in stack.stored(archive["id"])


def test_make_deploy_lists_the_unfinished_archives_written_before_the_index(
    stack: Stack,
) -> None:
    from deploy.list_unfinished import list_unfinished

    ready = stack.record("ready")
    stack.post(f"/archive/{ready['id']}/stop")
    stack.wait_until_uploaded(ready["id"])
    stack.deliver_s3_events()
    older = stack.record("older")
    boto3.client("dynamodb").update_item(
        TableName=stack.table,
        Key={"pk": {"S": f"archive#{older['id']}"}},
        UpdateExpression="REMOVE unfinished",  # as an archive stored before the index was
    )
    now = int(time.time() * 1000)
    assert list_unfinished(stack.table, now) == 1
    assert "unfinished" in stack.stored(older["id"])
    assert "unfinished" not in stack.stored(ready["id"])
    assert list_unfinished(stack.table, now) == 0
