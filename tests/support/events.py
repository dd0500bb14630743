"""What each file in events/ (what `sam local invoke -e` sends) is for, and what it answers."""

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
    "session": 404,  # in `host` control a room opens by its invite only (backend.rooms)
    "room": 200,  # the host's, who makes the room
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


def function_for(event_name: str) -> str:
    return next(
        function for prefix, function in EVENT_FUNCTIONS.items() if event_name.startswith(prefix)
    )


# The reconciler's answer where nothing has waited long enough to be overdue.
NOTHING_TO_RECONCILE = {
    "checked": 0,
    "repaired": 0,
    "copying": 0,
    "splitting": 0,
    "stuck": 0,
    "atRisk": 0,
}
