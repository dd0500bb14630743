"""The emulator's own surface, driven through the real opentok SDK and plain HTTP.

What is the emulator's and not OpenTok's: the `/_emulator/...` routes the stand-in OpenTok.js
page uses (connections, streams, event streams, CORS for pages, the downloads of the media it
makes), its faults, its knobs (time scale, processing delay, callback URL), its record of REST
calls and its command line; and the few answers of its REST API for which the contract names
no public source (marked so below).

What the real OpenTok REST API does is tested once, in contract/: one file per section of the
contract (opentok-rest-contract.md), each case citing its public source. A REST behaviour with
a source belongs there, not here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import jwt
import opentok
import pytest
import requests

from local.opentok import ApiError, OpenTokEmulator
from local.opentok import auth as emulator_auth
from local.opentok.server import wait_for
from tests.support.opentok import (
    ARCHIVE_FIELDS,
    KEY,
    ROOT,
    SECRET,
    CallbackReceiver,
    EventReader,
    archive_url,
    join,
    join_publishing,
    project_headers,
    routed_session,
    wait_status,
)
from tests.support.waiting import free_port

# REST answers the contract has no public source for: the emulator's choice


def test_session_ids_are_unique(ot):
    """Their form is the contract's (contract/test_sessions.py); that each is new is ours."""
    assert len({routed_session(ot) for _ in range(5)}) == 5


@pytest.mark.parametrize(
    "form",
    [
        {"p2p.preference": "enabled", "archiveMode": "always"},
        {"p2p.preference": "sideways"},
        {"archiveMode": "sometimes"},
        {"p2p.preference": "disabled", "archiveMode": "manual", "archiveName": "x"},
        {"p2p.preference": "disabled", "archiveMode": "always", "archiveResolution": "1x1"},
        {"p2p.preference": "disabled", "location": "not-an-ip"},
    ],
)
def test_create_session_rejects_bad_options(emu, form):
    """Contract §2 names the options but no answer to bad ones: taken as 400, code -1."""
    response = requests.post(f"{emu.url}/session/create", data=form, headers=project_headers())

    assert response.status_code == 400
    assert response.json()["code"] == -1


@pytest.mark.parametrize(
    "body",
    [
        {"sessionId": "S", "outputMode": "mosaic"},
        {"sessionId": "S", "hasAudio": "yes"},
        {"sessionId": "S", "maxBitrate": 5},
        ["not", "an", "object"],
    ],
)
def test_start_archive_rejects_bad_bodies(emu, ot, body):
    """Beyond contract §5's start 400s (contract/test_errors.py, test_options.py): a bad
    outputMode, a field of the wrong type, a body that is not an object."""
    session_id = routed_session(ot)
    join(emu, ot, session_id)
    if isinstance(body, dict) and body.get("sessionId") == "S":
        body["sessionId"] = session_id

    response = requests.post(archive_url(emu), json=body, headers=project_headers())

    assert response.status_code == 400
    assert response.json()["code"] == -1


def test_a_negative_list_offset_is_400(emu):
    response = requests.get(archive_url(emu, "?offset=-1"), headers=project_headers())

    assert (response.status_code, response.json()["code"]) == (400, -1)


def test_unknown_routes_and_methods_answer_json(emu):
    unknown = requests.get(f"{emu.url}/v2/nothing/here", headers=project_headers())
    wrong_method = requests.patch(archive_url(emu), headers=project_headers())
    odd_method = requests.request("BREW", archive_url(emu))

    assert (unknown.status_code, unknown.json()["code"]) == (404, -1)
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, -1)
    assert "GET" in wrong_method.headers["Allow"]
    assert odd_method.status_code == 405
    assert odd_method.headers["Content-Type"] == "application/json"


def test_the_archive_json_has_no_field_of_the_emulators_own(emu, ot):
    """Contract §3 lets OpenTok add fields (contract/test_archive_json.py checks each one);
    the emulator adds none: what is its own, such as the layout, is at /_emulator/archives."""
    session_id = routed_session(ot)
    join_publishing(emu, ot, session_id)
    archive = ot.start_archive(session_id)

    raw = requests.get(archive_url(emu, f"/{archive.id}"), headers=project_headers()).json()

    assert set(raw) == ARCHIVE_FIELDS


def test_an_always_archived_session_starts_recording_with_its_first_stream(emu, ot):
    """Contract §6 says automatic archives roll over (contract/test_lifecycle.py), not when the
    first one starts: here, when someone first publishes."""
    session_id = routed_session(ot, archive_mode=opentok.ArchiveModes.always)
    connection = join(emu, ot, session_id)
    before = ot.get_archives(session_id=session_id).count
    requests.post(f"{emu.url}/_emulator/connections/{connection}/streams", json={"name": "me"})

    after = ot.get_archives(session_id=session_id)

    assert before == 0
    assert [archive.status for archive in after] == ["started"]


# The media it makes, and their downloads


def test_available_archive_is_served_with_signed_url_and_ranges(emu, ot):
    session_id = routed_session(ot)
    join_publishing(emu, ot, session_id)
    archive = ot.start_archive(session_id)
    ot.stop_archive(archive.id)
    url = wait_status(emu, ot, archive.id, "available").url
    whole = requests.get(url)
    fixture = whole.content
    part = requests.get(url, headers={"Range": "bytes=4-11"})
    tail = requests.get(url, headers={"Range": "bytes=-10"})
    beyond = requests.get(url, headers={"Range": f"bytes={len(fixture)}-"})
    tampered = requests.get(url[:-4] + "0000")
    expired_at = int(time.time()) - 1
    signature = emulator_auth.sign_download(archive.id, expired_at, SECRET)
    expired = requests.get(url.split("?")[0] + f"?expires={expired_at}&signature={signature}")

    assert url.startswith(f"{emu.url}/_emulator/archives/{archive.id}/archive.mp4?")
    assert whole.status_code == 200
    assert whole.headers["Content-Type"] == "video/mp4"
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert int(whole.headers["Content-Length"]) == len(fixture)
    assert part.status_code == 206
    assert part.content == b"ftypisom"
    assert part.headers["Content-Range"] == f"bytes 4-11/{len(fixture)}"
    assert tail.content == fixture[-10:]
    assert beyond.status_code == 416
    assert tampered.status_code == 403
    assert expired.status_code == 403
    assert requests.get(ot.get_archive(archive.id).url).status_code == 200  # freshly signed


# Its record of REST calls


def test_calls_lists_rest_requests_only(emu, ot):
    session_id = routed_session(ot)
    join_publishing(emu, ot, session_id)
    requests.get(f"{emu.url}/_emulator/health")
    archive = ot.start_archive(session_id)

    assert emu.calls == [
        ("POST", "/session/create"),
        ("POST", f"/v2/project/{KEY}/archive"),
    ]
    ot.get_archives(session_id=session_id)
    assert emu.calls[-1] == ("GET", f"/v2/project/{KEY}/archive")
    assert archive.id


# Clients, streams and event streams: the stand-in OpenTok.js page's routes


def test_events_reach_other_connections(emu, ot):
    session_id = routed_session(ot)
    watcher = join(emu, ot, session_id)
    reader = EventReader(emu, watcher)
    try:
        assert reader.response.status == 200
        assert reader.response.getheader("Content-Type") == "text/event-stream"
        assert reader.response.getheader("Access-Control-Allow-Origin") == "*"
        publisher = join(emu, ot, session_id, data="name=bob")
        created = requests.post(
            f"{emu.url}/_emulator/connections/{publisher}/streams",
            json={"name": "bob", "hasAudio": True, "hasVideo": False},
        )
        stream_id = created.json()["streamId"]
        archive = ot.start_archive(session_id, name="talk")
        ot.stop_archive(archive.id)
        requests.delete(f"{emu.url}/_emulator/connections/{publisher}/streams/{stream_id}")
        emu.disconnect(publisher)

        joined = reader.next("connectionCreated")
        stream = reader.next("streamCreated")["stream"]
        started = reader.next("archiveStarted")
        stopped = reader.next("archiveStopped")
        destroyed = reader.next("streamDestroyed")["stream"]
        left = reader.next("connectionDestroyed")
    finally:
        reader.close()

    assert created.status_code == 201
    assert joined["connection"]["connectionId"] == publisher
    assert joined["connection"]["data"] == "name=bob"
    assert stream["streamId"] == stream_id
    assert (stream["connectionId"], stream["name"]) == (publisher, "bob")
    assert (stream["hasAudio"], stream["hasVideo"]) == (True, False)
    assert started == stopped == {"id": archive.id, "name": "talk"}
    assert destroyed["streamId"] == stream_id
    assert left["connection"]["connectionId"] == publisher


def test_event_stream_starts_with_current_state_and_ends_on_disconnect(emu, ot):
    session_id = routed_session(ot)
    publisher = join(emu, ot, session_id)
    requests.post(f"{emu.url}/_emulator/connections/{publisher}/streams", json={"name": "cam"})
    archive = ot.start_archive(session_id)
    late = join(emu, ot, session_id)
    reader = EventReader(emu, late)
    try:
        stream = reader.next("streamCreated")["stream"]
        started = reader.next("archiveStarted")
        gone = requests.delete(f"{emu.url}/_emulator/connections/{late}")
        reader.next("sessionDisconnected")
        assert reader.ended.wait(5)
    finally:
        reader.close()

    assert stream["name"] == "cam"
    assert started["id"] == archive.id
    assert gone.status_code == 204


def test_client_routes_check_tokens_and_roles(emu, ot):
    session_id = routed_session(ot)
    other = routed_session(ot)
    connections = f"{emu.url}/_emulator/sessions/{session_id}/connections"
    now = int(time.time())
    expired = jwt.encode(
        {
            "session_id": session_id,
            "scope": "session.connect",
            "role": "publisher",
            "iss": KEY,
            "ist": "project",
            "iat": now - 100,
            "exp": now - 10,
        },
        SECRET,
        algorithm="HS256",
    )
    unknown = emulator_auth.new_session_id(KEY)

    preflight = requests.options(connections, headers={"Origin": "http://127.0.0.1:9"})
    garbage = requests.post(connections, json={"token": "nope"})
    wrong_session = requests.post(connections, json={"token": ot.generate_token(other)})
    too_late = requests.post(connections, json={"token": expired})
    missing = requests.post(
        f"{emu.url}/_emulator/sessions/{unknown}/connections",
        json={"token": ot.generate_token(unknown)},
    )
    viewer = requests.post(
        connections, json={"token": ot.generate_token(session_id, role=opentok.Roles.subscriber)}
    )
    publish = requests.post(
        f"{emu.url}/_emulator/connections/{viewer.json()['connectionId']}/streams", json={}
    )
    legacy = requests.post(
        connections, json={"token": ot.generate_token(session_id, use_jwt=False)}
    )

    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert [r.status_code for r in (garbage, wrong_session, too_late)] == [403, 403, 403]
    assert missing.status_code == 404
    assert viewer.status_code == 201
    assert viewer.json()["role"] == "subscriber"
    assert viewer.headers["Access-Control-Allow-Origin"] == "*"
    assert publish.status_code == 403
    assert legacy.status_code == 201
    with pytest.raises(ApiError):
        emu.connect(session_id, "nope")


def rtc(emu, sender: str, body: object) -> requests.Response:
    return requests.post(f"{emu.url}/_emulator/connections/{sender}/rtc", json=body)


def test_rtc_messages_reach_only_the_connection_they_are_to_from_their_sender(emu, ot):
    """WebRTC signalling between two pages: relayed as it came, to the one connection named."""
    session_id = routed_session(ot)
    sender, chosen, other = (join(emu, ot, session_id) for _ in range(3))
    chosen_reader, other_reader = EventReader(emu, chosen), EventReader(emu, other)
    offer = {"type": "offer", "subscriberId": "s1", "description": {"type": "offer", "sdp": "v=0"}}
    try:
        sent = rtc(emu, sender, {"to": chosen, "data": offer})
        rtc(emu, sender, {"to": other, "data": {"type": "bye"}})
        to_chosen = chosen_reader.next("rtc")
        to_other = other_reader.next("rtc")
    finally:
        chosen_reader.close()
        other_reader.close()

    assert sent.status_code == 204
    assert sent.headers["Access-Control-Allow-Origin"] == "*"
    assert to_chosen == {"from": sender, "data": offer}
    assert to_other == {"from": sender, "data": {"type": "bye"}}  # the offer never came here


@pytest.mark.parametrize(
    "body",
    [
        ["not", "an", "object"],
        {"data": {}},
        {"to": 5, "data": {}},
        {"to": "", "data": {}},
        {"to": "CHOSEN"},
        {"to": "CHOSEN", "data": "not an object"},
        {"to": "CHOSEN", "data": ["not", "an", "object"]},
    ],
)
def test_an_rtc_message_that_is_not_a_to_and_an_object_is_400(emu, ot, body):
    session_id = routed_session(ot)
    sender, chosen = join(emu, ot, session_id), join(emu, ot, session_id)
    if isinstance(body, dict) and body.get("to") == "CHOSEN":
        body = {**body, "to": chosen}
    reader = EventReader(emu, chosen)
    try:
        refused = rtc(emu, sender, body)
        rtc(emu, sender, {"to": chosen, "data": {"type": "after"}})
        delivered = reader.next("rtc")
    finally:
        reader.close()

    assert refused.status_code == 400
    assert refused.json()["code"] == -1
    assert delivered["data"] == {"type": "after"}  # the refused one was not delivered


def test_an_rtc_message_from_or_to_a_stranger_is_404(emu, ot):
    session_id, other_session = routed_session(ot), routed_session(ot)
    sender, chosen = join(emu, ot, session_id), join(emu, ot, session_id)
    elsewhere = join(emu, ot, other_session)
    left = join(emu, ot, session_id)
    emu.disconnect(left)
    message = {"type": "offer"}

    answers = {
        "unknown sender": rtc(emu, "no-such-connection", {"to": chosen, "data": message}),
        "sender who left": rtc(emu, left, {"to": chosen, "data": message}),
        "to another session": rtc(emu, sender, {"to": elsewhere, "data": message}),
        "to nobody": rtc(emu, sender, {"to": "no-such-connection", "data": message}),
        "to one who left": rtc(emu, sender, {"to": left, "data": message}),
    }

    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 404)
    assert all(a.json()["message"].startswith("Not found.") for a in answers.values())
    assert emu.state.connections[elsewhere].events.empty()  # nothing crossed sessions


def test_an_rtc_message_sent_before_the_event_stream_opens_still_reaches_it(emu, ot):
    """Like a signal (contract/test_signals.py): a message, not state, kept for the stream."""
    session_id = routed_session(ot)
    sender, late = join(emu, ot, session_id), join(emu, ot, session_id)
    rtc(emu, sender, {"to": late, "data": {"type": "early"}})
    reader = EventReader(emu, late)
    try:
        assert reader.next("rtc") == {"from": sender, "data": {"type": "early"}}
    finally:
        reader.close()


def test_a_vanished_event_client_is_disconnected():
    with OpenTokEmulator(KEY, SECRET, keepalive_interval=0.05) as emu:
        ot = opentok.Client(KEY, SECRET, api_url=emu.url)
        session_id = routed_session(ot)
        connection = join(emu, ot, session_id)
        reader = EventReader(emu, connection)
        reader.response.close()
        reader.close()

        emu.wait_for(lambda: connection not in emu.state.connections)


def test_stop_ends_open_event_streams_promptly(ot, emu):
    session_id = routed_session(ot)
    reader = EventReader(emu, join(emu, ot, session_id))
    began = time.monotonic()

    emu.stop()

    assert reader.ended.wait(5)
    assert time.monotonic() - began < 3
    reader.close()


# Its command line


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_command_line_runs_until_signalled(signal_number):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "local.opentok",
        "--port",
        str(port),
        "--api-key",
        KEY,
        "--api-secret",
        SECRET,
        "--time-scale",
        "60",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:

        def healthy() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/_emulator/health").ok
            except requests.ConnectionError:
                return False

        wait_for(healthy, timeout=10)
        process.send_signal(signal_number)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0
    assert "Traceback" not in stderr
    assert "listening on" in stderr


# Faults


def test_an_injected_failure_answers_its_status_once_and_does_nothing(emu, ot):
    session_id = routed_session(ot)
    join_publishing(emu, ot, session_id)
    emu.faults.fail("POST", r"/archive$", 503)
    with pytest.raises(opentok.exceptions.OpenTokException):
        ot.start_archive(session_id)
    assert list(ot.list_archives(session_id=session_id)) == []
    assert ot.start_archive(session_id).status == "started"  # used up


def test_an_injected_answer_replaces_the_success_once_and_the_work_is_done(emu, ot):
    routed_session(ot)
    emu.faults.answer("POST", r"/session/create$", 204)
    answered = requests.post(
        f"{emu.url}/session/create", data={"p2p.preference": "disabled"}, headers=project_headers()
    )
    assert (answered.status_code, answered.content) == (204, b"")
    assert len(emu.state.sessions) == 2  # created all the same
    assert ot.create_session().session_id  # used up: the real answer again
    refused = requests.post(f"{emu.url}/session/create", data={"archiveMode": "x"})
    assert refused.status_code == 403  # an error is never replaced


def test_an_injected_delay_answers_late_but_does_the_work(emu, ot):
    session_id = routed_session(ot)
    join_publishing(emu, ot, session_id)
    emu.faults.delay("POST", r"/archive$", seconds=1.0)
    ot.timeout = 0.3
    with pytest.raises(requests.Timeout):
        ot.start_archive(session_id)
    ot.timeout = 5
    archives = emu.wait_for(lambda: list(ot.list_archives(session_id=session_id)), timeout=5)
    assert [archive.status for archive in archives] == ["started"]


def test_faults_are_set_listed_and_cleared_over_http(emu):
    url = f"{emu.url}/_emulator/faults"
    added = requests.post(url, json={"kind": "drop-callback", "times": 2}, timeout=5)
    assert added.status_code == 201
    assert requests.get(url, timeout=5).json()["faults"][0]["times"] == 2
    for bad in ({"kind": "explode"}, {"kind": "fail", "status": 200}, {"kind": "delay"}, [1]):
        answer = requests.post(url, json=bad, timeout=5)
        assert answer.status_code == 400, bad
    assert requests.delete(url, timeout=5).status_code == 204
    assert requests.get(url, timeout=5).json()["faults"] == []


def test_dropped_callbacks_are_never_sent_and_the_rest_are(emu, ot):
    receiver = CallbackReceiver()
    try:
        emu.callback_url = receiver.url
        emu.faults.drop_callbacks(times=2)  # "started" and "stopped"
        session_id = routed_session(ot)
        join_publishing(emu, ot, session_id)
        archive = ot.start_archive(session_id)
        ot.stop_archive(archive.id)
        emu.wait_for(lambda: receiver.statuses(archive.id) == ["available"])
    finally:
        receiver.close()
