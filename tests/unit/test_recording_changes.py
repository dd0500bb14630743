"""PUT /archive/{archiveId}/layout and POST /archive/{archiveId}/streams refusing a change before
anything is read or asked (functions/set_archive_layout/app.py, select_archive_streams/app.py,
through moderator_tokens.authorize_recording_change): the credential, the archive id, then the
change itself (validation.archive_layout with a layout required, validation.stream_selection,
after OpenTok's PUT .../layout and PATCH .../streams bodies).

The refused layouts and stream changes are those tests/stack/test_recording_options.py once
deployed a stack for; it keeps one of each, which shows that the recording does not change.
Here the routes are asked in this process as API Gateway asks them (tests/unit/routes.py), for
an archive no table holds: a refusal is all they can answer short of a 500.
"""

from typing import Any

import pytest

from tests.support.routes import ARCHIVE_ID, STREAM_ID, Project, ask


def _change(
    project: Project, route: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict]:
    folder, method = {
        "layout": ("set_archive_layout", "PUT"),
        "streams": ("select_archive_streams", "POST"),
    }[route]
    if headers is None:
        headers = project.host(project.session())
    return ask(folder, method, f"/archive/{ARCHIVE_ID}/{route}", body, headers=headers)


REFUSED_LAYOUTS = {
    "no layout": ({}, ["layout"]),
    "custom without a stylesheet": ({"layout": "custom"}, ["stylesheet"]),
    "pip with a screenshareType": (
        {"layout": "pip", "screenshareType": "pip"},
        ["screenshareType", "bestFit"],
    ),
    "a layout OpenTok has not": ({"layout": "mosaic"}, ["layout"]),
}


@pytest.mark.parametrize(("body", "named"), REFUSED_LAYOUTS.values(), ids=REFUSED_LAYOUTS.keys())
def test_a_layout_opentok_refuses_is_a_400_naming_it(
    project: Project, body: dict[str, Any], named: list[str]
) -> None:
    status, answer = _change(project, "layout", body)
    assert status == 400
    assert all(word in answer["error"] for word in named), answer


REFUSED_STREAM_CHANGES = {
    "neither addStream nor removeStream": ({}, ["addStream", "removeStream"]),
    "a stream id that is no UUID": ({"addStream": "not-a-stream"}, ["addStream"]),
    "a stream added with neither audio nor video": (
        {"addStream": STREAM_ID, "hasAudio": False, "hasVideo": False},
        ["hasAudio"],
    ),
    "a stream removed with hasAudio": (
        {"removeStream": STREAM_ID, "hasAudio": True},
        ["removeStream"],
    ),
}


@pytest.mark.parametrize(
    ("body", "named"), REFUSED_STREAM_CHANGES.values(), ids=REFUSED_STREAM_CHANGES.keys()
)
def test_a_stream_change_opentok_refuses_is_a_400_naming_it(
    project: Project, body: dict[str, Any], named: list[str]
) -> None:
    status, answer = _change(project, "streams", body)
    assert status == 400
    assert all(word in answer["error"] for word in named), answer


@pytest.mark.parametrize("route", ["layout", "streams"])
def test_no_credential_is_a_401_and_a_participant_s_token_a_403(
    project: Project, route: str
) -> None:
    """As tests/stack/test_recording_options.py's host-only test, before any archive is read."""
    body = {"layout": "pip"} if route == "layout" else {"addStream": STREAM_ID}
    participant = {"authorization": f"Bearer {project.token(project.session(), 'publisher')}"}

    assert _change(project, route, body, headers={})[0] == 401
    status, answer = _change(project, route, body, headers=participant)
    assert status == 403
    assert "this token is a participant's" in answer["error"]


@pytest.mark.parametrize(
    ("folder", "method", "route"),
    [
        ("set_archive_layout", "PUT", "layout"),
        ("select_archive_streams", "POST", "streams"),
        ("stop_archive", "POST", "stop"),
    ],
)
def test_a_path_that_names_no_archive_id_is_a_400(
    project: Project, folder: str, method: str, route: str
) -> None:
    """The id is checked before the body is read, and before anything is looked up."""
    status, answer = ask(
        folder, method, f"/archive/not-an-id/{route}", headers=project.host(project.session())
    )
    assert status == 400
    assert "archiveId must be an OpenTok archive id" in answer["error"]
