"""The keys OpenTok writes to our bucket (functions/shared/backend/object_keys.py), read without
S3: `<apiKey>/<archiveId>/archive.mp4` for a composed archive, `archive.zip` for an individual
one (OpenTok's upload-to-S3 layout, contract §8). Anything else in the bucket, our own streams
split from a zip among it (`<apiKey>/<archiveId>/streams/<streamId>.webm`), is not a recording:
the ready function (functions/mark_ready) leaves it alone, and refuses another project's key.
"""

import pytest

from backend.object_keys import RecordingKey, parse_key

ARCHIVE_ID = "b40ef09b-3811-4726-b508-e41a0f96c68f"


@pytest.mark.parametrize("extension", ["mp4", "zip"])
def test_a_recording_s_key_gives_its_project_archive_and_kind(extension: str) -> None:
    assert parse_key(f"47000000/{ARCHIVE_ID}/archive.{extension}") == RecordingKey(
        "47000000", ARCHIVE_ID, extension
    )


def test_a_vonage_application_s_key_names_the_application() -> None:
    application = "3c1a9f2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
    assert parse_key(f"{application}/{ARCHIVE_ID}/archive.mp4") == RecordingKey(
        application, ARCHIVE_ID, "mp4"
    )


def test_another_project_s_key_says_whose_it_is() -> None:
    """The key is OpenTok's shape: whose it is, the ready function compares with its own."""
    parsed = parse_key(f"99999999/{ARCHIVE_ID}/archive.mp4")
    assert parsed is not None
    assert parsed.api_key == "99999999"


NOT_RECORDINGS = {
    "a stream split from a zip": f"47000000/{ARCHIVE_ID}/streams/{ARCHIVE_ID}.webm",
    "a parent segment before the id": f"47000000/../{ARCHIVE_ID}/archive.mp4",
    "a parent segment after the id": f"47000000/{ARCHIVE_ID}/../archive.mp4",
    "a parent segment first": f"../47000000/{ARCHIVE_ID}/archive.mp4",
    "a leading slash": f"/47000000/{ARCHIVE_ID}/archive.mp4",
    "an extra folder": f"prefix/47000000/{ARCHIVE_ID}/archive.mp4",
    "no project": f"{ARCHIVE_ID}/archive.mp4",
    "a webm": f"47000000/{ARCHIVE_ID}/archive.webm",
    "an mp4 in upper case": f"47000000/{ARCHIVE_ID}/archive.MP4",
    "a partial upload's name": f"47000000/{ARCHIVE_ID}/archive.mp4.part",
    "another file name": f"47000000/{ARCHIVE_ID}/recording.mp4",
    "an id in upper case": f"47000000/{ARCHIVE_ID.upper()}/archive.mp4",
    "an id that is no UUID": "47000000/not-an-archive-id/archive.mp4",
    "a trailing newline": f"47000000/{ARCHIVE_ID}/archive.mp4\n",
    "a project with a dot": f"47000000.x/{ARCHIVE_ID}/archive.mp4",
    "a project id of 65 characters": f"{'4' * 65}/{ARCHIVE_ID}/archive.mp4",
    "empty": "",
}


@pytest.mark.parametrize("key", NOT_RECORDINGS.values(), ids=NOT_RECORDINGS.keys())
def test_a_key_opentok_did_not_write_is_none(key: str) -> None:
    assert parse_key(key) is None
