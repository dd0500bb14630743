"""Every file in events/ (what `sam local invoke -e` sends) does what its name says."""

from pathlib import Path

import pytest

from tests.support.events import EXPECTED_STATUS, NOTHING_TO_RECONCILE, function_for
from tests.support.stack import EVENTS, Stack, load_event


def test_every_event_file_has_an_expectation() -> None:
    names = {path.stem for path in EVENTS.glob("*.json")}
    http_events = {name for name in names if not name.startswith(("s3_", "scheduled_", "sqs_"))}
    assert http_events == set(EXPECTED_STATUS)


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_http_event_gets_its_answer(stack: Stack, name: str) -> None:
    archive = stack.record()
    event = stack.event_for(name, archive)
    if name.startswith("start_archive_"):
        stack.post(f"/archive/{archive['id']}/stop")  # a new recording may start now
    answer = stack.invoke(function_for(name), event)
    assert answer["statusCode"] == EXPECTED_STATUS[name], answer["body"]
    if answer["statusCode"] != 302:
        assert answer["headers"]["Content-Type"] == "application/json"


@pytest.mark.parametrize("name", sorted(path.stem for path in Path(EVENTS).glob("s3_*.json")))
def test_s3_event_marks_only_recordings_ready(stack: Stack, name: str) -> None:
    individual = name == "s3_individual_recordings_uploaded"
    archive = stack.record(**({"outputMode": "individual"} if individual else {}))
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"])
    event = load_event(name, archive_id=archive["id"], bucket=stack.bucket)
    stack.invoke("MarkReadyFunction", event)
    if individual:  # ready once its zip is split into streams, which the event asks for
        assert stack.get(f"/archive/{archive['id']}").json()["ready"] is False
        assert stack.deliver_stream_requests() == 1
    ready = stack.get(f"/archive/{archive['id']}").json()["ready"]
    assert ready is (name != "s3_unrelated_object")


def test_the_scheduled_event_runs_the_reconciler(stack: Stack) -> None:
    answer = stack.invoke(function_for("scheduled_reconcile"), load_event("scheduled_reconcile"))
    assert answer == NOTHING_TO_RECONCILE


def test_the_copy_request_event_runs_the_copy_function(stack: Stack) -> None:
    # A recording under way: OpenTok holds nothing to copy, and the message is done with.
    archive = stack.record()
    event = load_event("sqs_copy_recording", archive_id=archive["id"])
    assert stack.invoke(function_for("sqs_copy_recording"), event) == {"batchItemFailures": []}


def test_the_split_request_event_runs_the_split_function(stack: Stack) -> None:
    # A recording under way has no zip to split, and the message is done with.
    archive = stack.record()
    event = load_event("sqs_extract_streams", archive_id=archive["id"])
    assert stack.invoke(function_for("sqs_extract_streams"), event) == {"batchItemFailures": []}
