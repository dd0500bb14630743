"""Contract §8: what an archive upload puts in the S3 bucket, and where."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import opentok
import pytest
import requests
from moto import mock_aws

from tests.support.media import probe
from tests.support.opentok import KEY, archive_url, join, project_headers, routed_session

EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # every WebM (Matroska) file starts with it


@pytest.fixture
def bucket(emu):
    """An S3 bucket set as the project's upload target."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="recordings")
        settings = {
            "type": "s3",
            "config": {"accessKey": "AKIAEXAMPLE", "secretKey": "secret", "bucket": "recordings"},
            "fallback": "none",
        }
        answer = requests.put(
            archive_url(emu, "/storage"), json=settings, headers=project_headers()
        )
        assert answer.status_code == 200
        yield s3


def uploaded(emu, ot, archive_id: str) -> None:
    ot.stop_archive(archive_id)
    emu.wait_for(lambda: ot.get_archive(archive_id).status == "uploaded")


def test_a_composed_archive_is_one_mp4_under_the_key_and_archive_id(emu, ot, bucket):
    """§8 key: `<apiKey>/<archiveId>/archive.mp4`; composed: one MP4 (DEMO `archive.js`;
    RUBY `url`; GUIDE); §3 `size`: the file's, in bytes (SPEC)."""
    session_id = routed_session(ot)
    emu.publish(join(emu, ot, session_id))
    archive = ot.start_archive(session_id)
    uploaded(emu, ot, archive.id)

    stored = bucket.get_object(Bucket="recordings", Key=f"{KEY}/{archive.id}/archive.mp4")

    body = stored["Body"].read()
    assert probe(body).video == "h264"
    assert stored["ContentType"] == "video/mp4"
    assert ot.get_archive(archive.id).size == len(body)


def test_an_individual_archive_is_a_zip_of_webm_streams_and_a_manifest(emu, ot, bucket):
    """§8: `<apiKey>/<archiveId>/archive.zip` holding one `<streamId>.webm` per stream plus the
    manifest `<archiveId>.json` (DEMO `archive.js`; developer.vonage.com/ja archiving
    overview); manifest fields `id`, `name`, `sessionId`, `createdAt`, `files[]` of `{filename,
    size, startTimeOffset, stopTimeOffset, streamId, connectionData, videoType}` (barc
    `MANIFEST.md`, [unverified]). Entries are stored, not deflated: they are media."""
    session_id = routed_session(ot)
    alice = join(emu, ot, session_id, data="name=alice")
    bob = join(emu, ot, session_id, data="name=bob")
    streams = {emu.publish(alice, "alice"): "name=alice", emu.publish(bob, "bob"): "name=bob"}
    archive = ot.start_archive(
        session_id, name="standup", output_mode=opentok.OutputModes.individual
    )
    uploaded(emu, ot, archive.id)

    stored = bucket.get_object(Bucket="recordings", Key=f"{KEY}/{archive.id}/archive.zip")
    with zipfile.ZipFile(io.BytesIO(stored["Body"].read())) as bundle:
        entries = {info.filename: info for info in bundle.infolist()}
        manifest = json.loads(bundle.read(f"{archive.id}.json"))
        media = {name: bundle.read(name) for name in entries if name.endswith(".webm")}

    assert stored["ContentType"] == "application/zip"
    assert set(entries) == {f"{archive.id}.json", *(f"{s}.webm" for s in streams)}
    assert all(info.compress_type == zipfile.ZIP_STORED for info in entries.values())
    assert all(body.startswith(EBML_MAGIC) for body in media.values())
    assert all(probe(body).video == "vp8" for body in media.values())
    assert (manifest["id"], manifest["name"], manifest["sessionId"]) == (
        archive.id,
        "standup",
        session_id,
    )
    created_at = requests.get(archive_url(emu, f"/{archive.id}"), headers=project_headers())
    assert manifest["createdAt"] == created_at.json()["createdAt"]
    assert {f["streamId"]: f["connectionData"] for f in manifest["files"]} == streams
    for file in manifest["files"]:
        assert file["filename"] == f"{file['streamId']}.webm"
        assert file["size"] == len(media[file["filename"]])
        assert file["videoType"] == "camera"
        assert 0 <= file["startTimeOffset"] <= file["stopTimeOffset"]
