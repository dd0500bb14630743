"""The emulator's recordings are real media in the shape the archive asked for, made of the time
recorded (local/opentok/recording.py). Connections here send no media of their own, as in every
API-only test: their streams are black and silent, for as long as they were recorded."""

from __future__ import annotations

import numpy as np
import opentok
import pytest
import requests

from local.opentok import captures, recording
from local.opentok.recording import FRAME_RATE, tiles
from tests.support.media import BLUE, RED, clip, colours, individual_streams, loudness, near, probe
from tests.support.opentok import join, join_publishing, routed_session, wait_status

# A recording of 2 OpenTok minutes lasts 0.4 s in real time at the contract tests' clock (300).
RECORDED = 120.0


def record(emu, ot, session_id: str, **archive_options) -> opentok.Archive:
    """Start an archive, let RECORDED OpenTok seconds pass, stop it, and wait for its file."""
    archive = ot.start_archive(session_id, **archive_options)
    pass_time(emu, RECORDED)
    ot.stop_archive(archive.id)
    return wait_status(emu, ot, archive.id, "available")


def pass_time(emu, opentok_seconds: float, since: float | None = None) -> float:
    """Waits until `opentok_seconds` have passed on the emulator's clock since `since` (now, by
    default), and returns when it counted from."""
    since = emu.state.clock.now() if since is None else since
    emu.wait_for(lambda: emu.state.clock.now() - since >= opentok_seconds)
    return since


def download(archive: opentok.Archive) -> bytes:
    answer = requests.get(archive.url, timeout=10)
    assert answer.status_code == 200
    return answer.content


def media_seconds(emu, opentok_seconds: float) -> float:
    return emu.state.clock.real_seconds(opentok_seconds)


def test_a_composed_archive_is_an_mp4_in_its_resolution_as_long_as_it_recorded(emu, ot):
    session_id = routed_session(ot)
    join_publishing(emu, ot, session_id)
    archive = record(emu, ot, session_id, resolution="1280x720")

    found = probe(download(archive))

    assert (found.video, found.audio) == ("h264", "aac")
    assert (found.width, found.height) == (1280, 720)
    assert archive.duration >= RECORDED
    # Frames come 1/FRAME_RATE apart and the duration is whole seconds; either may round.
    allowed = 1 / FRAME_RATE + media_seconds(emu, 1)
    assert found.seconds == pytest.approx(media_seconds(emu, archive.duration), abs=allowed)


@pytest.mark.parametrize(
    ("has_audio", "has_video", "tracks"),
    [(False, True, ("h264", None)), (True, False, (None, "aac"))],
    ids=["video only", "audio only"],
)
def test_a_composed_archive_holds_only_the_tracks_asked_for(emu, ot, has_audio, has_video, tracks):
    session_id = routed_session(ot)
    join_publishing(emu, ot, session_id)
    archive = record(emu, ot, session_id, has_audio=has_audio, has_video=has_video)

    found = probe(download(archive))

    assert (found.video, found.audio) == tracks
    assert found.seconds > 0


def test_an_individual_archive_has_a_webm_per_stream_as_long_as_the_stream(emu, ot):
    session_id = routed_session(ot)
    first = join_publishing(emu, ot, session_id)
    archive = ot.start_archive(session_id, output_mode=opentok.OutputModes.individual)
    started = pass_time(emu, RECORDED)
    # The second joins halfway and the first leaves before the end: each file is its own span.
    second = join(emu, ot, session_id)
    emu.publish(second, "second")
    pass_time(emu, 2 * RECORDED, since=started)
    emu.disconnect(first)
    pass_time(emu, 3 * RECORDED, since=started)
    ot.stop_archive(archive.id)
    archive = wait_status(emu, ot, archive.id, "available")

    manifest, streams = individual_streams(download(archive))

    assert set(streams) == {file["streamId"] for file in manifest["files"]}
    assert len(streams) == 2
    for file in manifest["files"]:
        found = probe(streams[file["streamId"]])
        assert (found.container, found.video, found.audio) == ("matroska,webm", "vp8", "opus")
        recorded = (file["stopTimeOffset"] - file["startTimeOffset"]) / 1000
        assert recorded >= RECORDED
        allowed = 1 / FRAME_RATE + media_seconds(emu, 1)
        assert found.seconds == pytest.approx(media_seconds(emu, recorded), abs=allowed)


def test_a_stream_selected_without_its_sound_is_recorded_without_it(emu, ot):
    """PATCH .../streams with hasAudio false (contract §4; RUBY `add_stream`)."""
    session_id = routed_session(ot)
    connection = join(emu, ot, session_id)
    stream_id = emu.publish(connection)
    archive = ot.start_archive(
        session_id,
        output_mode=opentok.OutputModes.individual,
        stream_mode=opentok.StreamModes.manual,
    )
    ot.add_archive_stream(archive.id, stream_id, has_audio=False, has_video=True)
    pass_time(emu, RECORDED)
    ot.stop_archive(archive.id)
    archive = wait_status(emu, ot, archive.id, "available")

    _, streams = individual_streams(download(archive))

    found = probe(streams[stream_id])
    assert (found.video, found.audio) == ("vp8", None)


def test_a_composed_archive_starts_playing_before_it_has_all_arrived(emu, ot):
    """faststart: the MP4's index (moov) comes before its media (mdat), so a player streaming
    the link starts at once."""
    session_id = routed_session(ot)
    join_publishing(emu, ot, session_id)

    body = download(record(emu, ot, session_id))

    assert body[4:8] == b"ftyp"
    assert -1 < body.find(b"moov") < body.find(b"mdat")


def test_an_archive_stopped_at_once_is_still_a_playable_file():
    found = probe(
        recording.composed_mp4(0.0, "640x480", "bestFit", [], has_audio=True, has_video=True)
    )

    assert (found.video, found.width, found.height) == ("h264", 640, 480)
    assert found.seconds > 0


# What a page sends of its stream (the stand-in OpenTok.js's MediaRecorder chunks) is recorded.


def post_part(emu, connection_id, stream_id, number: int, chunk: bytes, last=False) -> None:
    url = f"{emu.url}/_emulator/connections/{connection_id}/streams/{stream_id}/media"
    query = {"take": "take1", "part": number} | ({"last": 1} if last else {})
    answer = requests.post(url, params=query, data=chunk, timeout=5)
    assert answer.status_code == 204, answer.text


def send_take(emu, connection_id: str, stream_id: str, body: bytes) -> None:
    """Post a recording as a page does: an empty first part when it starts, then its chunks."""
    third = len(body) // 3 + 1
    chunks = [b"", body[:third], body[third : 2 * third], body[2 * third :]]
    for number, chunk in enumerate(chunks):
        post_part(emu, connection_id, stream_id, number, chunk, last=number == len(chunks) - 1)


def test_a_composed_archive_shows_and_plays_what_each_page_sent_in_its_tile(emu, ot):
    session_id = routed_session(ot)
    red_page, blue_page = join(emu, ot, session_id), join(emu, ot, session_id)
    red, blue = emu.publish(red_page, "red"), emu.publish(blue_page, "blue")
    red_clip, blue_clip = clip(RED, 2.0), clip(BLUE, 2.0, tone_hz=None)
    archive = ot.start_archive(session_id)
    send_take(emu, red_page, red, red_clip)
    send_take(emu, blue_page, blue, blue_clip)
    pass_time(emu, 3 * RECORDED)
    ot.stop_archive(archive.id)

    body = download(wait_status(emu, ot, archive.id, "available"))

    # bestFit with two streams: side by side, in the order they joined; each from its page's
    # first chunk on, which follows the start closely.
    left, right = colours(body, (0.1, 0.3, 0.3, 0.4)), colours(body, (0.6, 0.3, 0.3, 0.4))
    assert all(near(colour, RED) for colour in left[len(left) // 3 :])
    assert all(near(colour, BLUE) for colour in right[len(right) // 3 :])
    assert loudness(body) > 0.05  # the red page's tone


def test_an_individual_archive_holds_each_page_s_own_stream(emu, ot):
    session_id = routed_session(ot)
    red_page, blue_page = join(emu, ot, session_id), join(emu, ot, session_id)
    red, blue = emu.publish(red_page, "red"), emu.publish(blue_page, "blue")
    red_clip, blue_clip = clip(RED, 2.0), clip(BLUE, 2.0, tone_hz=None)
    archive = ot.start_archive(session_id, output_mode=opentok.OutputModes.individual)
    send_take(emu, red_page, red, red_clip)
    send_take(emu, blue_page, blue, blue_clip)
    pass_time(emu, 3 * RECORDED)
    ot.stop_archive(archive.id)

    _, streams = individual_streams(download(wait_status(emu, ot, archive.id, "available")))

    # Each file from its stream's start, which its page's first chunk follows closely.
    reds, blues = colours(streams[red]), colours(streams[blue])
    assert all(near(colour, RED) for colour in reds[len(reds) // 3 :])
    assert all(near(colour, BLUE) for colour in blues[len(blues) // 3 :])
    assert loudness(streams[red]) > 0.05
    assert loudness(streams[blue]) < 0.01


def test_an_archive_started_while_a_page_records_for_another_has_what_came_after_its_start(emu, ot):
    """Two archives at once (distinct multiArchiveTags, contract §4): the page records one take
    from the first's start; the second, started halfway, has its second half only."""
    session_id = routed_session(ot)
    page = join(emu, ot, session_id)
    stream_id = emu.publish(page)
    red_then_blue = clip(RED, 2.0, then=BLUE)
    half = len(red_then_blue) // 2
    first = ot.start_archive(session_id, multi_archive_tag="first")
    post_part(emu, page, stream_id, 0, b"")  # the clip's time 0 is now
    began = emu.state.clock.now()
    post_part(emu, page, stream_id, 1, red_then_blue[:half])
    pass_time(emu, emu.state.clock.time_scale * 1.2, since=began)
    second = ot.start_archive(session_id, multi_archive_tag="second")
    post_part(emu, page, stream_id, 2, red_then_blue[half:])
    pass_time(emu, emu.state.clock.time_scale * 1.8, since=began)
    ot.stop_archive(second.id)
    ot.stop_archive(first.id)
    post_part(emu, page, stream_id, 3, b"", last=True)  # the page stops once both have

    firsts = colours(download(wait_status(emu, ot, first.id, "available")))
    seconds = colours(download(wait_status(emu, ot, second.id, "available")))

    assert near(firsts[len(firsts) // 4], RED) and near(firsts[-2], BLUE)
    assert all(near(colour, BLUE) for colour in seconds[1:])


def test_a_take_with_no_media_in_it_leaves_its_stream_black_and_the_archive_whole(emu, ot):
    """A page that went away before its first chunk, or sent bytes that are no WebM."""
    session_id = routed_session(ot)
    page = join(emu, ot, session_id)
    stream_id = emu.publish(page)
    archive = ot.start_archive(session_id)
    send_take(emu, page, stream_id, b"these bytes are no webm")
    pass_time(emu, RECORDED)
    ot.stop_archive(archive.id)

    found = colours(download(wait_status(emu, ot, archive.id, "available")))

    assert found and all(near(colour, (0, 0, 0), tolerance=5) for colour in found)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"take": "t1"}, 400),
        ({"take": "t1", "part": "first"}, 400),
        ({"take": "../etc", "part": 0}, 400),
        ({"take": "t1", "part": 10**9}, 400),
    ],
    ids=["no part", "part not a number", "take not a name", "too many parts"],
)
def test_a_part_that_is_not_one_is_refused(emu, ot, query, status):
    session_id = routed_session(ot)
    connection = join(emu, ot, session_id)
    stream_id = emu.publish(connection)
    ot.start_archive(session_id)
    url = f"{emu.url}/_emulator/connections/{connection}/streams/{stream_id}/media"

    answer = requests.post(url, params=query, data=b"x", timeout=5)

    assert answer.status_code == status
    assert "message" in answer.json()


def test_what_a_page_sent_is_dropped_once_its_recording_is_made(emu, ot):
    session_id = routed_session(ot)
    connection = join(emu, ot, session_id)
    stream_id = emu.publish(connection)
    archive = ot.start_archive(session_id)
    send_take(emu, connection, stream_id, clip(RED, 0.5))
    assert len(emu.state.captures) == 1
    ot.stop_archive(archive.id)
    wait_status(emu, ot, archive.id, "available")

    # A part late from the page makes no take of its own.
    url = f"{emu.url}/_emulator/connections/{connection}/streams/{stream_id}/media"
    late = requests.post(url, params={"take": "take1", "part": 9}, data=b"late", timeout=5)

    assert late.status_code == 409
    assert len(emu.state.captures) == 0
    assert not any(emu.state.captures.root.iterdir())


def test_media_is_refused_while_nothing_records_the_session(emu, ot):
    session_id = routed_session(ot)
    connection = join(emu, ot, session_id)
    stream_id = emu.publish(connection)
    url = f"{emu.url}/_emulator/connections/{connection}/streams/{stream_id}/media"

    answer = requests.post(url, params={"take": "t1", "part": 0}, data=b"", timeout=5)

    assert answer.status_code == 409
    assert "Nothing records" in answer.json()["message"]
    assert len(emu.state.captures) == 0


def test_a_take_larger_than_any_recording_is_refused(emu, ot, monkeypatch):
    monkeypatch.setattr(captures, "MAX_TAKE_BYTES", 1000)
    session_id = routed_session(ot)
    connection = join(emu, ot, session_id)
    stream_id = emu.publish(connection)
    ot.start_archive(session_id)
    url = f"{emu.url}/_emulator/connections/{connection}/streams/{stream_id}/media"

    first = requests.post(url, params={"take": "t1", "part": 0}, data=bytes(600), timeout=5)
    second = requests.post(url, params={"take": "t1", "part": 1}, data=bytes(600), timeout=5)

    assert (first.status_code, second.status_code) == (204, 413)
    assert "at most 1000 bytes" in second.json()["message"]


def test_only_a_stream_s_own_connection_may_send_its_media(emu, ot):
    session_id = routed_session(ot)
    owner, other = join(emu, ot, session_id), join(emu, ot, session_id)
    stream_id = emu.publish(owner)
    url = f"{emu.url}/_emulator/connections/{other}/streams/{stream_id}/media"

    answer = requests.post(url, params={"take": "t1", "part": 0}, data=b"", timeout=5)

    assert answer.status_code == 404


def test_sound_mixed_a_window_at_a_time_is_the_sound_mixed_whole(monkeypatch, tmp_path):
    """The mix is made a few seconds at a time (an hour whole would not fit a laptop): the
    windows' seams lose or repeat nothing. Two tracks, the second joining late."""
    source = tmp_path / "tone.webm"
    source.write_bytes(clip(RED, 1.0))
    tracks = [
        recording.RecordedTrack("a", 0.0, 1.0, True, True, source, 0.0),
        recording.RecordedTrack("b", 0.3, 1.0, True, True, source, 0.25),
    ]
    whole = np.concatenate(list(recording._mixed(1.0, tracks)))
    monkeypatch.setattr(recording, "MIX_WINDOW", 997)  # seams everywhere, none on a chunk's

    windowed = np.concatenate(list(recording._mixed(1.0, tracks)))

    assert len(windowed) == len(whole) == recording.SAMPLE_RATE
    assert np.array_equal(windowed, whole)
    assert np.abs(whole[: int(0.3 * recording.SAMPLE_RATE)]).max() <= 0.35  # one tone
    assert np.abs(whole[int(0.4 * recording.SAMPLE_RATE) :]).max() > 0.35  # then two


# Layouts: where each stream goes on the canvas (pure; SPEC `Layout` names them).

CANVAS = (1280, 720)


def _inside(tile, width=CANVAS[0], height=CANVAS[1]) -> bool:
    x, y, w, h = tile
    return x >= 0 and y >= 0 and x + w <= width and y + h <= height and w % 2 == h % 2 == 0


def _overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 9])
@pytest.mark.parametrize(
    "layout", ["bestFit", "custom", "verticalPresentation", "horizontalPresentation"]
)
def test_the_streams_of_a_layout_share_the_canvas_without_overlapping(layout, count):
    placed = tiles(layout, count, *CANVAS)

    assert len(placed) == count
    assert all(_inside(tile) and tile[2] > 0 for tile in placed)
    assert not any(_overlap(a, b) for i, a in enumerate(placed) for b in placed[i + 1 :])


def test_best_fit_gives_one_stream_the_canvas_and_two_a_half_each():
    assert tiles("bestFit", 1, *CANVAS) == [(0, 0, *CANVAS)]
    assert tiles("bestFit", 2, *CANVAS) == [(0, 0, 640, 720), (640, 0, 640, 720)]


def test_a_presentation_gives_the_first_stream_the_large_place():
    large, *others = tiles("verticalPresentation", 3, *CANVAS)

    assert large[2] * large[3] > 3 * sum(w * h for _, _, w, h in others)


def test_pip_shows_the_second_stream_small_inside_the_first():
    full, inset = tiles("pip", 2, *CANVAS)

    assert full == (0, 0, *CANVAS)
    assert _inside(inset) and inset[2] * inset[3] < full[2] * full[3] / 8
