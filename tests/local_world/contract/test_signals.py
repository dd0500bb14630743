"""Contract §10: REST signaling, POST .../session/{sessionId}[/connection/{connectionId}]/signal,
through the real SDK's `send_signal` and plain HTTP, observed on the clients' event streams."""

from __future__ import annotations

import opentok
import pytest
import requests
from opentok.exceptions import RequestError

from tests.support.opentok import KEY, EventReader, join, project_headers, routed_session


def signal_url(emu, session_id: str, connection_id: str | None = None) -> str:
    connection = f"/connection/{connection_id}" if connection_id else ""
    return f"{emu.url}/v2/project/{KEY}/session/{session_id}{connection}/signal"


def post_signal(emu, session_id: str, body: object, connection_id: str | None = None):
    return requests.post(
        signal_url(emu, session_id, connection_id), json=body, headers=project_headers()
    )


def test_a_signal_reaches_every_client_of_the_session_with_no_sender(emu, ot):
    """§10 body: JSON `type` and `data`; "signals from the server arrive with an empty
    `from`" (SPEC `send-signal`; PY `send_signal`); success 204 (RUBY
    `OpenTok_Signals/receives_a_valid_response_for_all_connections.yml`, PY, NODE)."""
    session_id = routed_session(ot)
    readers = [EventReader(emu, join(emu, ot, session_id)) for _ in range(2)]
    try:
        answer = post_signal(emu, session_id, {"type": "archive", "data": '{"state":"ready"}'})
        received = [reader.next("signal") for reader in readers]
    finally:
        for reader in readers:
            reader.close()

    assert answer.status_code == 204
    assert answer.content == b""
    assert received == [{"type": "archive", "data": '{"state":"ready"}', "from": None}] * 2


def test_a_signal_to_one_connection_reaches_only_that_client(emu, ot):
    """§10: `.../connection/{connectionId}/signal` sends to that client only (SPEC
    `post-v2-projects-application_id-session-session_id-connection-connect_id-signal`)."""
    session_id = routed_session(ot)
    chosen, other = join(emu, ot, session_id), join(emu, ot, session_id)
    chosen_reader, other_reader = EventReader(emu, chosen), EventReader(emu, other)
    try:
        ot.send_signal(session_id, {"type": "note", "data": "to you"}, chosen)
        ot.send_signal(session_id, {"type": "note", "data": "to all"})
        to_chosen = [chosen_reader.next("signal")["data"] for _ in range(2)]
        to_other = other_reader.next("signal")["data"]
    finally:
        chosen_reader.close()
        other_reader.close()

    assert to_chosen == ["to you", "to all"]
    assert to_other == "to all"  # the first one, to the chosen client, never came here


def test_a_signal_sent_before_the_client_reads_its_events_still_reaches_it(emu, ot):
    """A client that has joined is connected (§10: "no client connected" is the only refusal
    for a session): a signal sent before its event stream opens is waiting for it there."""
    session_id = routed_session(ot)
    connection = join(emu, ot, session_id)
    ot.send_signal(session_id, {"type": "archive", "data": "early"})
    reader = EventReader(emu, connection)
    try:
        assert reader.next("signal")["data"] == "early"
    finally:
        reader.close()


def test_the_sdk_takes_a_204_and_a_200_as_success(emu, ot):
    """§10 success is [conflict]: 204 (RUBY, PY, NODE) vs 200 (SPEC `Blank-200`). The emulator
    answers 204; PY's `send_signal` returns None for both (its `if response:` is true for any
    2xx), so the product works whichever OpenTok answers."""
    session_id = routed_session(ot)
    reader = EventReader(emu, join(emu, ot, session_id))
    try:
        assert ot.send_signal(session_id, {"type": "a", "data": "204"}) is None
        emu.faults.answer("POST", "/signal$", 200, body="")
        assert ot.send_signal(session_id, {"type": "a", "data": "200"}) is None
        delivered = [reader.next("signal")["data"] for _ in range(2)]
    finally:
        reader.close()

    assert delivered == ["204", "200"]
    assert emu.faults.waiting() == []  # the 200 was really answered


def test_no_client_connected_is_a_404_that_the_sdk_raises_as_a_bare_request_error(emu, ot):
    """§10 404: "Not found. No clients are actively connected to the OpenTok session."
    (SPEC; PHP `signal-failure-no-clients.json`); a session created but left by everyone is
    the same. SDK quirk: PY 3.15.0 raises a bare `RequestError` with the status for every
    error status (§10, PY `send_signal`)."""
    session_id = routed_session(ot)
    empty = post_signal(emu, session_id, {"type": "archive", "data": "x"})
    emu.disconnect(join(emu, ot, session_id))
    left = post_signal(emu, session_id, {"type": "archive", "data": "x"})
    with pytest.raises(RequestError) as raised:
        ot.send_signal(session_id, {"type": "archive", "data": "x"})

    for answer in (empty, left):
        assert answer.status_code == 404
        assert answer.json() == {
            "code": -1,
            "message": "Not found. No clients are actively connected to the OpenTok session.",
            "description": "Not found. No clients are actively connected to the OpenTok session.",
        }
    assert type(raised.value) is RequestError
    assert raised.value.args[1] == 404


def test_a_connection_not_in_the_session_is_a_404(emu, ot):
    """§10 404: "the connection is not in the session" (SPEC: "The client specified by the
    connectionId property is not connected to the session.")."""
    session_id, other_session = routed_session(ot), routed_session(ot)
    join(emu, ot, session_id)
    elsewhere = join(emu, ot, other_session)

    for connection_id in (elsewhere, "not-a-connection"):
        answer = post_signal(emu, session_id, {"type": "t", "data": "d"}, connection_id)
        assert answer.status_code == 404
        assert answer.json()["message"] == (
            "The client specified by the connectionId property is not connected to the session."
        )


def test_a_signal_without_data_is_a_400_with_the_error_body(emu, ot):
    """§10 400: `{"code":15202,"message":"Signal payload 'data' must be set",...}` (PHP
    `signal-failure-payload.json`); errors are `{code, message, description}` (§11.2)."""
    session_id = routed_session(ot)
    reader = EventReader(emu, join(emu, ot, session_id))
    try:
        answer = post_signal(emu, session_id, {"type": "archive"})
        with pytest.raises(TimeoutError):
            reader.next("signal", timeout=0.3)  # nothing was sent
    finally:
        reader.close()

    assert answer.status_code == 400
    assert answer.json() == {
        "code": 15202,
        "message": "Signal payload 'data' must be set",
        "description": "Signal payload 'data' must be set",
    }


def test_a_signal_without_a_string_type_is_a_400_unverified(emu, ot):
    """§10 400 for an invalid `type` (SPEC lists `type` as required, a string); the body for
    a missing type is not recorded anywhere: the data's (PHP) is taken as its pattern."""
    session_id = routed_session(ot)
    join(emu, ot, session_id)
    for body in ({"data": "x"}, {"type": 7, "data": "x"}, ["type", "data"], "text"):
        answer = post_signal(emu, session_id, body)
        assert answer.status_code == 400
        assert set(answer.json()) == {"code", "message", "description"}
    assert post_signal(emu, session_id, {"data": "x"}).json()["code"] == 15202


def test_an_invalid_session_id_is_a_400(emu, ot):
    """§10 400: "a property (type, data, sessionId, connectionId) invalid" (SPEC: "One of the
    signal properties — data, type, sessionId or connectionId — is invalid.")."""
    answer = post_signal(emu, "not-a-session", {"type": "t", "data": "d"})

    assert answer.status_code == 400
    assert "sessionId" in answer.json()["message"]


def test_a_type_over_128_bytes_or_data_over_8_kb_is_a_413(emu, ot):
    """§10 413: `type` over 128 bytes or `data` over 8 kB (SPEC `Signal`, "Data length
    exceeded"). Bytes, not characters: "é" is two. The exact 8 kB boundary (8192 taken here)
    is not documented; the product's data is a few dozen bytes."""
    session_id = routed_session(ot)
    reader = EventReader(emu, join(emu, ot, session_id))
    try:
        at_limits = post_signal(emu, session_id, {"type": "t" * 128, "data": "d" * 8192})
        long_type = post_signal(emu, session_id, {"type": "é" * 65, "data": "d"})
        large_data = post_signal(emu, session_id, {"type": "t", "data": "d" * 8193})
        delivered = reader.next("signal")
        with pytest.raises(TimeoutError):
            reader.next("signal", timeout=0.3)
    finally:
        reader.close()

    assert at_limits.status_code == 204
    assert delivered["type"] == "t" * 128
    for answer in (long_type, large_data):
        assert answer.status_code == 413
        assert "128 bytes" in answer.json()["message"]


def test_signals_need_the_projects_credentials(emu, ot):
    """§10 403: auth, as every project route (§1: bad credentials are 403, RUBY
    `http_client_errors`); PY raises a bare RequestError for it too (§10 SDK quirk)."""
    session_id = routed_session(ot)
    join(emu, ot, session_id)
    unsigned = requests.post(signal_url(emu, session_id), json={"type": "t", "data": "d"})
    stranger = opentok.Client(KEY, "f" * 40, api_url=emu.url)
    with pytest.raises(RequestError) as raised:
        stranger.send_signal(session_id, {"type": "t", "data": "d"})

    assert unsigned.status_code == 403
    assert set(unsigned.json()) == {"code", "message", "description"}
    assert raised.value.args[1] == 403
