"""Contract: the options an archive starts with (layout, resolution, audio/video, output and
stream modes), changing a recording's layout, and choosing its streams by hand.

Sources, short names as in the contract file:
- SPEC: Abhishek-api/api-specification @d7646f84 `definitions/video.yml`: `Layout`,
  `Resolution`, `Stream-Mode`, `Has-Audio`, `New-Archive`, start 400s, PATCH `.../streams`
  (204, 400, 404), PUT `.../layout` (200, 400).
- RUBY: opentok/OpenTok-Ruby-SDK @948be5fb cassettes `should_create_hd_archives.yml` (resolution
  echoed), `should_create_an_archive_with_streamMode_set_to_specified_stream_mode_value.yml`,
  `changes_the_layout_of_an_archive.yml` (PUT layout 200), `adds_a_stream_to_an_archive.yml` and
  `removes_a_stream_from_an_archive.yml` (PATCH 204, recorded 2021); RUBYLIB
  `lib/opentok/archives.rb` (`layout`'s rules) and `client.rb` (`select_streams_for_archive`:
  405 for an auto archive).
- VPY: Vonage/vonage-python-sdk @b308cb1e `video/tests/test_archive.py`,
  `video/src/vonage_video/models/common.py` (`ComposedLayout`'s rules), `archive.json`.
- PY: opentok 3.15.0 `start_archive`, `set_archive_layout`, `add_archive_stream`.
- GUIDE: https://developer.vonage.com/en/video/guides/layout-control (composed archives only;
  the six resolutions, portrait ones included).
"""

from __future__ import annotations

import opentok
import pytest
import requests

from tests.support.opentok import archive_url, join, project_headers, routed_session

PORTRAIT_FHD = "1080x1920"


def _recording_session(emu, ot) -> tuple[str, str, str]:
    """(session id, connection id, stream id) of a session where someone publishes."""
    session_id = routed_session(ot)
    connection = join(emu, ot, session_id)
    return session_id, connection, emu.publish(connection)


def _start(emu, session_id: str, **body: object) -> requests.Response:
    return requests.post(
        archive_url(emu), json={"sessionId": session_id, **body}, headers=project_headers()
    )


def _layout_of(emu, archive_id: str) -> dict | None:
    return requests.get(f"{emu.url}/_emulator/archives/{archive_id}", timeout=5).json()["layout"]


def test_the_sdk_starts_a_portrait_full_hd_archive_with_a_layout_and_manual_streams(emu, ot):
    """SPEC `Resolution` lists 1080x1920; RUBY's cassettes echo resolution and streamMode; the
    layout is no field of the archive JSON (RUBY `should_create_custom_layout_archives.yml`,
    VPY `archive.json`), so the emulator shows it on its own route."""
    session_id, _, _ = _recording_session(emu, ot)

    archive = ot.start_archive(
        session_id,
        resolution=PORTRAIT_FHD,
        layout={"type": "bestFit", "screenshareType": "pip"},
        stream_mode=opentok.StreamModes.manual,
        has_audio=False,
    )

    assert archive.resolution == PORTRAIT_FHD
    assert archive.stream_mode == "manual"
    assert (archive.has_audio, archive.has_video) == (False, True)
    got = requests.get(archive_url(emu, f"/{archive.id}"), headers=project_headers()).json()
    assert "layout" not in got
    assert (got["resolution"], got["streamMode"], got["outputMode"]) == (
        PORTRAIT_FHD,
        "manual",
        "composed",
    )
    assert _layout_of(emu, archive.id) == {"type": "bestFit", "screenshareType": "pip"}


@pytest.mark.parametrize(
    "resolution", ["640x480", "480x640", "1280x720", "720x1280", "1920x1080", "1080x1920"]
)
def test_every_resolution_of_the_spec_is_taken_and_echoed(emu, ot, resolution):
    """SPEC `Resolution`; GUIDE (SD, HD and FHD, landscape and portrait)."""
    session_id, _, _ = _recording_session(emu, ot)
    assert ot.start_archive(session_id, resolution=resolution).resolution == resolution


def test_a_composed_archive_without_a_layout_is_best_fit(emu, ot):
    """SPEC `Layout`: "If you do not specify an initial layout type, ... best fit"."""
    session_id, _, _ = _recording_session(emu, ot)
    archive = ot.start_archive(session_id)
    assert _layout_of(emu, archive.id) == {"type": "bestFit"}


@pytest.mark.parametrize(
    "body",
    [
        {"resolution": "1080x1080"},  # SPEC start 400 "invalid resolution value"
        {"outputMode": "individual", "resolution": "1280x720"},  # SPEC start 400
        {"streamMode": "sometimes"},  # SPEC `Stream-Mode` enum
        {"layout": {"type": "mosaic"}},  # SPEC `Layout` enum
    ],
)
def test_start_refuses_what_the_spec_names_with_a_400(emu, ot, body):
    session_id, _, _ = _recording_session(emu, ot)
    answer = _start(emu, session_id, **body)
    assert answer.status_code == 400
    assert set(answer.json()) == {"code", "message", "description"}
    assert emu.state.archives == {}


@pytest.mark.parametrize(
    "body",
    [
        # Both false: SPEC `Has-Audio` "results in an error"; VPY, RUBYLIB refuse it before.
        {"hasAudio": False, "hasVideo": False},
        # Layout of an individual archive: SPEC "applies only to composed archives"; VPY
        # IndividualArchivePropertyError.
        {"outputMode": "individual", "layout": {"type": "pip"}},
        # SPEC `Layout`, RUBYLIB `layout`, VPY ComposedLayout: custom needs a stylesheet,
        # a stylesheet needs custom, screenshareType needs bestFit.
        {"layout": {"type": "custom"}},
        {"layout": {"type": "pip", "stylesheet": "stream {width: 100%}"}},
        {"layout": {"type": "pip", "screenshareType": "bestFit"}},
        {"layout": {"type": "custom", "stylesheet": "s {}", "screenshareType": "pip"}},
    ],
)
def test_start_refuses_combinations_the_sdks_refuse_with_a_400_unverified(emu, ot, body):
    """That OpenTok refuses these is sourced; that its answer is a 400 is not: SPEC's start
    400s name resolution and session only, PUT layout's 400 names "invalid layout options"."""
    session_id, _, _ = _recording_session(emu, ot)
    answer = _start(emu, session_id, **body)
    assert answer.status_code == 400
    assert emu.state.archives == {}


def test_the_sdk_changes_a_recording_archives_layout(emu, ot):
    """PY `set_archive_layout` expects 200 (RUBY `changes_the_layout_of_an_archive.yml`; SPEC);
    a custom layout carries its stylesheet (PY sends it for `custom` only)."""
    session_id, _, _ = _recording_session(emu, ot)
    archive = ot.start_archive(session_id, resolution="1280x720")

    ot.set_archive_layout(archive.id, "verticalPresentation")
    assert _layout_of(emu, archive.id) == {"type": "verticalPresentation"}
    ot.set_archive_layout(archive.id, "custom", stylesheet="stream {width: 50%}")
    assert _layout_of(emu, archive.id) == {"type": "custom", "stylesheet": "stream {width: 50%}"}
    ot.set_archive_layout(archive.id, "bestFit", screenshare_type="horizontalPresentation")
    assert _layout_of(emu, archive.id) == {
        "type": "bestFit",
        "screenshareType": "horizontalPresentation",
    }


def test_put_layout_answers_the_archive(emu, ot):
    """VPY `test_change_archive_layout` reads the archive from the 200's body."""
    session_id, _, _ = _recording_session(emu, ot)
    archive = ot.start_archive(session_id)
    answer = requests.put(
        archive_url(emu, f"/{archive.id}/layout"), json={"type": "pip"}, headers=project_headers()
    )
    assert answer.status_code == 200
    assert answer.json()["id"] == archive.id


@pytest.mark.parametrize(
    "body",
    [
        {"type": "mosaic"},
        {"type": "custom"},
        {"type": "pip", "stylesheet": "stream {}"},
        {"type": "horizontalPresentation", "screenshareType": "pip"},
        "pip",
    ],
)
def test_put_layout_refuses_invalid_layout_options_with_a_400(emu, ot, body):
    """SPEC PUT layout 400: "invalid layout options"; PY raises ArchiveError on it."""
    session_id, _, _ = _recording_session(emu, ot)
    archive = ot.start_archive(session_id, layout={"type": "pip"})
    answer = requests.put(
        archive_url(emu, f"/{archive.id}/layout"), json=body, headers=project_headers()
    )
    assert answer.status_code == 400
    assert _layout_of(emu, archive.id) == {"type": "pip"}
    with pytest.raises(opentok.exceptions.ArchiveError):
        ot.set_archive_layout(archive.id, "mosaic")


def test_put_layout_refuses_an_individual_archive_and_a_stopped_one_unverified(emu, ot):
    """Layouts are of composed archives (GUIDE); the statuses (400, 409) are not sourced."""
    session_id, _, _ = _recording_session(emu, ot)
    individual = ot.start_archive(session_id, output_mode=opentok.OutputModes.individual)
    url = archive_url(emu, f"/{individual.id}/layout")
    assert requests.put(url, json={"type": "pip"}, headers=project_headers()).status_code == 400
    ot.stop_archive(individual.id)
    composed = ot.start_archive(session_id)
    ot.stop_archive(composed.id)
    url = archive_url(emu, f"/{composed.id}/layout")
    assert requests.put(url, json={"type": "pip"}, headers=project_headers()).status_code == 409


def test_the_sdk_adds_and_removes_streams_of_a_manual_archive(emu, ot):
    """PATCH .../streams answers 204 (RUBY cassettes; VPY; PY returns None); the archive's
    `streams` lists what was added (SPEC `Archive-Detail.streams`); a manual archive takes
    in no stream by itself (SPEC `Stream-Mode`)."""
    session_id, connection, camera = _recording_session(emu, ot)
    archive = ot.start_archive(session_id, stream_mode=opentok.StreamModes.manual)
    assert ot.get_archive(archive.id).streams == []

    assert ot.add_archive_stream(archive.id, camera, has_audio=True, has_video=False) is None
    assert ot.get_archive(archive.id).streams == [
        {"streamId": camera, "hasAudio": True, "hasVideo": False}
    ]
    second = emu.publish(connection, name="screen")
    assert [s["streamId"] for s in ot.get_archive(archive.id).streams] == [camera]
    recorded = requests.get(f"{emu.url}/_emulator/archives/{archive.id}", timeout=5).json()
    assert recorded["recordedStreams"] == [camera]  # the file has no stream nobody added

    assert ot.remove_archive_stream(archive.id, camera) is None
    assert ot.get_archive(archive.id).streams == []
    ot.add_archive_stream(archive.id, second)
    assert [s["streamId"] for s in ot.get_archive(archive.id).streams] == [second]


def test_patch_streams_refuses_an_auto_archive_with_405_or_400(emu, ot):
    """[conflict] RUBYLIB and PY map 405 to "streamMode auto does not support stream
    manipulation"; SPEC puts the same under 400. The emulator answers 405; both are accepted."""
    session_id, _, camera = _recording_session(emu, ot)
    archive = ot.start_archive(session_id)
    answer = requests.patch(
        archive_url(emu, f"/{archive.id}/streams"),
        json={"addStream": camera},
        headers=project_headers(),
    )
    assert answer.status_code in (400, 405)


@pytest.mark.parametrize(
    "body",
    [
        {},  # SPEC: one of addStream, removeStream is required
        {"addStream": "a", "removeStream": "b"},
        {"removeStream": 7},
    ],
)
def test_patch_streams_refuses_a_malformed_selection_with_a_400(emu, ot, body):
    """SPEC PATCH 400 (invalid request)."""
    session_id, _, _ = _recording_session(emu, ot)
    archive = ot.start_archive(session_id, stream_mode=opentok.StreamModes.manual)
    answer = requests.patch(
        archive_url(emu, f"/{archive.id}/streams"), json=body, headers=project_headers()
    )
    assert answer.status_code == 400


def test_patch_streams_answers_404_for_a_stream_not_in_the_session(emu, ot):
    """SPEC PATCH 404 "Archive or stream not found" (also Vonage support 6646227670556: an
    invalid stream id gets a 404)."""
    session_id, _, _ = _recording_session(emu, ot)
    _, _, elsewhere = _recording_session(emu, ot)
    archive = ot.start_archive(session_id, stream_mode=opentok.StreamModes.manual)
    answer = requests.patch(
        archive_url(emu, f"/{archive.id}/streams"),
        json={"addStream": elsewhere},
        headers=project_headers(),
    )
    assert answer.status_code == 404
    assert answer.json()["message"] == "Archive or stream not found"


def test_patch_streams_refuses_neither_audio_nor_video_unverified(emu, ot):
    """RUBYLIB refuses has_audio and has_video both false before calling; the 400 is not
    sourced (NODE's mock even answers such a call with 200)."""
    session_id, _, camera = _recording_session(emu, ot)
    archive = ot.start_archive(session_id, stream_mode=opentok.StreamModes.manual)
    answer = requests.patch(
        archive_url(emu, f"/{archive.id}/streams"),
        json={"addStream": camera, "hasAudio": False, "hasVideo": False},
        headers=project_headers(),
    )
    assert answer.status_code == 400
    assert ot.get_archive(archive.id).streams == []


def test_layout_and_streams_need_the_projects_credentials(emu, ot):
    """Contract §1: every project route answers 403 without a valid JWT."""
    session_id, _, camera = _recording_session(emu, ot)
    archive = ot.start_archive(session_id, stream_mode=opentok.StreamModes.manual)
    put = requests.put(archive_url(emu, f"/{archive.id}/layout"), json={"type": "pip"})
    patch = requests.patch(archive_url(emu, f"/{archive.id}/streams"), json={"addStream": camera})
    assert (put.status_code, patch.status_code) == (403, 403)
    assert _layout_of(emu, archive.id) == {"type": "bestFit"}
