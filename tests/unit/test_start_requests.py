"""POST /archive/start's refusals (functions/start_archive/app.py), asked of the route itself as
API Gateway hands requests over (tests/unit/routes.py), by a host with the session's moderator
token: what the host reads is the 4xx and the error text that names what to fix.

The cases are those the stack layer once deployed a stack for: tests/stack/test_archive_control.py
(refused start requests, malformed bodies) and tests/stack/test_recording_options.py (option
combinations OpenTok refuses; the rules are validation.recording_options', after OpenTok's start
archive options: a stylesheet only with layout custom, screenshareType only with bestFit,
resolution and layout only for composed recordings). Each stack file keeps one case, which
shows through the deployed route that nothing is started and nothing is kept. Here nothing
could be: no table, bucket or OpenTok URL is configured, and the socket guard allows loopback
only, so an answer that is not the refusal would be a 500.
"""

from typing import Any

import opentok
import pytest

from tests.support.functions import function_module
from tests.support.routes import Project, ask

STYLESHEET = "stream.instructor {position: absolute; width: 100%; height: 50%;}"


def _start(project: Project, session_id: str, body: Any, **sent: Any) -> tuple[int, dict]:
    return ask(
        "start_archive", "POST", "/archive/start", body, headers=project.host(session_id), **sent
    )


# From tests/stack/test_archive_control.py: "VALID" is the host's own session.
BAD_STARTS = {
    "no sessionId": ({}, "sessionId is required"),
    "a sessionId that is no session id": ({"sessionId": "not a session"}, "sessionId"),
    "a sessionId that is a number": ({"sessionId": 42}, "sessionId"),
    "an outputMode OpenTok has not": ({"sessionId": "VALID", "outputMode": "mosaic"}, "outputMode"),
    "a resolution OpenTok has not": ({"sessionId": "VALID", "resolution": "99x99"}, "resolution"),
    "a resolution for an individual recording": (
        {"sessionId": "VALID", "outputMode": "individual", "resolution": "640x480"},
        "composed",
    ),
    "neither audio nor video": (
        {"sessionId": "VALID", "hasAudio": False, "hasVideo": False},
        "audio",
    ),
    "hasAudio that is no boolean": ({"sessionId": "VALID", "hasAudio": "yes"}, "hasAudio"),
    "a name of 81 characters": ({"sessionId": "VALID", "name": "x" * 81}, "name"),
    "a JSON array": (["VALID"], "JSON object"),
}


@pytest.mark.parametrize(("body", "complaint"), BAD_STARTS.values(), ids=BAD_STARTS.keys())
def test_a_bad_start_request_is_a_400_that_names_the_field(
    project: Project, body: object, complaint: str
) -> None:
    session_id = project.session()
    if isinstance(body, dict) and body.get("sessionId") == "VALID":
        body = {**body, "sessionId": session_id}
    elif isinstance(body, list):
        body = [session_id]

    status, answer = _start(project, session_id, body)

    assert status == 400
    assert complaint in answer["error"]


# From tests/stack/test_archive_control.py, and what api.request_fields answers each.
MALFORMED = {
    "JSON that does not parse": ("application/json", b"{not json", 400, "not valid JSON"),
    "bytes that are not UTF-8, as JSON": ("application/json", b"\xff\xfe", 400, "not valid JSON"),
    "a text/plain body": ("text/plain", b"sessionId=1", 415, "application/json or form-encoded"),
    "a form field given twice": (
        "application/x-www-form-urlencoded",
        b"sessionId=a&sessionId=b",
        400,
        "sessionId is given more than once",
    ),
    "a body over 8 KiB": (
        "application/json",
        b'{"sessionId": "' + b"a" * 20000 + b'"}',
        413,
        "at most 8192 bytes",
    ),
    # API Gateway base64-encodes what is not text: a form's bytes that do not decode.
    "a form body that is not UTF-8": (
        "application/x-www-form-urlencoded",
        b"sessionId=\xff",
        400,
        "UTF-8",
    ),
}


@pytest.mark.parametrize(
    ("content_type", "raw", "status", "complaint"), MALFORMED.values(), ids=MALFORMED.keys()
)
def test_a_malformed_body_gets_a_clear_json_error(
    project: Project, content_type: str, raw: bytes, status: int, complaint: str
) -> None:
    answer_status, answer = _start(
        project, project.session(), None, raw=raw, content_type=content_type
    )
    assert answer_status == status
    assert complaint in answer["error"]


# From tests/stack/test_recording_options.py: each combination with the words its error names.
REFUSED_OPTIONS = {
    "neither audio nor video": ({"hasAudio": False, "hasVideo": False}, ["hasAudio", "hasVideo"]),
    "individual with a resolution": (
        {"outputMode": "individual", "resolution": "1280x720"},
        ["resolution", "individual"],
    ),
    "individual with a layout": (
        {"outputMode": "individual", "layout": "pip"},
        ["layout", "individual"],
    ),
    "custom without a stylesheet": ({"layout": "custom"}, ["custom", "stylesheet"]),
    "custom object without a stylesheet": (
        {"layout": {"type": "custom"}},
        ["custom", "stylesheet"],
    ),
    "pip object with a stylesheet": (
        {"layout": {"type": "pip", "stylesheet": STYLESHEET}},
        ["stylesheet", "custom"],
    ),
    "pip with a stylesheet beside it": (
        {"layout": "pip", "stylesheet": STYLESHEET},
        ["stylesheet", "custom"],
    ),
    "pip with a screenshareType": (
        {"layout": {"type": "pip", "screenshareType": "bestFit"}},
        ["screenshareType", "bestFit"],
    ),
    "a screenshareType of custom": (
        {"layout": "bestFit", "screenshareType": "custom"},
        ["screenshareType"],
    ),
    "a layout OpenTok has not": ({"layout": "mosaic"}, ["layout"]),
    "a layout field OpenTok has not": (
        {"layout": {"type": "pip", "colour": "red"}},
        ["layout", "colour"],
    ),
    "a screenshareType without a layout": (
        {"screenshareType": "pip"},
        ["screenshareType", "layout"],
    ),
    "a square resolution": ({"resolution": "1080x1080"}, ["resolution"]),
    "a streamMode OpenTok has not": ({"streamMode": "sometimes"}, ["streamMode"]),
    "a stylesheet over 4096 characters": (
        {"layout": {"type": "custom", "stylesheet": "s {}" * 1100}},
        ["stylesheet"],
    ),
}


@pytest.mark.parametrize(("options", "named"), REFUSED_OPTIONS.values(), ids=REFUSED_OPTIONS.keys())
def test_a_combination_opentok_refuses_is_a_400_naming_it(
    project: Project, options: dict[str, Any], named: list[str]
) -> None:
    session_id = project.session()

    status, answer = _start(project, session_id, {"sessionId": session_id, **options})

    assert status == 400, answer
    for word in named:
        assert word in answer["error"], (word, answer["error"])


def test_a_participant_s_token_cannot_start_even_a_bad_request(project: Project) -> None:
    """The credential is checked before the body: a participant learns nothing of it."""
    session_id = project.session()
    participant = {"authorization": f"Bearer {project.token(session_id, 'publisher')}"}

    status, answer = ask(
        "start_archive",
        "POST",
        "/archive/start",
        {"sessionId": session_id, "outputMode": "mosaic"},
        headers=participant,
    )

    assert status == 403
    assert "only hosts may start recordings" in answer["error"]


def test_a_host_of_another_session_is_refused_for_this_one(project: Project) -> None:
    mine, theirs = project.session(), project.session()

    status, answer = _start(project, mine, {"sessionId": theirs})

    assert status == 403
    assert "another session" in answer["error"]


def test_a_good_request_becomes_the_sdk_s_start_arguments(aws: None) -> None:
    """What reaches OpenTok's start (through the SDK), read from a form's flat text fields."""
    options = function_module("start_archive")._archive_options(
        {
            "sessionId": "1_MX40NzAwMDAwMH5-fg",
            "name": "Kick-off",
            "resolution": "720x1280",
            "layout": "bestFit",
            "screenshareType": "pip",
            "hasVideo": "false",
            "streamMode": "manual",
        }
    )
    assert options == {
        "session_id": "1_MX40NzAwMDAwMH5-fg",
        "name": "Kick-off",
        "output_mode": opentok.OutputModes.composed,
        "stream_mode": opentok.StreamModes.manual,
        "resolution": "720x1280",
        "has_audio": True,
        "has_video": False,
        "layout": {"type": "bestFit", "screenshareType": "pip"},
    }


def test_without_a_layout_the_sdk_is_given_none(aws: None) -> None:
    """The SDK sends a layout only when given one: OpenTok's default, best fit, then applies."""
    options = function_module("start_archive")._archive_options(
        {"sessionId": "1_MX40NzAwMDAwMH5-fg", "outputMode": "individual"}
    )
    assert "layout" not in options
    assert options["output_mode"] is opentok.OutputModes.individual
    assert (options["resolution"], options["name"]) == (None, None)
