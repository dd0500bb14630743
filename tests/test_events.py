"""Every file in events/ (what `sam local invoke -e` sends) does what its name says."""

from pathlib import Path

import pytest

from tests.conftest import EVENTS, Stack, load_event

EVENT_FUNCTIONS = {
    "session": "SessionFunction",
    "room": "RoomFunction",
    "start_archive": "StartArchiveFunction",
    "stop_archive": "StopArchiveFunction",
    "set_archive_layout": "SetArchiveLayoutFunction",
    "select_archive_streams": "SelectArchiveStreamsFunction",
    "get_archive": "GetArchiveFunction",
    "list_archives": "ListArchivesFunction",
    "view_archive": "ViewArchiveFunction",
    "archive_callback": "ArchiveCallbackFunction",
    "delete_archive": "DeleteArchiveFunction",
    "s3_": "MarkReadyFunction",
    "scheduled_": "ReconcileArchivesFunction",
    "sqs_extract_streams": "ExtractStreamsFunction",
    "sqs_": "CopyRecordingFunction",
}
# What each scenario answers once its ids are those of a real room and recording.
EXPECTED_STATUS = {
    "session": 200,
    "room": 200,
    "room_bad_name": 400,
    "start_archive_json": 200,
    "start_archive_form": 200,
    "start_archive_no_session": 400,
    "stop_archive": 200,
    "stop_archive_bad_id": 400,
    "set_archive_layout": 200,
    "set_archive_layout_custom_without_stylesheet": 400,
    "select_archive_streams_of_auto_recording": 409,  # it takes in every stream by itself
    "get_archive": 200,
    "list_archives": 200,
    "list_archives_of_session": 200,
    "view_archive": 302,
    "view_archive_json": 202,
    "archive_callback": 200,
    "delete_archive": 409,  # still recording
}


def _function_for(event_name: str) -> str:
    return next(
        function for prefix, function in EVENT_FUNCTIONS.items() if event_name.startswith(prefix)
    )


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
    answer = stack.invoke(_function_for(name), event)
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
    answer = stack.invoke(_function_for("scheduled_reconcile"), load_event("scheduled_reconcile"))
    assert answer == {
        "checked": 0,
        "repaired": 0,
        "copying": 0,
        "splitting": 0,
        "stuck": 0,
        "atRisk": 0,
    }


def test_the_copy_request_event_runs_the_copy_function(stack: Stack) -> None:
    # A recording under way: OpenTok holds nothing to copy, and the message is done with.
    archive = stack.record()
    event = load_event("sqs_copy_recording", archive_id=archive["id"])
    assert stack.invoke(_function_for("sqs_copy_recording"), event) == {"batchItemFailures": []}


def test_the_split_request_event_runs_the_split_function(stack: Stack) -> None:
    # A recording under way has no zip to split, and the message is done with.
    archive = stack.record()
    event = load_event("sqs_extract_streams", archive_id=archive["id"])
    assert stack.invoke(_function_for("sqs_extract_streams"), event) == {"batchItemFailures": []}
