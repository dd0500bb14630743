"""Contract §3: the archive JSON that start, stop, get and list answer."""

from __future__ import annotations

import hashlib

import opentok
import requests

from tests.support.opentok import KEY, archive_url, join, project_headers, routed_session


def raw_archive(emu, archive_id: str) -> dict:
    answer = requests.get(archive_url(emu, f"/{archive_id}"), headers=project_headers())
    assert answer.status_code == 200
    return answer.json()


def start(emu, session_id: str, **body: object) -> dict:
    answer = requests.post(
        archive_url(emu), json={"sessionId": session_id, **body}, headers=project_headers()
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def recording_session(emu, ot) -> str:
    session_id = routed_session(ot)
    connection = join(emu, ot, session_id)
    emu.publish(connection)
    return session_id


def wait_raw(emu, archive_id: str, status: str) -> dict:
    return emu.wait_for(lambda: (a := raw_archive(emu, archive_id))["status"] == status and a)


def test_a_started_archive_carries_every_field_with_its_type(emu, ot):
    """§3: id, sessionId, name, status, reason "", createdAt/updatedAt (ms), duration and size 0,
    url null, projectId/partnerId, hasAudio, hasVideo, outputMode, streamMode, resolution,
    streams, sha256sum, password "", hasTranscription (RUBY `should_create_archives.yml`;
    VPY `archive.json`; SPEC `Archive-Detail`)."""
    session_id = recording_session(emu, ot)

    archive = start(emu, session_id, name="weekly")

    assert archive["status"] == "started"
    assert archive["reason"] == ""
    assert archive["url"] is None
    assert (archive["duration"], archive["size"]) == (0, 0)
    assert archive["name"] == "weekly"
    assert archive["sessionId"] == session_id
    assert archive["projectId"] == archive["partnerId"] == int(KEY)
    assert isinstance(archive["createdAt"], int) and archive["createdAt"] > 10**12
    assert isinstance(archive["updatedAt"], int) and archive["updatedAt"] >= archive["createdAt"]
    assert (archive["hasAudio"], archive["hasVideo"]) == (True, True)
    assert (archive["outputMode"], archive["streamMode"]) == ("composed", "auto")
    assert archive["resolution"] == "640x480"
    assert archive["streams"] == []
    assert archive["sha256sum"] == ""
    assert archive["password"] == ""
    assert archive["hasTranscription"] is False
    assert "event" not in archive  # callbacks only (§9)


def test_an_unnamed_archive_is_named_the_empty_string(emu, ot):
    """§3 `name`: "" when unset, as recorded from the live API in 2014 (RUBY
    `should_create_archives.yml`: `"name" : ""`)."""
    archive = start(emu, recording_session(emu, ot))

    assert archive["name"] == ""
    assert raw_archive(emu, archive["id"])["name"] == ""


def test_max_bitrate_and_multi_archive_tag_are_echoed(emu, ot):
    """§3: `maxBitrate` and `multiArchiveTag` of an archive started with them
    (VPY `archive.json`; RUBY `should_create_an_archive_with_maxBitrate...yml`)."""
    archive = start(emu, recording_session(emu, ot), maxBitrate=2_000_000, multiArchiveTag="second")

    assert archive["maxBitrate"] == 2_000_000
    assert archive["multiArchiveTag"] == "second"


def test_a_stopped_archive_says_why_and_has_no_url_or_size_yet(emu, ot):
    """§3 `reason` (`user initiated`), `url` null except for `available`, `duration`/`size` 0 until
    generated (SPEC; VPY `stop_archive.json`; RUBY `should_stop_archives.yml`)."""
    emu.state.processing_delay = 30  # still processing while we look
    archive = start(emu, recording_session(emu, ot))

    stopped = requests.post(archive_url(emu, f"/{archive['id']}/stop"), headers=project_headers())

    assert stopped.status_code == 200
    body = stopped.json()
    assert (body["status"], body["reason"]) == ("stopped", "user initiated")
    assert body["url"] is None
    assert (body["duration"], body["size"], body["sha256sum"]) == (0, 0, "")


def test_an_available_archive_has_its_link_size_and_checksum_and_keeps_its_reason(emu, ot):
    """§3: `url` non-null only for `available`; `reason` kept in later statuses; `sha256sum` of
    the file (SPEC `url`; VPY `list_archives.json`; VPY `archive.json`)."""
    archive = start(emu, recording_session(emu, ot))
    ot.stop_archive(archive["id"])

    available = wait_raw(emu, archive["id"], "available")

    fixture = requests.get(available["url"]).content
    assert available["url"].startswith(emu.url)
    assert available["reason"] == "user initiated"
    assert available["size"] == len(fixture)
    assert available["sha256sum"] == hashlib.sha256(fixture).hexdigest()
    assert isinstance(available["duration"], int)


def test_the_sdk_reads_the_archive(emu, ot):
    """§3 SDK loss: PY keeps neither reason nor sha256sum, but reads the rest (PY `archives.py`)."""
    session_id = recording_session(emu, ot)

    archive = ot.start_archive(session_id, output_mode=opentok.OutputModes.individual)

    assert archive.status == "started"
    assert archive.output_mode == opentok.OutputModes.individual
    assert archive.resolution is None
    assert archive.name == ""
