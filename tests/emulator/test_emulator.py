"""The OpenTok emulator, driven through the real opentok SDK and plain HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import boto3
import jwt
import opentok
import pytest
import requests
from moto import mock_aws
from opentok.exceptions import ArchiveError, AuthError, NotFoundError, RequestError

from local.emulator import ApiError, OpenTokEmulator
from local.emulator import auth as emulator_auth
from local.emulator.media import RECORDING_PATH
from local.emulator.server import wait_for
from tests.conftest import free_port
from tests.contract.support import (
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

# Sessions


def test_session_ids_are_unique_and_belong_to_the_key(ot):
    ids = {routed_session(ot) for _ in range(5)}

    assert len(ids) == 5
    for session_id in ids:
        assert emulator_auth.is_well_formed_session_id(session_id)


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
    response = requests.post(f"{emu.url}/session/create", data=form, headers=project_headers())

    assert response.status_code == 400
    assert response.json()["code"] == -1


# Archives through the SDK


def test_archive_lifecycle_without_upload_target(emu, ot):
    session_id = routed_session(ot)
    join_publishing(emu, ot, session_id)

    archive = ot.start_archive(session_id, name="first")
    raw = requests.get(archive_url(emu, f"/{archive.id}"), headers=project_headers()).json()
    stopped = ot.stop_archive(archive.id)
    available = wait_status(emu, ot, archive.id, "available")

    assert archive.status == "started"
    assert archive.name == "first"
    assert archive.session_id == session_id
    assert archive.url is None
    assert set(raw) == ARCHIVE_FIELDS
    assert raw["projectId"] == raw["partnerId"] == int(KEY)
    assert isinstance(raw["createdAt"], int)
    assert raw["resolution"] == "640x480"
    assert (raw["duration"], raw["size"], raw["streams"]) == (0, 0, [])
    assert stopped.status == "stopped"
    assert stopped.url is None
    assert available.size == RECORDING_PATH.stat().st_size
    assert available.url.startswith(f"{emu.url}/_emulator/archives/{archive.id}/archive.mp4?")


def test_available_archive_is_served_with_signed_url_and_ranges(emu, ot):
    session_id = routed_session(ot)
    join_publishing(emu, ot, session_id)
    archive = ot.start_archive(session_id)
    ot.stop_archive(archive.id)
    url = wait_status(emu, ot, archive.id, "available").url
    fixture = RECORDING_PATH.read_bytes()

    whole = requests.get(url)
    part = requests.get(url, headers={"Range": "bytes=4-11"})
    tail = requests.get(url, headers={"Range": "bytes=-10"})
    beyond = requests.get(url, headers={"Range": f"bytes={len(fixture)}-"})
    tampered = requests.get(url[:-4] + "0000")
    expired_at = int(time.time()) - 1
    signature = emulator_auth.sign_download(archive.id, expired_at, SECRET)
    expired = requests.get(url.split("?")[0] + f"?expires={expired_at}&signature={signature}")

    assert whole.status_code == 200
    assert whole.headers["Content-Type"] == "video/mp4"
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert int(whole.headers["Content-Length"]) == len(fixture)
    assert whole.content == fixture
    assert part.status_code == 206
    assert part.content == b"ftypisom"
    assert part.headers["Content-Range"] == f"bytes 4-11/{len(fixture)}"
    assert tail.content == fixture[-10:]
    assert beyond.status_code == 416
    assert tampered.status_code == 403
    assert expired.status_code == 403
    assert requests.get(ot.get_archive(archive.id).url).status_code == 200  # freshly signed


def test_list_archives_newest_first_with_paging_and_session_filter(emu, ot):
    first, second = routed_session(ot), routed_session(ot)
    join_publishing(emu, ot, first)
    join_publishing(emu, ot, second)
    older = ot.start_archive(first, name="older")
    ot.stop_archive(older.id)
    newer = ot.start_archive(second, name="newer")

    everything = ot.get_archives()
    page = ot.get_archives(offset=1, count=1)
    only_first = ot.get_archives(session_id=first)
    bad = requests.get(archive_url(emu, "?offset=-1"), headers=project_headers())

    assert everything.count == 2
    assert [a.id for a in everything] == [newer.id, older.id]
    assert page.count == 2
    assert [a.id for a in page] == [older.id]
    assert [a.id for a in only_first] == [older.id]
    assert bad.status_code == 400


def test_delete_archive_rules(emu, ot):
    session_id = routed_session(ot)
    join_publishing(emu, ot, session_id)
    archive = ot.start_archive(session_id)

    while_recording = requests.delete(archive_url(emu, f"/{archive.id}"), headers=project_headers())
    ot.stop_archive(archive.id)
    wait_status(emu, ot, archive.id, "available")
    ot.delete_archive(archive.id)

    assert while_recording.status_code == 409
    assert while_recording.json()["code"] == 15004
    # Kept as deleted, so deleting again succeeds (tests/contract/test_errors.py says why).
    assert ot.get_archive(archive.id).status == "deleted"
    ot.delete_archive(archive.id)


def test_start_archive_errors(emu, ot):
    lonely = routed_session(ot)
    relayed = ot.create_session().session_id
    busy = routed_session(ot)
    join(emu, ot, relayed)
    join_publishing(emu, ot, busy)
    unknown = emulator_auth.new_session_id(KEY)

    with pytest.raises(NotFoundError):
        ot.start_archive(lonely)
    with pytest.raises(ArchiveError, match="routed"):
        ot.start_archive(relayed)
    with pytest.raises(NotFoundError):
        ot.start_archive(unknown)
    with pytest.raises(RequestError):
        ot.start_archive("not a session id")
    with pytest.raises(RequestError):
        ot.start_archive(busy, resolution="123x456")
    with pytest.raises(RequestError):
        ot.start_archive(busy, has_audio=False, has_video=False)
    first = ot.start_archive(busy)
    with pytest.raises(ArchiveError):
        ot.start_archive(busy)
    tagged = ot.start_archive(busy, multi_archive_tag="second")
    assert first.status == tagged.status == "started"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"sessionId": 42},
        {"sessionId": "S", "outputMode": "individual", "resolution": "640x480"},
        {"sessionId": "S", "outputMode": "mosaic"},
        {"sessionId": "S", "hasAudio": "yes"},
        {"sessionId": "S", "maxBitrate": 5},
        ["not", "an", "object"],
    ],
)
def test_start_archive_rejects_bad_bodies(emu, ot, body):
    session_id = routed_session(ot)
    join(emu, ot, session_id)
    if isinstance(body, dict) and body.get("sessionId") == "S":
        body["sessionId"] = session_id

    response = requests.post(archive_url(emu), json=body, headers=project_headers())

    assert response.status_code == 400
    assert response.json()["code"] == -1


def test_stop_archive_errors(emu, ot):
    session_id = routed_session(ot)
    join_publishing(emu, ot, session_id)
    archive = ot.start_archive(session_id)

    first = requests.post(archive_url(emu, f"/{archive.id}/stop"), headers=project_headers())
    again = requests.post(archive_url(emu, f"/{archive.id}/stop"), headers=project_headers())

    assert first.status_code == 200
    assert (first.json()["status"], first.json()["reason"]) == ("stopped", "user initiated")
    assert isinstance(first.json()["duration"], int)
    assert again.status_code == 409
    assert again.json()["code"] == 15002
    with pytest.raises(ArchiveError):
        ot.stop_archive(archive.id)
    with pytest.raises(NotFoundError):
        ot.stop_archive("00000000-0000-4000-8000-000000000000")


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


# Auth and HTTP hygiene


def test_wrong_secret_is_an_auth_error(emu):
    impostor = opentok.Client(KEY, "f" * 40, api_url=emu.url)

    # The SDK wraps create_session's AuthError in a RequestError.
    with pytest.raises(RequestError, match="invalid credentials"):
        impostor.create_session()
    with pytest.raises(AuthError):
        impostor.get_archives()


# Built when the test runs, so only the flaw under test can make the JWT invalid.
BAD_PROJECT_HEADERS = {
    "missing": lambda: {},
    "garbage": lambda: {"X-OPENTOK-AUTH": "not-a-jwt"},
    "expired": lambda: project_headers(exp=int(time.time()) - 5, iat=int(time.time()) - 300),
    "other-issuer": lambda: project_headers(iss="654321"),
    "wrong-ist": lambda: project_headers(ist="account"),
    "wrong-secret": lambda: {
        "X-OPENTOK-AUTH": jwt.encode(
            {"iss": KEY, "ist": "project", "exp": int(time.time()) + 60}, "x" * 40
        )
    },
    "no-exp": lambda: {
        "X-OPENTOK-AUTH": jwt.encode({"iss": KEY, "ist": "project"}, SECRET, algorithm="HS256")
    },
}


@pytest.mark.parametrize("flaw", BAD_PROJECT_HEADERS)
def test_bad_project_jwt_is_403(emu, flaw):
    response = requests.get(archive_url(emu), headers=BAD_PROJECT_HEADERS[flaw]())

    assert response.status_code == 403
    assert response.json()["code"] == -1
    assert response.json()["message"]


def test_api_key_in_path_must_match(emu):
    response = requests.get(f"{emu.url}/v2/project/999999/archive", headers=project_headers())

    assert response.status_code == 403


def test_unknown_routes_methods_and_bodies_answer_json(emu):
    unknown = requests.get(f"{emu.url}/v2/nothing/here", headers=project_headers())
    wrong_method = requests.patch(archive_url(emu), headers=project_headers())
    odd_method = requests.request("BREW", archive_url(emu))
    malformed = requests.post(
        archive_url(emu),
        data=b"{not json",
        headers={**project_headers(), "Content-Type": "application/json"},
    )

    assert (unknown.status_code, unknown.json()["code"]) == (404, -1)
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, -1)
    assert "GET" in wrong_method.headers["Allow"]
    assert odd_method.status_code == 405
    assert odd_method.headers["Content-Type"] == "application/json"
    assert (malformed.status_code, malformed.json()["code"]) == (400, -1)
    assert "Traceback" not in malformed.text


# Upload target


def test_storage_settings_are_echoed_masked(emu):
    settings = {
        "type": "s3",
        "config": {"accessKey": "AK", "secretKey": "very-secret", "bucket": "b"},
        "fallback": "opentok",
    }

    put = requests.put(archive_url(emu, "/storage"), json=settings, headers=project_headers())
    got = requests.get(archive_url(emu, "/storage"), headers=project_headers())
    malformed = requests.put(
        archive_url(emu, "/storage"), json={"type": "s3"}, headers=project_headers()
    )
    deleted = requests.delete(archive_url(emu, "/storage"), headers=project_headers())
    gone = requests.get(archive_url(emu, "/storage"), headers=project_headers())

    assert put.status_code == 200
    assert put.json()["config"]["bucket"] == "b"
    assert put.json()["fallback"] == "opentok"
    assert "very-secret" not in put.text
    assert got.json() == put.json()
    assert malformed.status_code == 400
    assert deleted.status_code == 204
    assert gone.status_code == 404


def set_storage(emu, bucket: str, fallback: str = "none") -> None:
    settings = {
        "type": "s3",
        "config": {"accessKey": "AKIAEXAMPLE", "secretKey": "secret", "bucket": bucket},
        "fallback": fallback,
    }
    response = requests.put(archive_url(emu, "/storage"), json=settings, headers=project_headers())
    assert response.status_code == 200


def test_composed_archive_is_uploaded_to_s3():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="recordings")
        with OpenTokEmulator(KEY, SECRET, processing_delay=0.05) as emu:
            ot = opentok.Client(KEY, SECRET, api_url=emu.url)
            set_storage(emu, "recordings")
            session_id = routed_session(ot)
            join_publishing(emu, ot, session_id)
            archive = ot.start_archive(session_id)
            ot.stop_archive(archive.id)

            uploaded = wait_status(emu, ot, archive.id, "uploaded")
            stored = s3.get_object(Bucket="recordings", Key=f"{KEY}/{archive.id}/archive.mp4")

        body = stored["Body"].read()
        assert body[4:8] == b"ftyp"
        assert stored["ContentType"] == "video/mp4"
        assert uploaded.size == len(body)
        assert uploaded.url is None


# Clients, events and automatic behaviour


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


def test_always_archived_session_records_automatically(emu, ot):
    session_id = routed_session(
        ot, archive_mode=opentok.ArchiveModes.always, archive_name="auto-recording"
    )
    connection = join(emu, ot, session_id)
    before = ot.get_archives(session_id=session_id).count
    requests.post(f"{emu.url}/_emulator/connections/{connection}/streams", json={"name": "me"})
    [archive] = ot.get_archives(session_id=session_id)
    requests.delete(f"{emu.url}/_emulator/connections/{connection}")

    available = wait_status(emu, ot, archive.id, "available")

    assert before == 0
    assert (archive.status, archive.name) == ("started", "auto-recording")
    assert available.name == "auto-recording"


def test_status_callbacks_are_posted(emu, ot):
    receiver = CallbackReceiver()
    try:
        emu.callback_url = receiver.url
        session_id = routed_session(ot)
        join_publishing(emu, ot, session_id)
        archive = ot.start_archive(session_id)
        ot.stop_archive(archive.id)

        emu.wait_for(lambda: receiver.statuses(archive.id) == ["started", "stopped", "available"])
    finally:
        receiver.close()

    assert all(b["event"] == "archive" for b in receiver.bodies)
    # The callback body has no download link (contract §9, CB): the link is read with GET.
    assert "url" not in receiver.bodies[-1]


def test_unreachable_callback_url_is_ignored():
    with OpenTokEmulator(
        KEY, SECRET, processing_delay=0.05, callback_url="http://127.0.0.1:9/nowhere"
    ) as emu:
        ot = opentok.Client(KEY, SECRET, api_url=emu.url)
        session_id = routed_session(ot)
        join_publishing(emu, ot, session_id)
        archive = ot.start_archive(session_id)
        ot.stop_archive(archive.id)

        assert wait_status(emu, ot, archive.id, "available")


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


def test_recording_fixture_is_a_small_mp4():
    data = RECORDING_PATH.read_bytes()

    assert data[4:8] == b"ftyp"
    assert b"moov" in data[:4096]  # faststart: the index comes before the media
    assert len(data) < 200_000


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_command_line_runs_until_signalled(signal_number):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "local.emulator",
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


# --- Faults ---------------------------------------------------------------------------


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
