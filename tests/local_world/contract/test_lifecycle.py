"""Contract §6: an archive's life on OpenTok's clock, compressed with the emulator's time_scale.

Each test picks a time_scale (OpenTok seconds per real second) that makes the limit under
test last a fraction of a second; processing_delay stays real seconds.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import boto3
import opentok
import pytest
import requests
from moto import mock_aws

from local.opentok import OpenTokEmulator
from local.opentok.lifecycle import DOWNLOAD_LINK_SECONDS
from tests.support.opentok import (
    KEY,
    SECRET,
    archive_url,
    join,
    project_headers,
    routed_session,
)


@contextlib.contextmanager
def emulator(time_scale: float) -> Iterator[tuple[OpenTokEmulator, opentok.Client]]:
    with OpenTokEmulator(KEY, SECRET, processing_delay=0.05, time_scale=time_scale) as emu:
        yield emu, opentok.Client(KEY, SECRET, api_url=emu.url)


def raw(emu, archive_id: str) -> dict:
    return requests.get(archive_url(emu, f"/{archive_id}"), headers=project_headers()).json()


def wait_raw(emu, archive_id: str, *statuses: str, timeout: float = 10.0) -> dict:
    return emu.wait_for(
        lambda: (a := raw(emu, archive_id))["status"] in statuses and a, timeout=timeout
    )


def publishing_session(emu, ot, **options) -> tuple[str, str, str]:
    """(session id, connection id, stream id) of a routed session with a camera published."""
    session_id = routed_session(ot, **options)
    connection = join(emu, ot, session_id)
    return session_id, connection, emu.publish(connection)


def test_an_archive_pauses_while_nobody_publishes_and_resumes_when_someone_does():
    """§6: "No one publishing → paused ... publishing again resumes (`started`)"
    (SPEC `status`; SUP 10807469415836). Being connected without publishing is not enough."""
    with emulator(time_scale=300) as (emu, ot):  # 60 min paused = 12 s
        session_id, connection, stream = publishing_session(emu, ot)
        archive = ot.start_archive(session_id)

        emu.unpublish(connection, stream)
        paused = raw(emu, archive.id)
        join(emu, ot, session_id)  # a client that only watches
        still_paused = raw(emu, archive.id)
        emu.publish(connection)
        resumed = raw(emu, archive.id)

    assert archive.status == "started"
    assert (paused["status"], paused["reason"]) == ("paused", "")
    assert still_paused["status"] == "paused"
    assert resumed["status"] == "started"


def test_a_manual_archive_started_during_a_call_records_from_its_start():
    """§6: an archive records while someone publishes, and waits at most a minute only for a
    first stream (GUIDE's publish rule). A manual archive (SPEC `Stream-Mode`) started while a
    camera is on, with that camera added, is past that window at once: it is still recording
    two minutes later, and its duration counts the time recorded."""
    with emulator(time_scale=300) as (emu, ot):  # 60 s = 0.2 s
        session_id, _, camera = publishing_session(emu, ot)
        clock = emu.state.clock
        archive = ot.start_archive(session_id, stream_mode=opentok.StreamModes.manual)
        ot.add_archive_stream(archive.id, camera)
        begun = clock.now()
        emu.wait_for(lambda: clock.now() >= begun + 120, timeout=5)
        two_minutes_on = raw(emu, archive.id)

        ot.stop_archive(archive.id)
        available = wait_raw(emu, archive.id, "available")

    assert two_minutes_on["status"] == "started"
    assert available["duration"] >= 120


def test_the_archive_stops_60_s_after_the_last_client_leaves():
    """§6: "everyone disconnected → stops after 60 s", reason `session ended`
    (SPEC `status`; SPEC reasons; VPY `list_archives.json`)."""
    with emulator(time_scale=300) as (emu, ot):  # 60 s = 0.2 s
        session_id, connection, _ = publishing_session(emu, ot)
        archive = ot.start_archive(session_id)

        left = time.monotonic()
        emu.disconnect(connection)
        paused = raw(emu, archive.id)["status"]
        stopped = wait_raw(emu, archive.id, "stopped", "available")
        waited = time.monotonic() - left

    assert paused == "paused"
    assert stopped["reason"] == "session ended"
    assert waited >= 60 / 300 * 0.9


def test_a_client_back_within_60_s_keeps_the_archive_going():
    """§6: the 60 s stop is for a session left empty; someone back and publishing resumes it
    (SPEC `status`). Stopping the emulator cancels OpenTok's pending timers at once."""
    with emulator(time_scale=2) as (emu, ot):  # 60 s = 30 s
        session_id, connection, _ = publishing_session(emu, ot)
        archive = ot.start_archive(session_id)
        emu.disconnect(connection)
        emu.publish(join(emu, ot, session_id))
        resumed = raw(emu, archive.id)["status"]
        stopping = time.monotonic()
    assert resumed == "started"
    assert time.monotonic() - stopping < 3


def test_an_archive_paused_for_60_minutes_stops_with_maximum_idle_time_exceeded():
    """§6: "No one publishing → paused, stops after 60 min"; idle timeout 1 h; reason
    `maximum idle time exceeded` (SPEC `status`; GUIDE; SPEC reasons)."""
    with emulator(time_scale=36_000) as (emu, ot):  # 60 min = 0.1 s
        session_id, connection, stream = publishing_session(emu, ot)
        join(emu, ot, session_id)  # someone stays, so the session does not end
        archive = ot.start_archive(session_id)

        paused_at = time.monotonic()
        emu.unpublish(connection, stream)
        stopped = wait_raw(emu, archive.id, "stopped", "available")
        waited = time.monotonic() - paused_at

    assert stopped["reason"] == "maximum idle time exceeded"
    assert waited >= 3600 / 36_000 * 0.9


def test_nobody_publishing_within_a_minute_of_the_start_stops_the_archive_unverified():
    """§6: "a client must publish within 1 minute or the archive stops" (GUIDE; SPEC).
    [unverified] status and reason: the start answers `started` (§4, RUBY
    `should_create_archives.yml`) and the archive waits for its first stream without pausing;
    unpublished for that minute it stops with `maximum idle time exceeded`, the reason SPEC
    gives for an idle stop. Once someone has published, the 60-minute paused rule applies."""
    with emulator(time_scale=300) as (emu, ot):  # 1 min = 0.2 s
        session_id = routed_session(ot)
        join(emu, ot, session_id)  # connected, never publishing
        started_at = time.monotonic()
        archive = ot.start_archive(session_id)

        stopped = wait_raw(emu, archive.id, "stopped", "available")
        waited = time.monotonic() - started_at

    assert archive.status == "started"
    assert stopped["reason"] == "maximum idle time exceeded"
    assert waited >= 60 / 300 * 0.9


def test_four_hours_recorded_stop_with_maximum_duration_exceeded():
    """§6: max recorded length 4 h (14,400 s); reason `maximum duration exceeded`
    (GUIDE; SUP 10524979000860; SPEC reasons)."""
    with emulator(time_scale=28_800) as (emu, ot):  # 4 h = 0.5 s
        session_id, _, _ = publishing_session(emu, ot)
        join(emu, ot, session_id)
        archive = ot.start_archive(session_id)

        available = wait_raw(emu, archive.id, "available")

    assert available["reason"] == "maximum duration exceeded"
    assert available["duration"] == 14_400


def test_twelve_hours_in_total_including_paused_time_stop_the_archive():
    """§6: max total 12 h (43,200 s) including paused time, reason `maximum duration exceeded`
    (GUIDE; https://developer.vonage.com/ja/opentok/guides/archiving/overview). A client
    publishes now and then, so neither the 4 h recorded nor the 60 min idle limit comes first."""
    scale = 7_200  # 1 h = 0.5 s, 12 h = 6 s
    with emulator(time_scale=scale) as (emu, ot):
        session_id, connection, stream = publishing_session(emu, ot)
        join(emu, ot, session_id)
        started_at = time.monotonic()
        archive = ot.start_archive(session_id)
        deadline = started_at + 43_200 / scale * 2
        while raw(emu, archive.id)["status"] in ("started", "paused"):
            assert time.monotonic() < deadline, "the archive outlived 12 h"
            # About 1 min of OpenTok time publishing (more on a loaded machine, whose calls
            # to the emulator are publishing time too), then 24 min paused: far from 4 h.
            time.sleep(0.01)
            emu.unpublish(connection, stream)
            time.sleep(0.2)
            stream = emu.publish(connection)
        lasted = time.monotonic() - started_at
        stopped = wait_raw(emu, archive.id, "available")

    assert stopped["reason"] == "maximum duration exceeded"
    assert stopped["duration"] < 14_400
    assert lasted >= 43_200 / scale * 0.9


def test_automatic_archives_roll_over_to_a_new_archive_every_four_hours():
    """§6: "Automatic (`always`) archives start a new archive every 4 h until the session ends;
    each has its own id (list with `sessionId`)" (GUIDE; SPEC list `sessionId`)."""
    with emulator(time_scale=28_800) as (emu, ot):  # 4 h = 0.5 s
        session_id, connection, _ = publishing_session(
            emu, ot, archive_mode=opentok.ArchiveModes.always, archive_name="standup"
        )
        emu.wait_for(lambda: len(ot.get_archives(session_id=session_id)) >= 2)
        *_, first = ot.get_archives(session_id=session_id)
        first_stopped = wait_raw(emu, first.id, "stopped", "available")

        emu.disconnect(connection)
        last, *_ = ot.get_archives(session_id=session_id)
        last_stopped = wait_raw(emu, last.id, "stopped", "available")

    assert first_stopped["reason"] == "maximum duration exceeded"
    assert last.id != first.id
    assert last.name == first.name == "standup"
    assert last_stopped["reason"] == "session ended"


def test_an_archive_kept_by_opentok_is_available_with_a_ten_minute_link():
    """§6: no upload target → `available`, with a 10-minute download `url` (SPEC `url`;
    SUP 10807469415836); the link's lifetime runs on OpenTok's clock too."""
    scale = 300
    with emulator(time_scale=scale) as (emu, ot):
        session_id, _, _ = publishing_session(emu, ot)
        archive = ot.start_archive(session_id)
        ot.stop_archive(archive.id)

        available = wait_raw(emu, archive.id, "available")
        asked_at = time.time()

    expires = int(parse_qs(urlsplit(available["url"]).query)["expires"][0])
    assert available["reason"] == "user initiated"
    assert 0 < expires - asked_at <= DOWNLOAD_LINK_SECONDS / scale + 1


def test_an_available_archive_expires_72_hours_after_it_was_created():
    """§6 / §11.4: `available` for 72 h from creation, then `expired` with `url` null
    (GUIDE "available for 72 hours"; RUBY `should_find_expired_archives.yml`)."""
    scale = 259_200  # 72 h = 1 s
    with emulator(time_scale=scale) as (emu, ot):
        session_id, _, _ = publishing_session(emu, ot)
        created = time.monotonic()
        archive = ot.start_archive(session_id)  # stopped by the 4 h limit 55 ms later

        available = wait_raw(emu, archive.id, "available")
        expired = wait_raw(emu, archive.id, "expired")
        lasted = time.monotonic() - created

    assert available["url"] is not None
    assert expired["url"] is None
    assert expired["size"] > 0
    assert lasted >= 72 * 3600 / scale * 0.9


def test_an_archive_is_uploaded_to_the_target_with_no_url():
    """§6: upload target set → `uploaded`, `url` null (SPEC; SUP 10807469415836)."""
    with mock_aws(), emulator(time_scale=300) as (emu, ot):
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="recordings")
        set_storage(emu, "recordings", "none")
        session_id, _, _ = publishing_session(emu, ot)
        archive = ot.start_archive(session_id)
        ot.stop_archive(archive.id)

        uploaded = wait_raw(emu, archive.id, "uploaded")

    assert uploaded["url"] is None
    assert uploaded["reason"] == "user initiated"


def test_a_failed_upload_with_fallback_opentok_is_available():
    """§6: "upload failed with fallback `opentok`: `available`" (GUIDE; S3DOC)."""
    with mock_aws(), emulator(time_scale=300) as (emu, ot):
        set_storage(emu, "no-such-bucket", "opentok")
        session_id, _, _ = publishing_session(emu, ot)
        archive = ot.start_archive(session_id)
        ot.stop_archive(archive.id)

        available = wait_raw(emu, archive.id, "available")
        served = requests.get(available["url"])

    assert served.content[4:8] == b"ftyp"


def test_a_failed_upload_with_fallback_none_fails_with_reason_failure_unverified():
    """§6: "upload failed with fallback `none`: not kept by OpenTok; resulting status `failed`
    [unverified]"; §3 `reason` for `failed`: `failure` (S3DOC; SPEC)."""
    with mock_aws(), emulator(time_scale=300) as (emu, ot):
        set_storage(emu, "no-such-bucket", "none")
        session_id, _, _ = publishing_session(emu, ot)
        archive = ot.start_archive(session_id)
        ot.stop_archive(archive.id)

        failed = wait_raw(emu, archive.id, "failed")

    assert (failed["reason"], failed["url"]) == ("failure", None)


@pytest.mark.parametrize("time_scale", [0, -1])
def test_time_scale_must_be_positive(time_scale):
    """The emulator's own knob, not OpenTok's: OpenTok time cannot stand still or run back."""
    with pytest.raises(ValueError, match="time_scale"):
        OpenTokEmulator(KEY, SECRET, time_scale=time_scale)


def set_storage(emu, bucket: str, fallback: str) -> None:
    settings = {
        "type": "s3",
        "config": {"accessKey": "AKIAEXAMPLE", "secretKey": "secret", "bucket": bucket},
        "fallback": fallback,
    }
    answer = requests.put(archive_url(emu, "/storage"), json=settings, headers=project_headers())
    assert answer.status_code == 200
