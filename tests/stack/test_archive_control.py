"""POST /archive/start and POST /archive/{archiveId}/stop."""

import json
import socket
import threading
import uuid
from collections.abc import Iterator

import boto3
import opentok
import pytest
import requests

from local.opentok import ApiError
from tests.support.stack import API_KEY, Stack, eventually


def test_start_records_the_session_and_keeps_a_record(stack: Stack) -> None:
    session = stack.join()
    answer = stack.post(
        "/archive/start",
        {"sessionId": session["sessionId"], "name": "Kick-off", "resolution": "1280x720"},
    )
    assert answer.status == 200
    archive = answer.json()
    assert archive["status"] == "started"
    assert archive["sessionId"] == session["sessionId"]
    assert archive["resolution"] == "1280x720"
    assert archive["ready"] is False and archive["url"] is None
    assert stack.sdk().get_archive(archive["id"]).status == "started"
    assert stack.get(f"/archive/{archive['id']}").json()["name"] == "Kick-off"


def test_start_accepts_the_form_posts_of_older_sample_pages(stack: Stack) -> None:
    session = stack.join()
    answer = stack.post(
        "/archive/start", form={"sessionId": session["sessionId"], "hasVideo": "false"}
    )
    assert answer.status == 200
    assert answer.json()["hasVideo"] is False
    assert answer.json()["hasAudio"] is True


def test_a_double_click_on_start_answers_the_recording_under_way(stack: Stack) -> None:
    first = stack.record()
    again = stack.post("/archive/start", {"sessionId": first["sessionId"]})
    assert again.status == 200
    assert again.json()["id"] == first["id"]
    assert len(list(stack.sdk().list_archives(session_id=first["sessionId"]))) == 1


def test_start_with_nobody_connected_says_to_join_first(stack: Stack) -> None:
    """OpenTok answers 404 (SPEC), which the SDK turns into a bare "Session not found"."""
    session = stack.get("/room/empty").json()
    answer = stack.post("/archive/start", {"sessionId": session["sessionId"]})
    assert answer.status == 409
    assert "nobody is connected to the session yet" in answer.json()["error"]
    assert "join" in answer.json()["error"]
    assert list(stack.sdk().list_archives(session_id=session["sessionId"])) == []
    assert boto3.client("dynamodb").scan(TableName=stack.table)["Count"] == 1  # the room only


def test_start_with_nobody_connected_as_older_opentok_answered_it_says_the_same(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Older docs and SDKs give a 400 "No clients are actively connected..." (contract §5
    [conflict]: SPEC; PY's docstring; opentok/OpenTok-PHP-SDK issue #141): the emulator is
    made to answer that way here."""
    session = stack.get("/room/empty-older").json()

    def older_opentok(body: object) -> dict:
        raise ApiError(400, "No clients are actively connected to the OpenTok session.")

    monkeypatch.setattr(stack.opentok.state, "start_archive", older_opentok)
    answer = stack.post("/archive/start", {"sessionId": session["sessionId"]})
    assert answer.status == 409
    assert "nobody is connected to the session yet" in answer.json()["error"]


def test_start_for_a_session_opentok_does_not_know_says_the_same(stack: Stack) -> None:
    """OpenTok's 404 is one answer for both (SPEC), and the SDK drops its body."""
    unknown = "2_MX40NzAwMDAwMH5-MTcwMDAwMDAwMDAwMH5ub3RhcmVhbHNlc3Npb25-fg"
    answer = stack.post(
        "/archive/start", {"sessionId": unknown}, headers=stack.host_headers(unknown)
    )
    assert answer.status == 409
    assert "nobody is connected" in answer.json()["error"]


def test_start_in_a_relayed_session_says_opentok_records_only_routed_ones(stack: Stack) -> None:
    """OpenTok's 409 code 15008 (opentok/OpenTok-PHP-SDK issue #243), seen through the SDK's
    ArchiveError, which keeps the message only."""
    relayed = stack.sdk().create_session().session_id  # the SDK's default: relayed
    stack.opentok.connect(relayed, stack.sdk().generate_token(relayed))
    answer = stack.post(
        "/archive/start", {"sessionId": relayed}, headers=stack.host_headers(relayed)
    )
    assert answer.status == 409
    assert answer.json()["error"] == (
        "the session is relayed (peer-to-peer): OpenTok records only routed sessions"
    )
    assert list(stack.sdk().list_archives(session_id=relayed)) == []
    assert boto3.client("dynamodb").scan(TableName=stack.table)["Count"] == 0


# One case stands for the matrix of refused start requests, moved to the unit layer
# (tests/unit/test_start_requests.py): it asks to record the host's own, joinable session, so
# a check that let it through would start a recording.
@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"sessionId": "VALID", "outputMode": "mosaic"}, "outputMode"),
    ],
)
def test_bad_start_requests_are_refused_before_calling_opentok(
    stack: Stack, body: dict, complaint: str
) -> None:
    session = stack.join()
    stack.opentok.calls.clear()
    body = {**body, "sessionId": session["sessionId"]}
    answer = stack.post("/archive/start", body, headers=stack.host_headers(session["sessionId"]))
    assert answer.status == 400
    assert complaint in answer.json()["error"]
    assert stack.opentok.calls == []
    assert list(stack.sdk().list_archives(session_id=session["sessionId"])) == []
    assert boto3.client("dynamodb").scan(TableName=stack.table)["Count"] == 1  # the room only


# One case stands for the matrix of malformed bodies, moved to the unit layer
# (tests/unit/test_start_requests.py, which asserts each status and error text).
@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b"{not json", 400),
    ],
)
def test_malformed_bodies_get_a_clear_json_error(
    stack: Stack, content_type: str, body: bytes, status: int
) -> None:
    host = stack.host_headers(stack.join()["sessionId"])
    stack.opentok.calls.clear()
    answer = stack.api.request(
        "POST", "/archive/start", headers={"content-type": content_type, **host}, body=body
    )
    assert answer.status == status
    assert answer.json()["error"]
    assert stack.opentok.calls == []
    assert boto3.client("dynamodb").scan(TableName=stack.table)["Count"] == 1  # the room only


def test_stop_stops_the_recording(stack: Stack) -> None:
    archive = stack.record()
    answer = stack.post(f"/archive/{archive['id']}/stop")
    assert answer.status == 200
    assert answer.json()["status"] == "stopped"
    assert answer.json()["id"] == archive["id"]
    assert stack.sdk().get_archive(archive["id"]).status in ("stopped", "uploaded")


def test_stopping_twice_answers_the_current_state_without_asking_opentok_again(
    stack: Stack,
) -> None:
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    calls = len(stack.opentok.calls)
    again = stack.post(f"/archive/{archive['id']}/stop", form={})
    assert again.status == 200
    assert again.json()["status"] in ("stopped", "uploaded")
    assert len(stack.opentok.calls) == calls


def test_stopping_a_recording_opentok_stopped_itself_answers_its_state(stack: Stack) -> None:
    archive = stack.record()
    stack.sdk().stop_archive(archive["id"])  # e.g. everyone left the session
    answer = stack.post(f"/archive/{archive['id']}/stop")
    assert answer.status == 200
    assert answer.json()["status"] in ("stopped", "uploaded")


def test_stopping_an_unknown_archive_is_not_found(stack: Stack) -> None:
    host = stack.host_headers(stack.join()["sessionId"])
    answer = stack.post(f"/archive/{uuid.uuid4()}/stop", headers=host)
    assert answer.status == 404
    assert "error" in answer.json()


@pytest.mark.parametrize("archive_id", ["not-an-id", "1234", "../archive", "%00"])
def test_stop_refuses_ids_that_are_not_archive_ids(stack: Stack, archive_id: str) -> None:
    host = stack.host_headers(stack.join()["sessionId"])
    stack.opentok.calls.clear()
    answer = stack.post(f"/archive/{archive_id}/stop", headers=host)
    assert answer.status in (400, 404)
    assert stack.opentok.calls == []


def test_stop_refuses_a_body_that_is_not_json_or_a_form(stack: Stack) -> None:
    archive = stack.record()
    answer = stack.api.request(
        "POST",
        f"/archive/{archive['id']}/stop",
        headers={"content-type": "application/json", **stack.host_headers(archive["sessionId"])},
        body=b"[1, 2",
    )
    assert answer.status == 400
    assert stack.sdk().get_archive(archive["id"]).status == "started"


def test_opentok_refusing_our_credentials_is_a_bad_gateway(stack: Stack) -> None:
    session = stack.join()
    boto3.client("secretsmanager").put_secret_value(
        SecretId=stack.deployment.physical("OpenTokSecret"),
        SecretString=json.dumps({"apiKey": API_KEY, "apiSecret": "0" * 40}),
    )
    stack.restart_functions()
    # The host's page joins again: its token is signed with the secret we hold, wrong as it is.
    assert stack.get("/room/standup").status == 200
    answer = stack.post("/archive/start", {"sessionId": session["sessionId"]})
    assert answer.status == 502
    assert "OpenTok" in answer.json()["error"]
    assert "Traceback" not in answer.body.decode()
    assert answer.headers.get("retry-after")


def test_opentok_being_down_is_a_bad_gateway_with_retry_after(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = stack.record()
    stack.opentok.stop()
    answer = stack.post(f"/archive/{archive['id']}/stop")
    assert answer.status == 502
    assert "OpenTok" in answer.json()["error"]
    assert answer.headers["retry-after"]
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "started"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An address that accepts connections and never answers: OpenTok hanging."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not done.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    done.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_opentok_not_answering_in_time_is_a_gateway_timeout(
    stack: Stack, silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = stack.join()
    stack.configure_functions(OPENTOK_API_URL=silent_server, OPENTOK_TIMEOUT_SECONDS="0.3")
    answer = stack.post("/archive/start", {"sessionId": session["sessionId"]})
    assert answer.status == 504
    assert "OpenTok" in answer.json()["error"]
    assert answer.headers["retry-after"]


def test_opentok_failing_is_a_bad_gateway_and_records_nothing(stack: Stack) -> None:
    session = stack.join()
    stack.opentok.faults.fail("*", "", 500, times=1000)
    for path, body in (
        ("/archive/start", {"sessionId": session["sessionId"]}),
        (f"/archive/{uuid.uuid4()}/stop", None),
    ):
        answer = stack.post(path, body, headers=stack.host_headers(session["sessionId"]))
        assert answer.status == 502, answer.body
        assert "OpenTok" in answer.json()["error"]
        assert answer.headers["retry-after"]
    new_room = stack.get("/room/while-broken")
    assert new_room.status == 502
    assert boto3.client("dynamodb").scan(TableName=stack.table)["Count"] == 1  # the first room


@pytest.mark.parametrize("stack_parameters", [{"ArchiveMode": "always"}], indirect=True)
def test_stop_in_an_always_room_says_it_records_automatically_and_changes_nothing(
    stack: Stack,
) -> None:
    session = stack.join("always-room")
    stack.publish(session["connectionId"])
    [automatic] = stack.sdk().list_archives(session_id=session["sessionId"])
    stack.opentok.calls.clear()
    answer = stack.post(f"/archive/{automatic.id}/stop")
    assert answer.status == 409
    assert "automatic recordings end when everyone leaves the session" in answer.json()["error"]
    assert [call for call in stack.opentok.calls if call[0] != "GET"] == []  # read, not stopped
    assert stack.sdk().get_archive(automatic.id).status == "started"
    assert stack.stored(automatic.id) is None


def test_stop_of_an_automatic_recording_opentok_kept_recording_changes_nothing(
    stack: Stack,
) -> None:
    """OpenTok's stop has no effect on an automatic archive (SPEC `stop-archive`; its answer
    is unverified, and the emulator answers it as it stands, still started): the same 409,
    even in a stack set to manual whose session was made `always` elsewhere."""
    sdk = stack.sdk()
    session_id = sdk.create_session(
        media_mode=opentok.MediaModes.routed, archive_mode=opentok.ArchiveModes.always
    ).session_id
    stack.publish(stack.opentok.connect(session_id, sdk.generate_token(session_id)))
    [automatic] = sdk.list_archives(session_id=session_id)
    answer = stack.post(f"/archive/{automatic.id}/stop", headers=stack.host_headers(session_id))
    assert answer.status == 409
    assert "automatic recordings end when everyone leaves the session" in answer.json()["error"]
    assert sdk.get_archive(automatic.id).status == "started"
    assert stack.stored(automatic.id) is None


def test_a_recording_opentok_stopped_itself_says_why(stack: Stack) -> None:
    """OpenTok stops a recording itself (everyone left, idle, too long) and says why in
    `reason` (contract §3), which the host's page shows."""
    archive = stack.record()
    requests.delete(
        f"{stack.opentok.url}/_emulator/connections/{stack.join()['connectionId']}", timeout=5
    )
    for connection in list(stack.opentok.state.connections):
        requests.delete(f"{stack.opentok.url}/_emulator/connections/{connection}", timeout=5)
    sdk = stack.sdk()
    eventually(lambda: sdk.get_archive(archive["id"]).status not in ("started", "paused"))
    reason = stack.opentok.state.archives[archive["id"]].reason
    assert reason in ("session ended", "maximum idle time exceeded", "maximum duration exceeded")
    answer = stack.post(f"/archive/{archive['id']}/stop")
    assert answer.status == 200
    assert answer.json()["reason"] == reason
    assert stack.get(f"/archive/{archive['id']}").json()["reason"] == reason


@pytest.mark.parametrize("stack_parameters", [{"ArchiveMode": "always"}], indirect=True)
def test_start_in_an_always_room_answers_its_automatic_recording_or_says_it_comes_by_itself(
    stack: Stack,
) -> None:
    """OpenTok refuses a manual start without a tag in an always session (contract §5, 409)."""
    session = stack.join("always-room", publish=False)
    before = stack.post("/archive/start", {"sessionId": session["sessionId"]})
    assert before.status == 409
    assert "records automatically" in before.json()["error"]
    stack.publish(session["connectionId"])
    [automatic] = stack.sdk().list_archives(session_id=session["sessionId"])
    after = stack.post("/archive/start", {"sessionId": session["sessionId"]})
    assert after.status == 200
    assert after.json()["id"] == automatic.id
