"""GET /session and GET /room/{name}: one OpenTok session per room, however it is asked for."""

import json
import threading
import time

import boto3
import jwt
import pytest

from tests.support.stack import API_KEY, Stack


@pytest.mark.parametrize("stack_parameters", [{"ArchiveControl": "open"}], indirect=True)
def test_session_route_serves_the_default_room(stack: Stack) -> None:
    default = stack.get("/session").json()
    assert stack.get("/room/session").json()["sessionId"] == default["sessionId"]
    assert default["apiKey"] == API_KEY


def test_a_room_keeps_its_session_and_creates_it_only_once(stack: Stack) -> None:
    first = stack.get("/room/standup").json()
    second = stack.get("/room/standup").json()
    other = stack.get("/room/retro").json()
    assert first["sessionId"] == second["sessionId"] != other["sessionId"]
    created = [call for call in stack.opentok.calls if call == ("POST", "/session/create")]
    assert len(created) == 2
    # Each join gets its own token.
    assert first["token"] != second["token"]


def test_only_the_request_that_made_the_room_says_it_is_new(stack: Stack) -> None:
    """A mistyped room name makes a new, empty room: the page says so from `created`."""
    assert stack.get("/room/standupp").json()["created"] is True
    assert stack.get("/room/standupp").json()["created"] is False
    participant = stack.api.request("GET", f"/room/{stack.participant_name('standupp')}")
    assert participant.json()["created"] is False


def test_token_is_a_publisher_token_for_the_room_that_opentok_accepts(stack: Stack) -> None:
    invite = stack.participant_name()
    joined = stack.api.request("GET", f"/room/{invite}").json()  # a participant, no host key
    claims = jwt.decode(joined["token"], stack.opentok.api_secret, algorithms=["HS256"])
    assert claims["role"] == "publisher"
    assert claims["session_id"] == joined["sessionId"]
    assert claims["exp"] > time.time() + 3600
    assert stack.opentok.connect(joined["sessionId"], joined["token"])


def test_concurrent_first_requests_for_a_new_room_get_the_same_session(stack: Stack) -> None:
    answers: list[str] = []
    gate = threading.Barrier(6)
    # Six environments warm (clients made, secret cached), so that the requests overlap.
    warming = threading.Barrier(6)
    warm_ups = [
        threading.Thread(target=lambda: (warming.wait(), stack.get("/room/warm-up")))
        for _ in range(6)
    ]
    for thread in warm_ups:
        thread.start()
    for thread in warm_ups:
        thread.join(timeout=20)
    stack.opentok.calls.clear()

    def join() -> None:
        gate.wait()
        answers.append(stack.get("/room/launch").json()["sessionId"])

    threads = [threading.Thread(target=join) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(answers) == 6
    assert len(set(answers)) == 1
    # The race really happened: several requests created a session, one of them won.
    assert stack.opentok.calls.count(("POST", "/session/create")) >= 2
    assert stack.get("/room/launch").json()["sessionId"] == answers[0]


def test_manual_rooms_record_only_when_asked(stack: Stack) -> None:
    session = stack.join("manual-room")
    assert session["archiveMode"] == "manual"
    assert session["continueAfterLimit"] is False  # the page's warning promises no next part
    stack.publish(session["connectionId"])
    assert list(stack.sdk().list_archives(session_id=session["sessionId"])) == []
    started = stack.post("/archive/start", {"sessionId": session["sessionId"]})
    assert started.status == 200  # a routed session: OpenTok can archive it


@pytest.mark.parametrize("stack_parameters", [{"ArchiveMode": "always"}], indirect=True)
def test_always_rooms_record_from_the_first_stream(stack: Stack) -> None:
    session = stack.join("always-room")
    assert session["archiveMode"] == "always"  # the page hides Start and Stop
    stack.publish(session["connectionId"])
    archives = list(stack.sdk().list_archives(session_id=session["sessionId"]))
    assert [archive.status for archive in archives] == ["started"]


# One name stands for the matrix of bad names, moved to the unit layer
# (tests/unit/test_room_names.py): one beyond ASCII, as it passes through the API.
@pytest.mark.parametrize("name", ["ünï"])
def test_bad_room_names_are_refused_before_any_opentok_call(stack: Stack, name: str) -> None:
    answer = stack.get(f"/room/{name}")
    assert answer.status in (400, 404)
    assert "error" in answer.json() or answer.status == 404
    assert stack.opentok.calls == []
    assert boto3.client("dynamodb").scan(TableName=stack.table)["Count"] == 0  # no room


def test_room_name_refusal_says_what_is_allowed(stack: Stack) -> None:
    answer = stack.get("/room/-lead")
    assert answer.status == 400
    assert "room name" in answer.json()["error"]


def _items(stack: Stack) -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName=stack.table)["Items"]
    return sorted(items, key=lambda item: item["pk"]["S"])


def test_in_host_control_a_stranger_gets_one_404_whatever_name_they_try(stack: Stack) -> None:
    """A room name is short and human; only the host's invite opens the room (issue 23)."""
    invite = stack.participant_name("standup")
    other_code = stack.participant_name("retro").rpartition(".")[2]
    before = _items(stack)
    stack.opentok.calls.clear()
    tried = {
        "/room/standup": "the room's own name",
        "/session": "the default room",
        "/room/session": "the default room by name",
        f"/room/standup.{other_code}": "another room's code",
        f"/room/{invite[:-1]}{'B' if invite[-1] != 'B' else 'C'}": "a code one letter off",
        f"/room/nobody-made.{invite.rpartition('.')[2]}": "a room nobody made",
    }
    answers = {why: stack.api.request("GET", path) for path, why in tried.items()}
    assert {why: answer.status for why, answer in answers.items()} == dict.fromkeys(
        tried.values(), 404
    )
    assert {json.dumps(answer.json()) for answer in answers.values()} == {
        json.dumps({"error": "no such room: ask the host for the room's participant link"})
    }
    assert _items(stack) == before  # no room made, no invite changed
    assert stack.opentok.calls == []


def test_the_hosts_invite_joins_the_room_and_is_the_hosts_alone(stack: Stack) -> None:
    host = stack.get("/room/standup").json()
    room, _, code = host["invite"].rpartition(".")
    assert (room, len(code)) == ("standup", 22)
    assert stack.participant_name("retro").rpartition(".")[2] != code
    participant = stack.api.request("GET", f"/room/{host['invite']}").json()
    assert participant["sessionId"] == host["sessionId"]
    assert (participant["role"], participant["room"], participant["created"]) == (
        "publisher",
        "standup",
        False,
    )
    assert "invite" not in participant
    assert stack.get("/room/standup").json()["invite"] == host["invite"]  # the link lasts


def test_a_room_made_before_invites_gets_one_when_its_host_joins(stack: Stack) -> None:
    first = stack.get("/room/older").json()
    # As a deployment before invites made it: the room's item without one.
    boto3.client("dynamodb").update_item(
        TableName=stack.table, Key={"pk": {"S": "room#older"}}, UpdateExpression="REMOVE invite"
    )
    assert stack.api.request("GET", f"/room/{first['invite']}").status == 404
    again = stack.get("/room/older").json()
    assert again["sessionId"] == first["sessionId"]
    joined = stack.api.request("GET", f"/room/{again['invite']}")
    assert joined.status == 200
    assert joined.json()["sessionId"] == first["sessionId"]


def test_the_name_a_page_shows_goes_with_its_stream_into_the_token(stack: Stack) -> None:
    """Issue 24, point 7: OpenTok writes a connection's data into an individual archive's
    manifest (connectionData), and the recording's page names each stream's player by it."""
    host = stack.api.request(
        "GET",
        "/room/standup",
        query="name=Ann+%C3%A9",
        headers={"x-host-key": stack.host_key},
    ).json()
    guest = stack.api.request("GET", f"/room/{host['invite']}", query="name=Guest+123").json()
    for joined, data in ((host, "name=Ann+%C3%A9"), (guest, "name=Guest+123")):
        claims = jwt.decode(joined["token"], stack.opentok.api_secret, algorithms=["HS256"])
        assert claims["connection_data"] == data
    unnamed = stack.api.request("GET", f"/room/{host['invite']}").json()
    claims = jwt.decode(unnamed["token"], stack.opentok.api_secret, algorithms=["HS256"])
    assert "connection_data" not in claims or not claims["connection_data"]
    too_long = stack.api.request("GET", f"/room/{host['invite']}", query="name=" + "x" * 65)
    assert too_long.status == 400
    assert "name" in too_long.json()["error"]


@pytest.mark.parametrize("stack_parameters", [{"ArchiveControl": "open"}], indirect=True)
def test_in_open_control_a_room_made_under_host_control_hands_out_no_invite(
    stack: Stack,
) -> None:
    """An invite kept from host control would send open control's participants, who join by
    the room's name, into another, empty room of the invite's name."""
    first = stack.get("/room/standup").json()
    boto3.client("dynamodb").update_item(
        TableName=stack.table,
        Key={"pk": {"S": "room#standup"}},
        UpdateExpression="SET invite = :code",
        ExpressionAttributeValues={":code": {"S": "A" * 22}},
    )
    again = stack.get("/room/standup").json()
    assert "invite" not in again
    assert again["sessionId"] == first["sessionId"]
