"""Individual-stream archives become watchable: their zip is split into an object per stream.

Contract §8: OpenTok uploads an individual archive as `<apiKey>/<archiveId>/archive.zip`, a
`<streamId>.webm` per stream (stored) and the manifest `<archiveId>.json`, whose `files[]`
say who and when (DEMO `archive.js`; barc `MANIFEST.md`, [unverified]). The emulator makes
such zips; a test that needs another zip (damaged, deflated, large) uploads it under the same
key, as OpenTok's upload would.
"""

import io
import json
import os
import zipfile
from typing import Any

import boto3
import pytest
import requests

from tests.support.opentok import EventReader
from tests.support.stack import API_KEY, SITE_URL, Stack, load_event

MIB = 1024 * 1024
RIGHT_AWAY = pytest.mark.parametrize(
    "stack_parameters", [{"StuckAfterMinutes": "0"}], indirect=True
)


def _recorded(stack: Stack, room: str = "panel") -> dict[str, Any]:
    """Two people publish, the host records each stream, and OpenTok uploads the zip.

    The guest joins with a token carrying connection data, as another app server's might.
    """
    session = stack.join(room)
    token = stack.sdk().generate_token(session["sessionId"], data="name=Bob")
    stack.publish(stack.opentok.connect(session["sessionId"], token), "bob")
    started = stack.post(
        "/archive/start", {"sessionId": session["sessionId"], "outputMode": "individual"}
    )
    assert started.status == 200, started.body
    archive = started.json()
    assert stack.post(f"/archive/{archive['id']}/stop").status == 200
    stack.wait_until_uploaded(archive["id"])
    return archive


def _zip_key(archive: dict[str, Any]) -> str:
    return f"{API_KEY}/{archive['id']}/archive.zip"


def _zip(stack: Stack, archive: dict[str, Any]) -> zipfile.ZipFile:
    body = boto3.client("s3").get_object(Bucket=stack.bucket, Key=_zip_key(archive))["Body"]
    return zipfile.ZipFile(io.BytesIO(body.read()))


def _object(stack: Stack, key: str) -> bytes:
    return boto3.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read()


def _versions(stack: Stack, archive: dict[str, Any]) -> list[str]:
    answer = boto3.client("s3").list_object_versions(
        Bucket=stack.bucket, Prefix=f"{API_KEY}/{archive['id']}/streams/"
    )
    return sorted(version["Key"] for version in answer.get("Versions", []))


def _shown(stack: Stack, archive: dict[str, Any]) -> dict[str, Any]:
    answer = stack.get(f"/archive/{archive['id']}")
    assert answer.status == 200, answer.body
    return answer.json()


def _upload(stack: Stack, archive: dict[str, Any], body: bytes) -> None:
    """Puts a zip of our making where OpenTok uploads the archive's, as its upload would."""
    boto3.client("s3").put_object(
        Bucket=stack.bucket, Key=_zip_key(archive), Body=body, ContentType="application/zip"
    )


def _split(stack: Stack) -> None:
    assert stack.deliver_s3_events() >= 1
    assert stack.deliver_stream_requests() >= 1


def _zip_of(archive: dict[str, Any], streams: dict[str, tuple[bytes, int]], **fields: Any) -> bytes:
    """A zip as OpenTok makes them, of the given stream bodies and compression methods; the
    `fields` replace those of each stream's file in the manifest."""
    files = [
        {
            "filename": f"{stream_id}.webm",
            "size": len(body),
            "startTimeOffset": 1000 * number,
            "stopTimeOffset": 60_000,
            "streamId": stream_id,
            "connectionData": f"name=person {number}",
            "videoType": "camera",
            **fields,
        }
        for number, (stream_id, (body, _)) in enumerate(streams.items())
    ]
    manifest = {"id": archive["id"], "name": "", "sessionId": archive["sessionId"], "files": files}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for stream_id, (body, method) in streams.items():
            bundle.writestr(f"{stream_id}.webm", body, compress_type=method)
        bundle.writestr(f"{archive['id']}.json", json.dumps(manifest))
    return buffer.getvalue()


def test_an_individual_archive_is_ready_once_each_stream_is_an_object_of_its_own(
    stack: Stack,
) -> None:
    archive = _recorded(stack)
    assert stack.deliver_s3_events() >= 1
    waiting = _shown(stack, archive)
    assert (waiting["status"], waiting["ready"], waiting["streams"]) == ("uploaded", False, None)

    assert stack.deliver_stream_requests() == 1

    shown = _shown(stack, archive)
    assert shown["ready"] is True
    assert "response-content-disposition=attachment" in shown["url"]  # the zip, to download
    with _zip(stack, archive) as bundle:
        manifest = json.loads(bundle.read(f"{archive['id']}.json"))
        entries = {name: bundle.read(name) for name in bundle.namelist()}
    listed = {file["streamId"]: file for file in manifest["files"]}
    assert len(listed) == 2
    assert {stream["streamId"] for stream in shown["streams"]} == set(listed)
    for stream in shown["streams"]:
        file = listed[stream["streamId"]]
        body = _object(stack, f"{API_KEY}/{archive['id']}/streams/{stream['streamId']}.webm")
        assert body == entries[file["filename"]]
        assert stream["size"] == len(body)
        played = requests.get(stream["url"], timeout=5)
        assert played.status_code == 200
        assert played.content == body
        assert played.headers["content-type"] == "video/webm"
    downloaded = requests.get(shown["url"], timeout=5)
    assert downloaded.content == _object(stack, _zip_key(archive))


def test_each_stream_says_who_and_when_as_the_manifest_does_unverified(stack: Stack) -> None:
    """The manifest's `connectionData`, `startTimeOffset` and `stopTimeOffset` (ms) are
    contract §8's [unverified] field names (barc `MANIFEST.md`, repository not confirmed)."""
    archive = _recorded(stack)
    _split(stack)
    with _zip(stack, archive) as bundle:
        manifest = json.loads(bundle.read(f"{archive['id']}.json"))
    listed = {file["streamId"]: file for file in manifest["files"]}
    for stream in _shown(stack, archive)["streams"]:
        file = listed[stream["streamId"]]
        assert stream["connectionData"] == file["connectionData"]
        assert stream["startTimeOffset"] == file["startTimeOffset"]
        assert stream["stopTimeOffset"] == file["stopTimeOffset"]
    who = sorted(stream["connectionData"] for stream in _shown(stack, archive)["streams"])
    assert who == ["", "name=Bob"]  # the host's token carries no data, the guest's does


def test_the_room_hears_the_recording_is_ready_once_its_streams_are(stack: Stack) -> None:
    """As for any recording (tests/stack/test_room_signals.py): an OpenTok signal to the session."""
    archive = _recorded(stack)
    connection_id = next(iter(stack.opentok.state.sessions[archive["sessionId"]].connections))
    reader = EventReader(stack.opentok, connection_id)
    try:
        assert stack.deliver_s3_events() >= 1
        with pytest.raises(TimeoutError):  # the zip alone is not watchable
            reader.next("signal", timeout=0.3)
        assert stack.deliver_stream_requests() == 1
        signal = reader.next("signal", timeout=5)
    finally:
        reader.close()
    assert json.loads(signal["data"]) == {"archiveId": archive["id"], "state": "ready"}


def test_the_record_keeps_each_streams_key_who_and_when(stack: Stack) -> None:
    archive = _recorded(stack)
    _split(stack)
    item = stack.stored(archive["id"])
    streams = item["streams"]["L"]
    assert len(streams) == 2
    for stream in streams:
        fields = stream["M"]
        stream_id = fields["streamId"]["S"]
        assert fields["key"]["S"] == f"{API_KEY}/{archive['id']}/streams/{stream_id}.webm"
        assert {"connectionData", "startTimeOffset", "stopTimeOffset", "size"} <= set(fields)
    assert "unfinished" not in item  # the reconciler has nothing left to do for it


def test_a_duplicate_bucket_event_splits_the_zip_once(stack: Stack) -> None:
    archive = _recorded(stack)
    _split(stack)
    before = stack.stored(archive["id"])
    event = load_event(
        "s3_individual_recordings_uploaded", archive_id=archive["id"], bucket=stack.bucket
    )
    stack.invoke("MarkReadyFunction", event)
    stack.deliver_stream_requests()
    assert stack.stored(archive["id"]) == before
    assert len(_versions(stack, archive)) == 2  # each stream written once, not again


def test_events_delivered_twice_at_once_split_the_zip_once(stack: Stack) -> None:
    archive = _recorded(stack)
    stack.opentok.faults.duplicate_s3_notifications()
    assert stack.deliver_s3_events() >= 2
    stack.deliver_stream_requests()
    assert _shown(stack, archive)["ready"] is True
    assert len(_versions(stack, archive)) == 2


def test_a_damaged_zip_is_recorded_with_the_reason_and_kept(stack: Stack) -> None:
    archive = _recorded(stack)
    damaged = os.urandom(4096)
    _upload(stack, archive, damaged)
    _split(stack)
    shown = _shown(stack, archive)
    assert shown["ready"] is False
    assert shown["streams"] is None
    assert shown["streamsFailure"] == "the upload is not a zip file, or it was cut short"
    # Never lost: the zip stays, and its link is offered.
    assert _object(stack, _zip_key(archive)) == damaged
    assert requests.get(shown["url"], timeout=5).content == damaged
    view = stack.get(f"/archive/{archive['id']}/view", accept="application/json")
    assert view.status == 409
    assert "not a zip file" in view.json()["error"]
    browser = stack.get(f"/archive/{archive['id']}/view", accept="text/html")
    assert browser.headers["location"] == f"{SITE_URL}/view.html?archiveId={archive['id']}"


def test_a_zip_uploaded_again_after_a_damaged_one_is_split(stack: Stack) -> None:
    archive = _recorded(stack)
    whole = _object(stack, _zip_key(archive))
    _upload(stack, archive, os.urandom(4096))
    _split(stack)
    assert _shown(stack, archive)["streamsFailure"]
    _upload(stack, archive, whole)
    _split(stack)
    shown = _shown(stack, archive)
    assert (shown["ready"], shown["streamsFailure"], len(shown["streams"])) == (True, None, 2)


def test_a_zip_without_its_manifest_is_recorded_with_the_reason(stack: Stack) -> None:
    archive = _recorded(stack)
    buffer = io.BytesIO()
    with _zip(stack, archive) as bundle, zipfile.ZipFile(buffer, "w") as rewritten:
        for name in bundle.namelist():
            if name.endswith(".webm"):
                rewritten.writestr(name, bundle.read(name))
    _upload(stack, archive, buffer.getvalue())
    _split(stack)
    shown = _shown(stack, archive)
    assert shown["streamsFailure"] == f"the zip has no manifest ({archive['id']}.json)"
    assert _versions(stack, archive) == []


def _pointing_past_its_end(archive: dict[str, Any]) -> bytes:
    body = _zip_of(archive, {"only": (b"webm" * 100, zipfile.ZIP_STORED)})
    header = body.index(b"PK\x01\x02")  # the stream's, the first in the directory
    return body[: header + 42] + (1 << 30).to_bytes(4, "little") + body[header + 46 :]


def _manifest_nested_too_deep(archive: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("only.webm", b"webm")
        # Deflated: the harness's record of moto's answers would read stored brackets as JSON.
        manifest = "[" * 100_000 + "]" * 100_000
        bundle.writestr(f"{archive['id']}.json", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


CANNOT_BE_SPLIT = {
    # S3 would refuse the read of its entry (InvalidRange).
    "a table of contents that points past the zip's end": (
        _pointing_past_its_end,
        "the zip's table of contents is damaged: only.webm is past its end",
    ),
    # 50 streams (OpenTok's most) with long fields: DynamoDB refuses the record (400 KB).
    "a manifest too large for the archive's record": (
        lambda archive: _zip_of(
            archive,
            {f"s{n}": (b"webm", zipfile.ZIP_STORED) for n in range(50)},
            videoType="v" * 9000,
        ),
        "the manifest says more of its streams than an archive's record can hold",
    ),
    # Python's JSON parser raises RecursionError for it, not ValueError.
    "a manifest nested deeper than JSON is read": (
        _manifest_nested_too_deep,
        "the manifest is not JSON",
    ),
}


@pytest.mark.parametrize(("make", "reason"), CANNOT_BE_SPLIT.values(), ids=CANNOT_BE_SPLIT.keys())
def test_a_zip_that_cannot_be_split_is_marked_failed_once_not_tried_again(
    stack: Stack, make, reason: str
) -> None:
    """Trying the same zip again gives the same answer: it is recorded, not left to SQS's
    retries and the dead-letter queue; the zip stays, to be downloaded."""
    archive = _recorded(stack)
    body = make(archive)
    _upload(stack, archive, body)
    _split(stack)
    shown = _shown(stack, archive)
    assert (shown["ready"], shown["streamsFailure"]) == (False, reason)
    assert stack.deliver_stream_requests() == 0  # nothing waits to be tried again
    assert "unfinished" not in stack.stored(archive["id"])  # nor for the reconciler
    assert requests.get(shown["url"], timeout=5).content == body


def test_a_split_s3_fails_is_tried_again_not_marked_failed(stack: Stack) -> None:
    """Only the zip's own faults are final: S3 failing us (its InternalError, however often
    the function tries) leaves the request to SQS's retries."""
    archive = _recorded(stack)
    assert stack.deliver_s3_events() >= 1
    stack.moto.refuse(
        lambda call: call.method == "GET" and call.path.endswith(_zip_key(archive)), 100
    )
    assert stack.deliver_stream_requests() == 0  # failed: left on the queue
    assert _shown(stack, archive)["streamsFailure"] is None
    stack.moto.stop_refusing()
    assert stack.deliver_stream_requests() >= 1
    assert _shown(stack, archive)["ready"] is True


@RIGHT_AWAY
def test_a_late_callback_or_the_reconciler_do_not_undo_the_failure(stack: Stack) -> None:
    archive = _recorded(stack)
    _upload(stack, archive, b"not a zip at all, but long enough to be read as one")
    _split(stack)
    assert stack.post("/archive/callback", {"id": archive["id"]}).status == 200
    reconciled = stack.invoke("ReconcileArchivesFunction", load_event("scheduled_reconcile"))
    assert reconciled["checked"] == 0
    assert stack.deliver_stream_requests() == 0
    assert _shown(stack, archive)["streamsFailure"]


def test_deflated_and_large_streams_are_copied_byte_for_byte(stack: Stack) -> None:
    """Stored entries over 64 MiB are copied inside S3 in parts (UploadPartCopy); deflated
    ones are inflated as they stream; small stored ones are read and written whole."""
    archive = _recorded(stack)
    streams = {
        "large-stored": (os.urandom(64 * MIB + 1234), zipfile.ZIP_STORED),
        "deflated": (os.urandom(9 * MIB) + bytes(3 * MIB), zipfile.ZIP_DEFLATED),
        "small-deflated": (b"webm" * 1000, zipfile.ZIP_DEFLATED),
        "empty": (b"", zipfile.ZIP_STORED),
    }
    _upload(stack, archive, _zip_of(archive, streams))
    _split(stack)
    shown = _shown(stack, archive)
    assert shown["ready"] is True, shown
    assert [stream["streamId"] for stream in shown["streams"]] == list(streams)  # by start
    for stream_id, (body, _) in streams.items():
        copied = _object(stack, f"{API_KEY}/{archive['id']}/streams/{stream_id}.webm")
        assert copied == body, stream_id


def test_a_split_cut_short_carries_on_from_what_it_copied(stack: Stack) -> None:
    archive = _recorded(stack)
    large = os.urandom(64 * MIB + 1234)
    small = b"small stream"
    _upload(stack, archive, _zip_of(archive, {"large": (large, 0), "small": (small, 0)}))
    # What an invocation that ran out of time leaves: one stream copied, the first part of
    # the other in an open multipart upload (a part covers 64 MiB of the entry).
    s3 = boto3.client("s3")
    prefix = f"{API_KEY}/{archive['id']}/streams"
    s3.put_object(Bucket=stack.bucket, Key=f"{prefix}/small.webm", Body=small)
    with _zip(stack, archive) as bundle:
        info = bundle.getinfo("large.webm")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    upload = s3.create_multipart_upload(Bucket=stack.bucket, Key=f"{prefix}/large.webm")
    s3.upload_part_copy(
        Bucket=stack.bucket,
        Key=f"{prefix}/large.webm",
        UploadId=upload["UploadId"],
        PartNumber=1,
        CopySource={"Bucket": stack.bucket, "Key": _zip_key(archive)},
        CopySourceRange=f"bytes={start}-{start + 64 * MIB - 1}",
    )
    _split(stack)
    assert _shown(stack, archive)["ready"] is True
    assert _object(stack, f"{prefix}/large.webm") == large
    assert _versions(stack, archive).count(f"{prefix}/small.webm") == 1  # not copied again
    assert s3.list_multipart_uploads(Bucket=stack.bucket).get("Uploads", []) == []


@RIGHT_AWAY
def test_the_reconciler_asks_for_the_split_when_the_bucket_event_was_lost(stack: Stack) -> None:
    archive = _recorded(stack)
    stack.opentok.faults.drop_s3_notifications()
    assert stack.deliver_s3_events() == 0
    reconciled = stack.invoke("ReconcileArchivesFunction", load_event("scheduled_reconcile"))
    assert reconciled["splitting"] == 1
    assert stack.deliver_stream_requests() == 1
    assert _shown(stack, archive)["ready"] is True


def test_view_sends_browsers_to_the_page_that_plays_each_stream(stack: Stack) -> None:
    archive = _recorded(stack)
    _split(stack)
    browser = stack.get(f"/archive/{archive['id']}/view", accept="text/html")
    assert browser.status == 302
    assert browser.headers["location"] == f"{SITE_URL}/view.html?archiveId={archive['id']}"
    answer = stack.get(f"/archive/{archive['id']}/view", accept="application/json")
    assert answer.status == 200
    body = answer.json()
    assert body["ready"] is True and body["url"]
    assert len(body["streams"]) == 2
    for stream in body["streams"]:
        assert requests.get(stream["url"], timeout=5).content.startswith(b"\x1a\x45\xdf\xa3")


def test_deleting_an_individual_archive_deletes_its_streams_too(stack: Stack) -> None:
    archive = _recorded(stack)
    _split(stack)
    assert stack.delete(f"/archive/{archive['id']}").status == 200
    # The zip and every stream, every version of each: none hidden behind a delete marker.
    listed = boto3.client("s3").list_object_versions(
        Bucket=stack.bucket, Prefix=f"{API_KEY}/{archive['id']}/"
    )
    assert listed.get("Versions", []) == [] and listed.get("DeleteMarkers", []) == []
    assert stack.get(f"/archive/{archive['id']}/view").status == 410


def test_a_composed_archive_shows_no_streams(stack: Stack) -> None:
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"])
    stack.deliver_s3_events()
    shown = _shown(stack, archive)
    assert shown["ready"] is True
    assert "streams" not in shown and "streamsFailure" not in shown
    assert stack.deliver_stream_requests() == 0


def test_a_zip64_archive_is_read_too(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Zips over 4 GiB (a long recording of many streams) carry their sizes and offsets in
    zip64 records. This one is small: Python's zipfile is told, while it writes it, that
    anything over 1 KiB needs them, and writes every record as a 4 GiB zip would have them."""
    archive = _recorded(stack)
    streams = {"first": (os.urandom(5000), zipfile.ZIP_STORED), "second": (b"x" * 9000, 0)}
    with monkeypatch.context() as limits:
        limits.setattr(zipfile, "ZIP64_LIMIT", 1024)
        limits.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
        body = _zip_of(archive, streams)
    assert b"PK\x06\x06" in body[-200:]  # the zip64 end record is there
    # The classic end record's counts and offsets saturated, as in a zip over 4 GiB: only the
    # zip64 end record says where the table of contents is.
    end = body.rfind(b"PK\x05\x06")
    saturated = b"\xff\xff" * 2 + b"\xff\xff\xff\xff" * 2
    body = body[: end + 8] + saturated + body[end + 20 :]
    _upload(stack, archive, body)
    _split(stack)
    assert _shown(stack, archive)["ready"] is True
    for stream_id, (stream, _) in streams.items():
        assert _object(stack, f"{API_KEY}/{archive['id']}/streams/{stream_id}.webm") == stream
