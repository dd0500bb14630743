"""An individual archive's zip read into streams (functions/extract_streams): the manifest's
`files[]` fields come from an unconfirmed source (contract §8, [unverified]), and the demo apps
take each stream's id from its file's name (`<streamId>.webm`). Either is enough. A zip that
holds more than OpenTok records (contract §6: 50 streams), or would expand to far more than
itself, is refused before anything is copied."""

import io
import json
import os
import uuid
import zipfile

import boto3
import pytest

from local.aws.template import Template
from tests.support.functions import function_module

ARCHIVE_ID = "b40ef09b-3811-4726-b508-e41a0f96c68f"
ALICE, BOB = "8d0b6f6e-6b1c-4a8b-9b0c-1c2d3e4f5a6b", "2f1e0d9c-8b7a-4c5d-9e0f-a1b2c3d4e5f6"
KEY = f"12345/{ARCHIVE_ID}/archive.zip"
DEFLATED = zipfile.ZIP_DEFLATED


def _zip(
    files: list[dict] | None, media: dict[str, bytes], method: int = zipfile.ZIP_STORED
) -> bytes:
    manifest = {"id": ARCHIVE_ID, "name": "", "sessionId": "1_MX4", "createdAt": 0}
    if files is not None:
        manifest["files"] = files
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, body in media.items():
            bundle.writestr(name, body, compress_type=method)
        bundle.writestr(f"{ARCHIVE_ID}.json", json.dumps(manifest))
    return buffer.getvalue()


def _streams(body: bytes) -> list[dict]:
    bucket = "archives"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    # Reads name the zip's version, as in the template's versioned bucket.
    versioning = Template().resources["ArchiveBucket"]["Properties"]["VersioningConfiguration"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=versioning)
    s3.put_object(Bucket=bucket, Key=KEY, Body=body)
    app = function_module("extract_streams")
    found = app.archive_zip.open_zip(bucket, KEY)
    return [stream for stream, _ in app._streams(found, ARCHIVE_ID, f"12345/{ARCHIVE_ID}")]


MEDIA = {f"{ALICE}.webm": b"alice" * 10, f"{BOB}.mkv": b"bob" * 10}
LAYOUTS = {
    "filename and streamId": [
        {"filename": f"{ALICE}.webm", "streamId": ALICE, "startTimeOffset": 0},
        {"filename": f"{BOB}.mkv", "streamId": BOB, "startTimeOffset": 500},
    ],
    "filename only": [
        {"filename": f"{ALICE}.webm", "startTimeOffset": 0},
        {"filename": f"{BOB}.mkv", "startTimeOffset": 500},
    ],
    "streamId only": [
        {"streamId": ALICE, "startTimeOffset": 0},
        {"streamId": BOB, "startTimeOffset": 500},
    ],
    "no files listed": None,
}


@pytest.mark.parametrize("files", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_each_stream_is_found_by_its_id_or_its_file_name(aws: None, files: list | None) -> None:
    streams = _streams(_zip(files, MEDIA))
    found = {stream["streamId"]: stream["key"] for stream in streams}
    assert found == {
        ALICE: f"12345/{ARCHIVE_ID}/streams/{ALICE}.webm",
        BOB: f"12345/{ARCHIVE_ID}/streams/{BOB}.mkv",
    }
    assert {stream["streamId"]: stream["size"] for stream in streams} == {ALICE: 50, BOB: 30}


REFUSED = {
    "a stream with no media file": ([{"streamId": "not-in-the-zip"}], "no media file"),
    "neither field": ([{"size": 3}], "without a valid id"),
    "a name that is no stream id": ([{"filename": "-x-.webm"}], "without a valid id"),
    "the same stream twice": (
        [{"streamId": ALICE}, {"filename": f"{ALICE}.webm"}],
        f"names stream {ALICE} twice",
    ),
    "files that are not a list": ({"filename": "a.webm"}, "lists no files"),
}


@pytest.mark.parametrize(("files", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_a_manifest_that_names_no_stream_of_the_zip_is_refused_with_the_reason(
    aws: None, files: object, reason: str
) -> None:
    app = function_module("extract_streams")
    with pytest.raises(app.archive_zip.Unreadable, match=reason):
        _streams(_zip(files, MEDIA))  # type: ignore[arg-type]


def _media_of(count: int) -> dict[str, bytes]:
    return {f"{uuid.uuid4()}.webm": b"webm" for _ in range(count)}


def test_a_zip_of_as_many_streams_as_opentok_records_is_read(aws: None) -> None:
    assert len(_streams(_zip(None, _media_of(50)))) == 50


def test_a_zip_of_more_streams_than_opentok_records_is_refused(aws: None) -> None:
    app = function_module("extract_streams")
    with pytest.raises(app.archive_zip.Unreadable, match="51 streams; OpenTok records at most 50"):
        _streams(_zip(None, _media_of(51)))


def test_a_zip_whose_streams_inflate_to_many_times_its_size_is_refused(aws: None) -> None:
    """A zip bomb: 40 streams of 4 MiB of zeros, deflated, are 160 MiB from a zip of 160 KB."""
    body = _zip(None, {f"{uuid.uuid4()}.webm": bytes(4 << 20) for _ in range(40)}, DEFLATED)
    assert len(body) < 200_000
    app = function_module("extract_streams")
    with pytest.raises(app.archive_zip.Unreadable, match=r"more than 4 times the zip itself"):
        _streams(body)


def test_deflated_streams_of_media_are_not_taken_for_a_bomb(aws: None) -> None:
    """Video and audio are compressed already: deflated, they stay about their size."""
    media = {f"{ALICE}.webm": os.urandom(200_000), f"{BOB}.webm": os.urandom(1000)}
    assert len(_streams(_zip(None, media, DEFLATED))) == 2


@pytest.mark.parametrize("offset", [float("inf"), 1e300, 12 * 3600 * 1000 + 1, -1])
def test_an_offset_no_recording_reaches_is_no_time(aws: None, offset: float) -> None:
    """OpenTok stops a recording after 12 hours (contract §6): an offset past that is unknown,
    and never a number DynamoDB would refuse."""
    files = [{"filename": f"{ALICE}.webm", "startTimeOffset": offset, "stopTimeOffset": offset}]
    (stream,) = _streams(_zip(files, {f"{ALICE}.webm": b"alice"}))
    assert (stream["startTimeOffset"], stream["stopTimeOffset"]) == (None, None)
