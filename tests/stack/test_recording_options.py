"""Hosts choose how a recording is made: layout, resolution, audio and video, output and
stream modes; and while it records, they change its layout and choose its streams.

What reaches OpenTok is read back from the emulator (its archive, and its own route for the
layout, which OpenTok's archive JSON does not carry); what OpenTok refuses is refused by us
first, with a 400 that names it, and then nothing is started.
"""

import json
from typing import Any

import boto3
import opentok
import pytest
import requests

from tests.support.stack import Stack

PORTRAIT_FHD = "1080x1920"
STYLESHEET = "stream.instructor {position: absolute; width: 100%; height: 50%;}"


# OpenTok's clock in real time: at the fast clock its one-minute window for a manual
# recording (contract §6) may close, on a loaded machine, before a stream is added.
REAL_TIME = pytest.mark.parametrize("emulator", [{"time_scale": 1}], indirect=True)


def _at_opentok(stack: Stack, archive_id: str) -> dict[str, Any]:
    """OpenTok's archive JSON and, beside it, the layout it records with."""
    answer = requests.get(f"{stack.opentok.url}/_emulator/archives/{archive_id}", timeout=5)
    answer.raise_for_status()
    return answer.json()


def _host(stack: Stack, session_id: str) -> dict[str, str]:
    return {"authorization": f"Bearer {stack.moderator_tokens[session_id]}"}


def _put_layout(
    stack: Stack, archive: dict[str, Any], body: Any, headers: dict[str, str] | None = None
):
    if headers is None:
        headers = _host(stack, archive["sessionId"])
    return stack.api.request(
        "PUT",
        f"/archive/{archive['id']}/layout",
        headers={"content-type": "application/json", **headers},
        body=json.dumps(body).encode(),
    )


def _streams(stack: Stack, archive: dict[str, Any], body: Any, headers=None):
    if headers is None:
        headers = _host(stack, archive["sessionId"])
    return stack.post(f"/archive/{archive['id']}/streams", body, headers=headers)


def _archives_of(stack: Stack, session_id: str) -> list[opentok.Archive]:
    return list(stack.sdk().list_archives(session_id=session_id))


def _table(stack: Stack) -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName=stack.table)["Items"]
    return sorted(items, key=lambda item: item["pk"]["S"])


def test_the_hosts_choices_reach_opentok_and_the_archive_shows_them(stack: Stack) -> None:
    session = stack.join()
    layout = {"type": "custom", "stylesheet": STYLESHEET}

    started = stack.post(
        "/archive/start",
        {
            "sessionId": session["sessionId"],
            "resolution": PORTRAIT_FHD,
            "layout": layout,
            "streamMode": "manual",
            "hasAudio": False,
        },
    )

    assert started.status == 200, started.body
    archive = started.json()
    opentok_side = _at_opentok(stack, archive["id"])
    assert opentok_side["layout"] == layout
    recorded = opentok_side["archive"]
    assert (recorded["resolution"], recorded["streamMode"], recorded["outputMode"]) == (
        PORTRAIT_FHD,
        "manual",
        "composed",
    )
    assert (recorded["hasAudio"], recorded["hasVideo"]) == (False, True)
    shown = stack.get(f"/archive/{archive['id']}").json()
    for answer in (archive, shown):
        assert answer["resolution"] == PORTRAIT_FHD
        assert answer["streamMode"] == "manual"
        assert (answer["hasAudio"], answer["hasVideo"]) == (False, True)
        assert answer["layout"] == layout


def test_a_form_chooses_the_same_with_flat_fields(stack: Stack) -> None:
    session = stack.join()

    started = stack.post(
        "/archive/start",
        form={
            "sessionId": session["sessionId"],
            "resolution": "720x1280",
            "layout": "bestFit",
            "screenshareType": "pip",
            "hasVideo": "false",
        },
    )

    assert started.status == 200, started.body
    opentok_side = _at_opentok(stack, started.json()["id"])
    assert opentok_side["layout"] == {"type": "bestFit", "screenshareType": "pip"}
    assert opentok_side["archive"]["resolution"] == "720x1280"
    assert (opentok_side["archive"]["hasAudio"], opentok_side["archive"]["hasVideo"]) == (
        True,
        False,
    )
    assert started.json()["layout"] == {"type": "bestFit", "screenshareType": "pip"}


def test_without_choices_a_recording_is_composed_best_fit_and_takes_every_stream(
    stack: Stack,
) -> None:
    archive = stack.record()
    assert archive["layout"] == {"type": "bestFit"}
    assert (archive["outputMode"], archive["streamMode"]) == ("composed", "auto")
    assert _at_opentok(stack, archive["id"])["layout"] == {"type": "bestFit"}


def test_an_individual_recording_has_no_layout(stack: Stack) -> None:
    archive = stack.record(outputMode="individual")
    assert archive["layout"] is None
    assert _at_opentok(stack, archive["id"])["archive"]["outputMode"] == "individual"


# One case stands for the matrix of combinations OpenTok refuses, moved to the unit layer
# (tests/unit/test_start_requests.py).
@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"outputMode": "individual", "layout": "pip"}, ["layout", "individual"]),
    ],
)
def test_a_combination_opentok_refuses_is_a_400_naming_it_and_nothing_starts(
    stack: Stack, options: dict[str, Any], named: list[str]
) -> None:
    session = stack.join()
    before = _table(stack)
    stack.opentok.calls.clear()

    answer = stack.post("/archive/start", {"sessionId": session["sessionId"], **options})

    assert answer.status == 400, answer.body
    error = answer.json()["error"]
    for word in named:
        assert word in error, (word, error)
    assert stack.opentok.calls == []
    assert _archives_of(stack, session["sessionId"]) == []
    assert _table(stack) == before


def test_the_host_changes_the_layout_while_recording(stack: Stack) -> None:
    archive = stack.record(resolution="1280x720")

    changed = _put_layout(stack, archive, {"layout": "verticalPresentation"})

    assert changed.status == 200, changed.body
    assert changed.json()["layout"] == {"type": "verticalPresentation"}
    assert _at_opentok(stack, archive["id"])["layout"] == {"type": "verticalPresentation"}
    assert stack.get(f"/archive/{archive['id']}").json()["layout"] == {
        "type": "verticalPresentation"
    }
    custom = {"type": "custom", "stylesheet": STYLESHEET}
    assert _put_layout(stack, archive, {"layout": custom}).status == 200
    assert _at_opentok(stack, archive["id"])["layout"] == custom


def test_a_form_changes_the_layout_too(stack: Stack) -> None:
    archive = stack.record()
    answer = stack.api.request(
        "PUT",
        f"/archive/{archive['id']}/layout",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            **_host(stack, archive["sessionId"]),
        },
        body=b"layout=bestFit&screenshareType=horizontalPresentation",
    )
    assert answer.status == 200, answer.body
    assert _at_opentok(stack, archive["id"])["layout"] == {
        "type": "bestFit",
        "screenshareType": "horizontalPresentation",
    }


# One case stands for the matrix of refused layouts, moved to the unit layer
# (tests/unit/test_recording_changes.py).
@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"layout": "custom"}, ["stylesheet"]),
    ],
)
def test_a_layout_opentok_refuses_is_a_400_and_nothing_changes(
    stack: Stack, body: dict[str, Any], named: list[str]
) -> None:
    archive = stack.record(layout="pip")
    stack.opentok.calls.clear()

    answer = _put_layout(stack, archive, body)

    assert answer.status == 400
    assert all(word in answer.json()["error"] for word in named), answer.body
    assert stack.opentok.calls == []
    assert _at_opentok(stack, archive["id"])["layout"] == {"type": "pip"}
    assert stack.get(f"/archive/{archive['id']}").json()["layout"] == {"type": "pip"}


def test_the_layout_of_an_individual_or_ended_recording_cannot_change(stack: Stack) -> None:
    individual = stack.record("individual-room", outputMode="individual")
    answer = _put_layout(stack, individual, {"layout": "pip"})
    assert answer.status == 409
    assert "individual" in answer.json()["error"]

    ended = stack.record()
    assert stack.post(f"/archive/{ended['id']}/stop").status == 200
    stack.opentok.calls.clear()
    answer = _put_layout(stack, ended, {"layout": "pip"})
    assert answer.status == 409
    assert "ended" in answer.json()["error"]
    assert stack.opentok.calls == []
    assert _at_opentok(stack, ended["id"])["layout"] == {"type": "bestFit"}


@pytest.mark.parametrize("opentok_answers", [409, 404])
def test_a_layout_change_after_opentok_stopped_the_recording_is_a_409_unverified(
    stack: Stack, opentok_answers: int
) -> None:
    """Our record still says recording (OpenTok's stop callback was lost); OpenTok refuses the
    change. What it answers is sourced nowhere: SPEC's PUT layout lists 200, 400 and 403 only,
    PY raises RequestError(status) and RUBYLIB/JAVA a generic error for any other status. Its
    409 for a stopped archive (as stop and PATCH .../streams answer), or its 404 (the archive not
    found as one recording), is the host's 409, saying the recording has ended, and our record
    takes OpenTok's status, as the page then shows."""
    archive = stack.record()
    stack.opentok.faults.drop_callbacks(times=10)  # the stop's, and the upload's after it
    stack.sdk().stop_archive(archive["id"])
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "started"
    if opentok_answers == 404:
        stack.opentok.faults.fail("PUT", "/layout$", 404)

    answer = _put_layout(stack, archive, {"layout": "pip"})

    assert answer.status == 409, answer.body
    assert "ended" in answer.json()["error"]
    assert ("PUT", f"/v2/project/{stack.opentok.api_key}/archive/{archive['id']}/layout") in (
        stack.opentok.calls
    )
    assert _at_opentok(stack, archive["id"])["layout"] == {"type": "bestFit"}
    shown = stack.get(f"/archive/{archive['id']}").json()
    assert shown["status"] in ("stopped", "uploaded")  # by now OpenTok may have uploaded it
    assert shown["layout"] == {"type": "bestFit"}


def test_a_layout_change_for_a_recording_opentok_does_not_know_is_a_404_unverified(
    stack: Stack,
) -> None:
    """OpenTok answers the change 404, and then its GET of the archive too (contract §5: 404
    for an unknown archive): the host's 404 says OpenTok does not know the recording; nothing
    changes. The layout's 404 itself is sourced nowhere (see above)."""
    archive = stack.record()
    stack.opentok.faults.fail("PUT", "/layout$", 404)
    stack.opentok.faults.fail("GET", f"/archive/{archive['id']}$", 404)

    answer = _put_layout(stack, archive, {"layout": "pip"})

    assert answer.status == 404, answer.body
    assert "OpenTok does not know" in answer.json()["error"]
    assert _at_opentok(stack, archive["id"])["layout"] == {"type": "bestFit"}
    shown = stack.get(f"/archive/{archive['id']}").json()
    assert (shown["status"], shown["layout"]) == ("started", {"type": "bestFit"})


@REAL_TIME
def test_only_the_rooms_host_changes_layout_or_streams(stack: Stack) -> None:
    participant = stack.join("standup", host=False)  # first: see below
    archive = stack.record(streamMode="manual")
    other_host = stack.join("other-room")
    before = _table(stack)
    refused = {
        "no credential": ({}, 401),
        "a participant's token": ({"authorization": f"Bearer {participant['token']}"}, 403),
        "another room's host": ({"authorization": f"Bearer {other_host['token']}"}, 403),
    }
    for name, (headers, status) in refused.items():
        layout = _put_layout(stack, archive, {"layout": "pip"}, headers=headers)
        streams = _streams(stack, archive, {"addStream": participant["streamId"]}, headers)
        assert (layout.status, streams.status) == (status, status), name
        assert layout.json()["error"] and streams.json()["error"], name
    assert _at_opentok(stack, archive["id"])["layout"] == {"type": "bestFit"}
    assert stack.sdk().get_archive(archive["id"]).streams == []
    assert _table(stack) == before


@REAL_TIME
def test_the_host_adds_and_removes_streams_of_a_manual_recording(stack: Stack) -> None:
    # The guest first: a manual recording that holds no stream stops a minute after its
    # start (contract §6), 0.2 s on the emulator's fast clock.
    guest = stack.join("standup", host=False)
    archive = stack.record(streamMode="manual")
    assert stack.sdk().get_archive(archive["id"]).streams == []

    added = _streams(stack, archive, {"addStream": guest["streamId"], "hasVideo": False})

    assert added.status == 200, added.body
    expected = [{"streamId": guest["streamId"], "hasAudio": True, "hasVideo": False}]
    assert added.json()["streams"] == expected
    assert stack.sdk().get_archive(archive["id"]).streams == expected
    removed = stack.post(
        f"/archive/{archive['id']}/streams",
        form={"removeStream": guest["streamId"]},
        headers=_host(stack, archive["sessionId"]),
    )
    assert removed.status == 200, removed.body
    assert removed.json()["streams"] == []
    assert stack.sdk().get_archive(archive["id"]).streams == []


# The 400s' matrix is in the unit layer (tests/unit/test_recording_changes.py); one stands
# for it here, on the guest's real stream, beside OpenTok's 404 for a stream it does not know.
@REAL_TIME
@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({"addStream": "STREAM", "hasAudio": False, "hasVideo": False}, 400, ["hasAudio"]),
        ({"addStream": "2c9f1d5e-3811-4726-b508-e41a0f96c68f"}, 404, ["OpenTok"]),
    ],
)
def test_a_stream_change_opentok_refuses_changes_nothing(
    stack: Stack, body: dict[str, Any], status: int, named: list[str]
) -> None:
    guest = stack.join("standup", host=False)  # first: see the test above
    archive = stack.record(streamMode="manual")
    body = {name: guest["streamId"] if value == "STREAM" else value for name, value in body.items()}

    answer = _streams(stack, archive, body)

    assert answer.status == status, answer.body
    assert all(word in answer.json()["error"] for word in named), answer.body
    assert stack.sdk().get_archive(archive["id"]).streams == []


def test_streams_of_an_auto_or_ended_recording_cannot_be_chosen(stack: Stack) -> None:
    automatic = stack.record()
    stack.opentok.calls.clear()
    answer = _streams(stack, automatic, {"addStream": stack.join(host=False)["streamId"]})
    assert answer.status == 409
    assert "streamMode" in answer.json()["error"]

    manual = stack.record("manual-room", streamMode="manual")
    assert stack.post(f"/archive/{manual['id']}/stop").status == 200
    answer = _streams(stack, manual, {"removeStream": stack.join("manual-room")["streamId"]})
    assert answer.status == 409
    assert "ended" in answer.json()["error"]
    assert not any(method == "PATCH" for method, _ in stack.opentok.calls)
