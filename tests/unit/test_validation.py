"""What functions/shared/backend/validation.py takes and turns into OpenTok's terms, read
directly: ids, texts, a recording's options, its layout and its streams.

The facts are OpenTok's (contract and SDK): archive and stream ids are UUIDs, and OpenTok
writes them in lower case; six resolutions, landscape and portrait, SD to full HD; a form posts
booleans as text. The refusals the routes answer are in test_start_requests.py and
test_recording_changes.py; this file holds what is accepted, and what is refused before any
route is involved (the ids of tests/stack/test_archive_control.py's stop matrix among them).
"""

import pytest

from backend import validation
from backend.errors import BadRequest

ARCHIVE_ID = "b40ef09b-3811-4726-b508-e41a0f96c68f"


def test_an_archive_id_is_taken_in_any_case_and_kept_in_opentok_s_lower_case() -> None:
    assert validation.archive_id(ARCHIVE_ID.upper()) == ARCHIVE_ID


@pytest.mark.parametrize(
    "value", ["not-an-id", "1234", "../archive", "%00", f"{ARCHIVE_ID}/", f" {ARCHIVE_ID}", 42]
)
def test_what_is_no_archive_id_is_refused(value: object) -> None:
    with pytest.raises(BadRequest, match="archiveId must be an OpenTok archive id"):
        validation.archive_id(value)


def test_a_session_id_shaped_as_opentok_s_is_taken() -> None:
    session_id = "2_MX40NzAwMDAwMH5-MTcwMDAwMDAwMDAwMH5ub3RhcmVhbHNlc3Npb25-fg"
    assert validation.session_id(session_id) == session_id


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        (None, "sessionId is required"),
        ("", "sessionId is required"),
        ("1_short", "not an OpenTok session id"),
        ("x_MX40NzAwMDAwMH5-fg", "not an OpenTok session id"),
        ("1_MX40NzAw MDAwMH5-fg", "not an OpenTok session id"),
        (["1_MX40NzAwMDAwMH5-fg"], "not an OpenTok session id"),
    ],
)
def test_what_is_no_session_id_is_refused(value: object, complaint: str) -> None:
    with pytest.raises(BadRequest, match=complaint):
        validation.session_id(value)


def test_an_archive_name_is_printable_text_of_at_most_80_characters() -> None:
    assert validation.optional_text("x" * 80, "name", 80) == "x" * 80
    assert validation.optional_text("", "name", 80) is None
    for refused in ("x" * 81, "two\nlines", 7):
        with pytest.raises(BadRequest, match="name must be printable text of at most 80"):
            validation.optional_text(refused, "name", 80)


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 20), ("", 20), ("1", 1), ("100", 100), ("42", 42)]
)
def test_a_limit_from_the_query_string_is_a_whole_number_in_its_range(
    value: str | None, expected: int
) -> None:
    assert validation.bounded_int(value, "limit", 20, 1, 100) == expected


@pytest.mark.parametrize("value", ["0", "101", "-5", "ten", "1.5"])
def test_a_limit_out_of_range_or_not_a_number_is_refused(value: str) -> None:
    with pytest.raises(BadRequest, match="limit must be a whole number from 1 to 100"):
        validation.bounded_int(value, "limit", 20, 1, 100)


def test_without_choices_a_recording_is_composed_takes_every_stream_and_has_both() -> None:
    assert validation.recording_options({}) == {
        "outputMode": "composed",
        "streamMode": "auto",
        "resolution": None,
        "hasAudio": True,
        "hasVideo": True,
        "layout": None,
    }


@pytest.mark.parametrize(
    "resolution", ["640x480", "480x640", "1280x720", "720x1280", "1920x1080", "1080x1920"]
)
def test_each_of_opentok_s_resolutions_is_taken(resolution: str) -> None:
    assert validation.recording_options({"resolution": resolution})["resolution"] == resolution


@pytest.mark.parametrize(
    ("text", "expected"), [("true", True), ("false", False), ("TRUE", True), ("False", False)]
)
def test_a_form_s_booleans_are_text(text: str, expected: bool) -> None:
    assert validation.recording_options({"hasVideo": text})["hasVideo"] is expected


@pytest.mark.parametrize("value", ["yes", "1", 1, 0])
def test_a_boolean_is_true_or_false_and_nothing_else(value: object) -> None:
    with pytest.raises(BadRequest, match="hasAudio must be true or false"):
        validation.recording_options({"hasAudio": value})


def test_an_individual_recording_has_no_layout_and_no_resolution() -> None:
    chosen = validation.recording_options({"outputMode": "individual", "streamMode": "manual"})
    assert (chosen["outputMode"], chosen["streamMode"]) == ("individual", "manual")
    assert (chosen["layout"], chosen["resolution"]) == (None, None)


CSS = "stream.instructor {\n\tposition: absolute;\r\n}"


@pytest.mark.parametrize(
    ("fields", "layout"),
    [
        ({"layout": "pip"}, {"type": "pip"}),
        ({"layout": {"type": "pip"}}, {"type": "pip"}),
        ({"layout": "custom", "stylesheet": CSS}, {"type": "custom", "stylesheet": CSS}),
        ({"layout": {"type": "custom", "stylesheet": CSS}}, {"type": "custom", "stylesheet": CSS}),
        (
            {"layout": "bestFit", "screenshareType": "verticalPresentation"},
            {"type": "bestFit", "screenshareType": "verticalPresentation"},
        ),
        (
            {"layout": "horizontalPresentation", "stylesheet": ""},
            {"type": "horizontalPresentation"},
        ),
    ],
    ids=["name", "object", "flat custom", "custom object", "bestFit screen share", "empty field"],
)
def test_a_layout_as_an_object_or_as_a_form_s_flat_fields_is_the_same(
    fields: dict, layout: dict
) -> None:
    assert validation.archive_layout(fields, required=True) == layout


def test_a_layout_object_keeps_its_stylesheet_inside_it() -> None:
    with pytest.raises(BadRequest, match="inside layout, not beside it"):
        validation.archive_layout({"layout": {"type": "custom"}, "stylesheet": CSS}, required=False)


def test_a_stylesheet_holds_no_control_character_but_line_breaks_and_tabs() -> None:
    with pytest.raises(BadRequest, match="stylesheet must be CSS text"):
        validation.archive_layout({"layout": "custom", "stylesheet": "a {}\x00"}, required=False)


def test_a_stylesheet_of_4096_characters_is_taken() -> None:
    stylesheet = "s {}" * 1024
    assert validation.archive_layout({"layout": "custom", "stylesheet": stylesheet}, required=True)


def test_a_layout_is_optional_at_start_and_required_for_a_change() -> None:
    assert validation.archive_layout({}, required=False) is None
    with pytest.raises(BadRequest, match="layout is required"):
        validation.archive_layout({}, required=True)


def test_a_stream_is_added_with_audio_and_video_unless_told_otherwise() -> None:
    stream = "8D0B6F6E-6B1C-4A8B-9B0C-1C2D3E4F5A6B"
    assert validation.stream_selection({"addStream": stream}) == {
        "addStream": stream.lower(),
        "hasAudio": True,
        "hasVideo": True,
    }
    assert validation.stream_selection({"addStream": stream, "hasAudio": "false"})["hasAudio"] is (
        False
    )


def test_a_stream_is_removed_by_its_id_alone() -> None:
    stream = "8d0b6f6e-6b1c-4a8b-9b0c-1c2d3e4f5a6b"
    assert validation.stream_selection({"removeStream": stream, "hasVideo": ""}) == {
        "removeStream": stream
    }


def test_adding_and_removing_at_once_is_refused() -> None:
    stream = "8d0b6f6e-6b1c-4a8b-9b0c-1c2d3e4f5a6b"
    with pytest.raises(BadRequest, match="either addStream or removeStream"):
        validation.stream_selection({"addStream": stream, "removeStream": stream})
