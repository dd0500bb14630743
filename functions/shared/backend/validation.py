"""Checks on what clients send, done before any call leaves the function."""

import re
from typing import Any

from backend.errors import BadRequest

_ARCHIVE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# OpenTok session ids: a digit, an underscore, then URL-safe base64 with OpenTok's `~` and `-`.
_SESSION_ID = re.compile(r"[0-9]_[A-Za-z0-9_~\-]{8,250}")
_ROOM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# A participant's invite: a room name, a dot, and 22 characters of code (backend.rooms).
_INVITE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,86}")

OUTPUT_MODES = ("composed", "individual")
STREAM_MODES = ("auto", "manual")
# Landscape then portrait: SD, HD, full HD (OpenTok's `Resolution`).
RESOLUTIONS = ("640x480", "480x640", "1280x720", "720x1280", "1920x1080", "1080x1920")
LAYOUT_TYPES = ("bestFit", "pip", "verticalPresentation", "horizontalPresentation", "custom")
# A screen share's layout in a bestFit archive; `custom` would need a stylesheet, which is
# refused alongside screenshareType (OpenTok's `Layout`).
SCREENSHARE_TYPES = ("bestFit", "pip", "verticalPresentation", "horizontalPresentation")
MAX_ARCHIVE_NAME = 80
MAX_STYLESHEET = 4096


def archive_id(value: Any) -> str:
    if not isinstance(value, str) or not _ARCHIVE_ID.fullmatch(value.lower()):
        raise BadRequest("archiveId must be an OpenTok archive id (a UUID)")
    return value.lower()


def stream_id(value: Any, field: str) -> str:
    # OpenTok stream ids are UUIDs, as archive ids are.
    if not isinstance(value, str) or not _ARCHIVE_ID.fullmatch(value.lower()):
        raise BadRequest(f"{field} must be an OpenTok stream id (a UUID)")
    return value.lower()


def session_id(value: Any) -> str:
    if value is None or value == "":
        raise BadRequest("sessionId is required")
    if not isinstance(value, str) or not _SESSION_ID.fullmatch(value):
        raise BadRequest("sessionId is not an OpenTok session id")
    return value


ROOM_NAME_RULE = (
    "room name must be 1-64 letters, digits, '.', '_' or '-', beginning with a letter or digit"
)


def room_name(value: Any) -> str:
    if not isinstance(value, str) or not _ROOM_NAME.fullmatch(value):
        raise BadRequest(ROOM_NAME_RULE)
    return value


def invite(value: Any) -> str:
    """The shape of what a participant link names: a room's invite, or what looks like one.
    Whether it opens a room is for backend.rooms to say (a 404, whatever the reason)."""
    if not isinstance(value, str) or not _INVITE.fullmatch(value):
        raise BadRequest(ROOM_NAME_RULE)
    return value


def optional_text(value: Any, field: str, max_length: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_length or not value.isprintable():
        raise BadRequest(f"{field} must be printable text of at most {max_length} characters")
    return value


def optional_choice(value: Any, field: str, choices: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    if value not in choices:
        raise BadRequest(f"{field} must be one of: {', '.join(choices)}")
    return value


def optional_bool(value: Any, field: str, default: bool) -> bool:
    # Form posts carry booleans as text; JSON carries real ones.
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadRequest(f"{field} must be true or false")


def bounded_int(value: Any, field: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value, 10) if isinstance(value, str) else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise BadRequest(f"{field} must be a whole number from {low} to {high}")
    return number


def recording_options(fields: dict[str, Any]) -> dict[str, Any]:
    """How a recording is made, as OpenTok's start takes it: outputMode, streamMode,
    resolution, hasAudio, hasVideo, layout (None where the client left it to OpenTok).

    Combinations OpenTok refuses are refused here, naming the fields, so nothing is started.
    """
    output_mode = optional_choice(fields.get("outputMode"), "outputMode", OUTPUT_MODES)
    output_mode = output_mode or "composed"
    resolution = optional_choice(fields.get("resolution"), "resolution", RESOLUTIONS)
    layout = archive_layout(fields, required=False)
    if output_mode == "individual" and resolution:
        raise BadRequest(
            "resolution applies to composed recordings only: leave it out with outputMode"
            " individual (each stream keeps its own)"
        )
    if output_mode == "individual" and layout:
        raise BadRequest(
            "layout applies to composed recordings only: leave it out with outputMode"
            " individual (streams are recorded apart)"
        )
    has_audio = optional_bool(fields.get("hasAudio"), "hasAudio", True)
    has_video = optional_bool(fields.get("hasVideo"), "hasVideo", True)
    if not (has_audio or has_video):
        raise BadRequest("hasAudio and hasVideo cannot both be false: record audio, video or both")
    return {
        "outputMode": output_mode,
        "streamMode": optional_choice(fields.get("streamMode"), "streamMode", STREAM_MODES)
        or "auto",
        "resolution": resolution,
        "hasAudio": has_audio,
        "hasVideo": has_video,
        "layout": layout,
    }


def archive_layout(fields: dict[str, Any], *, required: bool) -> dict[str, str] | None:
    """A composed recording's layout: `layout` as an object `{type, stylesheet,
    screenshareType}`, or as the type's name with `stylesheet` and `screenshareType` beside it
    (a form's fields are flat). A stylesheet goes with `custom` only, which needs one; a
    screenshareType with `bestFit` only."""
    given = fields.get("layout")
    if isinstance(given, dict):
        if "stylesheet" in fields or "screenshareType" in fields:
            raise BadRequest("give stylesheet and screenshareType inside layout, not beside it")
        unknown = sorted(set(given) - {"type", "stylesheet", "screenshareType"})
        if unknown:
            raise BadRequest(
                f"layout has no field {unknown[0][:40]!r}: only type, stylesheet and"
                " screenshareType"
            )
        layout_type, stylesheet, screenshare_type = (
            given.get("type"),
            given.get("stylesheet"),
            given.get("screenshareType"),
        )
    else:
        layout_type = given
        stylesheet, screenshare_type = fields.get("stylesheet"), fields.get("screenshareType")
    layout_type = optional_choice(layout_type, "layout type", LAYOUT_TYPES)
    stylesheet = _stylesheet(stylesheet)
    screenshare_type = optional_choice(screenshare_type, "screenshareType", SCREENSHARE_TYPES)
    if layout_type is None:
        if required:
            raise BadRequest(f"layout is required: one of {', '.join(LAYOUT_TYPES)}")
        if stylesheet or screenshare_type:
            raise BadRequest("stylesheet and screenshareType need a layout type")
        return None
    if layout_type == "custom" and not stylesheet:
        raise BadRequest("layout custom needs a stylesheet (CSS that places the streams)")
    if layout_type != "custom" and stylesheet:
        raise BadRequest(f"stylesheet goes with layout custom only, not {layout_type}")
    if screenshare_type and layout_type != "bestFit":
        raise BadRequest(f"screenshareType goes with layout bestFit only, not {layout_type}")
    layout = {"type": layout_type}
    if stylesheet:
        layout["stylesheet"] = stylesheet
    if screenshare_type:
        layout["screenshareType"] = screenshare_type
    return layout


def _stylesheet(value: Any) -> str | None:
    if value is None or value == "":
        return None
    # CSS spans lines; other control characters have no place in it.
    if (
        not isinstance(value, str)
        or len(value) > MAX_STYLESHEET
        or not all(char.isprintable() or char in "\n\r\t" for char in value)
    ):
        raise BadRequest(f"stylesheet must be CSS text of at most {MAX_STYLESHEET} characters")
    return value


def stream_selection(fields: dict[str, Any]) -> dict[str, Any]:
    """A stream to add to or remove from a recording that selects its streams by hand, in
    OpenTok's words: `{"addStream", "hasAudio", "hasVideo"}` or `{"removeStream"}`."""
    adding, removing = fields.get("addStream"), fields.get("removeStream")
    if (adding in (None, "")) == (removing in (None, "")):
        raise BadRequest("give either addStream or removeStream: the id of one stream")
    if removing not in (None, ""):
        if fields.get("hasAudio") not in (None, "") or fields.get("hasVideo") not in (None, ""):
            raise BadRequest("hasAudio and hasVideo go with addStream, not removeStream")
        return {"removeStream": stream_id(removing, "removeStream")}
    has_audio = optional_bool(fields.get("hasAudio"), "hasAudio", True)
    has_video = optional_bool(fields.get("hasVideo"), "hasVideo", True)
    if not (has_audio or has_video):
        raise BadRequest("hasAudio and hasVideo cannot both be false: add its audio, video or both")
    return {
        "addStream": stream_id(adding, "addStream"),
        "hasAudio": has_audio,
        "hasVideo": has_video,
    }
