"""Checks on what clients send, done before any call leaves the function."""

import re
from typing import Any

from backend.errors import BadRequest

_ARCHIVE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# OpenTok session ids: a digit, an underscore, then URL-safe base64 with OpenTok's `~` and `-`.
_SESSION_ID = re.compile(r"[0-9]_[A-Za-z0-9_~\-]{8,250}")
_ROOM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

OUTPUT_MODES = ("composed", "individual")
RESOLUTIONS = ("640x480", "480x640", "1280x720", "720x1280", "1920x1080", "1080x1920")
MAX_ARCHIVE_NAME = 80


def archive_id(value: Any) -> str:
    if not isinstance(value, str) or not _ARCHIVE_ID.fullmatch(value.lower()):
        raise BadRequest("archiveId must be an OpenTok archive id (a UUID)")
    return value.lower()


def session_id(value: Any) -> str:
    if value is None or value == "":
        raise BadRequest("sessionId is required")
    if not isinstance(value, str) or not _SESSION_ID.fullmatch(value):
        raise BadRequest("sessionId is not an OpenTok session id")
    return value


def room_name(value: Any) -> str:
    if not isinstance(value, str) or not _ROOM_NAME.fullmatch(value):
        raise BadRequest(
            "room name must be 1-64 letters, digits, '.', '_' or '-',"
            " beginning with a letter or digit"
        )
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
