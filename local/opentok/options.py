"""Request bodies checked with OpenTok's rules; anything wrong is a 400."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .errors import ApiError

RESOLUTIONS = frozenset({"640x480", "480x640", "1280x720", "720x1280", "1920x1080", "1080x1920"})
DEFAULT_RESOLUTION = "640x480"
# SPEC `Layout`: the layout types of a composed archive; without one, best fit.
LAYOUT_TYPES = ("bestFit", "custom", "horizontalPresentation", "pip", "verticalPresentation")
# SPEC's enum lists `custom` too, but a custom layout needs a stylesheet, which screenshareType
# forbids; RUBY's `layout` and the .NET SDK's reference accept the four others only.
SCREENSHARE_TYPES = ("bestFit", "horizontalPresentation", "pip", "verticalPresentation")
DEFAULT_LAYOUT = {"type": "bestFit"}
INVALID_LAYOUT = (
    "Invalid request. This response may indicate that data in your request data is invalid"
    " JSON. It may also indicate that you passed in invalid layout options."
)


@dataclass(frozen=True)
class SessionOptions:
    routed: bool
    archive_mode: str
    archive_name: str | None
    archive_resolution: str | None


def session_options(form: dict[str, str]) -> SessionOptions:
    """The form fields of POST /session/create (the SDK sends all of them)."""
    # Routed unless asked otherwise (contract §2, SPEC); the SDKs send "enabled" by default.
    preference = form.get("p2p.preference", "disabled")
    if preference not in ("enabled", "disabled"):
        raise ApiError(400, "p2p.preference must be 'enabled' or 'disabled'.")
    routed = preference == "disabled"
    archive_mode = form.get("archiveMode", "manual")
    if archive_mode not in ("manual", "always"):
        raise ApiError(400, "archiveMode must be 'manual' or 'always'.")
    if archive_mode == "always" and not routed:
        raise ApiError(400, "A session with always archive mode must also be routed.")
    name = form.get("archiveName")
    if name is not None and (archive_mode == "manual" or not 1 <= len(name) <= 80):
        raise ApiError(400, "archiveName needs archiveMode 'always' and 1 to 80 characters.")
    resolution = form.get("archiveResolution")
    if resolution is not None and (archive_mode == "manual" or resolution not in RESOLUTIONS):
        raise ApiError(400, "archiveResolution needs archiveMode 'always' and a valid value.")
    _check_location(form.get("location"))
    _check_e2ee(form.get("e2ee", "false"), routed)
    return SessionOptions(routed, archive_mode, name, resolution)


def _check_location(location: str | None) -> None:
    if not location:
        return
    try:
        ipaddress.IPv4Address(location)
    except ValueError as error:
        raise ApiError(400, "location must be an IPv4 address.") from error


def _check_e2ee(e2ee: str, routed: bool) -> None:
    if e2ee not in ("true", "false"):
        raise ApiError(400, "e2ee must be 'true' or 'false'.")
    if e2ee == "true" and not routed:
        raise ApiError(400, "End-to-end encryption is only supported in routed sessions.")


def archive_options(body: object) -> dict:
    """A start-archive body as keyword arguments for models.Archive."""
    if not isinstance(body, dict):
        raise ApiError(400, "Bad request. The body must be a JSON object.")
    session_id = body.get("sessionId")
    if not session_id:
        raise ApiError(400, "Bad request. sessionId is required.")
    output_mode = _choice(body, "outputMode", ("composed", "individual"))
    stream_mode = _choice(body, "streamMode", ("auto", "manual"))
    has_audio = _flag(body, "hasAudio")
    has_video = _flag(body, "hasVideo")
    if not has_audio and not has_video:
        raise ApiError(400, "Bad request. hasAudio and hasVideo cannot both be false.")
    resolution = body.get("resolution")
    if resolution is not None and output_mode == "individual":
        raise ApiError(400, "Bad request. resolution is not supported in individual output mode.")
    if resolution is not None and resolution not in RESOLUTIONS:
        raise ApiError(400, f"Bad request. Invalid resolution {resolution!r}.")
    layout = body.get("layout")
    if layout is not None and output_mode == "individual":
        # SPEC `Layout`: "This applies only to composed archives" (refused as resolution is).
        raise ApiError(400, "Bad request. layout is not supported in individual output mode.")
    if output_mode == "composed":
        layout = DEFAULT_LAYOUT if layout is None else archive_layout(layout)
    return {
        "session_id": session_id,
        "name": _optional_str(body, "name"),
        "output_mode": output_mode,
        "stream_mode": stream_mode,
        "resolution": resolution or (DEFAULT_RESOLUTION if output_mode == "composed" else None),
        "has_audio": has_audio,
        "has_video": has_video,
        "multi_archive_tag": _optional_str(body, "multiArchiveTag"),
        "max_bitrate": _max_bitrate(body.get("maxBitrate")),
        "layout": layout,
    }


def archive_layout(body: object) -> dict:
    """A composed archive's layout, at start or in PUT .../layout, checked as SPEC `Layout`
    says: a stylesheet with `custom` and only then, screenshareType with `bestFit` only."""
    if not isinstance(body, dict) or set(body) - {"type", "stylesheet", "screenshareType"}:
        raise ApiError(400, INVALID_LAYOUT)
    layout_type = body.get("type")
    stylesheet = body.get("stylesheet")
    screenshare_type = body.get("screenshareType")
    if layout_type not in LAYOUT_TYPES:
        raise ApiError(400, INVALID_LAYOUT)
    if (layout_type == "custom") != isinstance(stylesheet, str) or stylesheet == "":
        raise ApiError(400, INVALID_LAYOUT)
    if screenshare_type is not None and (
        layout_type != "bestFit" or screenshare_type not in SCREENSHARE_TYPES
    ):
        raise ApiError(400, INVALID_LAYOUT)
    return {
        name: value
        for name, value in (
            ("type", layout_type),
            ("stylesheet", stylesheet),
            ("screenshareType", screenshare_type),
        )
        if value is not None
    }


def stream_selection(body: object) -> tuple[str, str, bool, bool]:
    """PATCH .../streams: ("add" or "remove", stream id, hasAudio, hasVideo) (SPEC
    `Add-Stream-To-Archive`, `Remove-Stream-From-Archive`; RUBY and VPY send one of the two)."""
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid request. The body must be a JSON object.")
    adding, removing = body.get("addStream"), body.get("removeStream")
    if (adding is None) == (removing is None):
        raise ApiError(400, "Invalid request. Give either addStream or removeStream.")
    stream_id = adding if adding is not None else removing
    if not isinstance(stream_id, str) or not stream_id:
        raise ApiError(400, "Invalid request. The stream ID must be a string.")
    if removing is not None:
        if "hasAudio" in body or "hasVideo" in body:
            raise ApiError(400, "Invalid request. hasAudio and hasVideo go with addStream.")
        return "remove", stream_id, False, False
    has_audio, has_video = _flag(body, "hasAudio"), _flag(body, "hasVideo")
    if not has_audio and not has_video:
        raise ApiError(400, "Invalid request. hasAudio and hasVideo cannot both be false.")
    return "add", stream_id, has_audio, has_video


def stream_options(body: object) -> tuple[str, bool, bool]:
    """(name, hasAudio, hasVideo) of a stream a client publishes; all optional."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object.")
    name = body.get("name")
    if name is None:
        name = ""
    if not isinstance(name, str):
        raise ApiError(400, "name must be a string.")
    return name, _flag(body, "hasAudio"), _flag(body, "hasVideo")


def rtc_message(body: object) -> tuple[str, dict]:
    """(to, data) of a WebRTC signalling message one page sends another (offer, answer, ICE
    candidate): the emulator relays `data` as it is, so only its shape is checked here."""
    if not isinstance(body, dict):
        raise ApiError(400, "Bad request. The body must be a JSON object.")
    to, data = body.get("to"), body.get("data")
    if not isinstance(to, str) or not to:
        raise ApiError(400, "Bad request. to must be a connection ID.")
    if not isinstance(data, dict):
        raise ApiError(400, "Bad request. data must be a JSON object.")
    return to, data


def non_negative_int(value: str | None, name: str, default: int) -> int:
    """A query-string number such as offset or count."""
    if value in (None, ""):
        return default
    if not value.isdigit():
        raise ApiError(400, f"Bad request. {name} must be a non-negative integer.")
    return int(value)


def _choice(body: dict, key: str, allowed: tuple[str, ...]) -> str:
    value = body.get(key)
    if value is None:
        return allowed[0]
    if value not in allowed:
        raise ApiError(400, f"Bad request. {key} must be one of {', '.join(allowed)}.")
    return value


def _flag(body: dict, key: str) -> bool:
    value = body.get(key, True)
    if not isinstance(value, bool):
        raise ApiError(400, f"Bad request. {key} must be a boolean.")
    return value


def _optional_str(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"Bad request. {key} must be a string.")
    return value


def _max_bitrate(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 100_000 <= value <= 6_000_000:
        raise ApiError(400, "Bad request. maxBitrate must be an integer from 100000 to 6000000.")
    return value


# Contract §10: a signal's `type` is at most 128 bytes and its `data` at most 8 kB (SPEC
# `Signal`); 8 kB read as 8192 bytes of UTF-8, the boundary itself is not documented.
MAX_SIGNAL_TYPE_BYTES = 128
MAX_SIGNAL_DATA_BYTES = 8 * 1024
SIGNAL_PAYLOAD_CODE = 15202  # PHP `signal-failure-payload.json`
SIGNAL_TOO_LARGE = (
    "The type string exceeds the maximum length (128 bytes), "
    "or the data string exceeds the maximum size (8 kB)."
)


def signal_options(body: object) -> tuple[str, str]:
    """(type, data) of a signal sent through the REST API; both are required strings."""
    if not isinstance(body, dict):
        raise ApiError(400, "Bad request. The body must be a JSON object.")
    fields = []
    for name in ("type", "data"):
        value = body.get(name)
        if not isinstance(value, str):
            message = f"Signal payload '{name}' must be set"
            raise ApiError(400, message, code=SIGNAL_PAYLOAD_CODE)
        fields.append(value)
    signal_type, data = fields
    too_long = _utf8_size(signal_type) > MAX_SIGNAL_TYPE_BYTES
    if too_long or _utf8_size(data) > MAX_SIGNAL_DATA_BYTES:
        raise ApiError(413, SIGNAL_TOO_LARGE)
    return signal_type, data


def _utf8_size(text: str) -> int:
    # A lone surrogate (JSON allows "\\ud800") still has a size; it must not end in a 500.
    return len(text.encode("utf-8", "surrogatepass"))
