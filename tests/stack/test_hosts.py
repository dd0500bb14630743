"""Only hosts control recording (ArchiveControl `host`, the default): who may do what.

Hosts hold the host key, which the room route turns into a moderator token for the room's
session; start and stop want that token, the history and deleting want the key itself.
"""

import time
import uuid
from typing import Any

import boto3
import jwt
import opentok
import pytest

from tests.support.credentials import forged_token
from tests.support.stack import API_KEY, Stack


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _claims(stack: Stack, token: str) -> dict[str, Any]:
    return jwt.decode(token, stack.opentok.api_secret, algorithms=["HS256"])


def _token(secret: str, algorithm: str = "HS256", **claims: Any) -> str:
    return forged_token(API_KEY, secret, algorithm, **claims)


def _table_items(stack: Stack) -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName=stack.table)["Items"]
    return sorted(items, key=lambda item: item["pk"]["S"])


def _recordings_of(stack: Stack, session_id: str) -> list[opentok.Archive]:
    return list(stack.sdk().list_archives(session_id=session_id))


def test_the_host_key_gets_a_moderator_token_and_participants_a_publisher_one(
    stack: Stack,
) -> None:
    host = stack.api.request("GET", "/room/standup", headers={"x-host-key": stack.host_key})
    participant = stack.api.request("GET", f"/room/{host.json()['invite']}")
    assert host.status == participant.status == 200
    assert host.json()["sessionId"] == participant.json()["sessionId"]
    assert host.json()["role"] == _claims(stack, host.json()["token"])["role"] == "moderator"
    assert participant.json()["role"] == "publisher"
    assert _claims(stack, participant.json()["token"])["role"] == "publisher"
    assert host.json()["archiveControl"] == participant.json()["archiveControl"] == "host"
    # No cache between the page and us keeps a token, least of all the host's for a participant.
    assert host.headers["cache-control"] == "no-store"
    assert "x-host-key" in host.headers["vary"].lower()
    # OpenTok itself accepts the host's token.
    assert stack.opentok.connect(host.json()["sessionId"], host.json()["token"])


def test_a_wrong_host_key_is_refused_and_creates_no_room(stack: Stack) -> None:
    before = _table_items(stack)
    answer = stack.api.request("GET", "/room/new-room", headers={"x-host-key": "guess" * 8})
    assert answer.status == 403
    assert "host key" in answer.json()["error"]
    assert "token" not in answer.json()
    assert _table_items(stack) == before
    assert stack.opentok.calls == []


def test_a_host_starts_and_stops_the_recording_of_the_room(stack: Stack) -> None:
    session = stack.join("standup")
    token = stack.moderator_tokens[session["sessionId"]]
    started = stack.post(
        "/archive/start", {"sessionId": session["sessionId"]}, headers=_bearer(token)
    )
    assert started.status == 200, started.body
    stopped = stack.post(f"/archive/{started.json()['id']}/stop", headers=_bearer(token))
    assert stopped.status == 200, stopped.body
    assert stack.sdk().get_archive(started.json()["id"]).status in ("stopped", "uploaded")


def _refused_credentials(stack: Stack, session_id: str, other_session_id: str) -> dict:
    sdk = stack.sdk()
    return {
        "no credential": ({}, 401),
        "not a bearer token": ({"authorization": f"Basic {stack.host_key}"}, 401),
        "the host key itself": ({"x-host-key": stack.host_key}, 401),
        "garbage": (_bearer("not.a.token"), 401),
        "forged": (_token("0" * 40, session_id=session_id), 401),
        "unsigned (alg none)": (_token("", algorithm="none", session_id=session_id), 401),
        "without a scope": (
            _token(stack.opentok.api_secret, session_id=session_id, scope=None),
            401,
        ),
        "without a session": (_token(stack.opentok.api_secret), 401),
        "expired": (
            _token(
                stack.opentok.api_secret,
                session_id=session_id,
                iat=int(time.time()) - 7200,
                exp=int(time.time()) - 3600,
            ),
            401,
        ),
        "another project's": (
            _token(stack.opentok.api_secret, session_id=session_id, iss="46999999"),
            401,
        ),
        "a legacy T1 token": (
            sdk.generate_token(session_id, role=opentok.Roles.moderator, use_jwt=False),
            401,
        ),
        "a participant's": (sdk.generate_token(session_id, role=opentok.Roles.publisher), 403),
        "another room's moderator": (
            sdk.generate_token(other_session_id, role=opentok.Roles.moderator),
            403,
        ),
    }


def _as_headers(credential: Any) -> dict[str, str]:
    return credential if isinstance(credential, dict) else _bearer(credential)


def test_start_refuses_anyone_but_the_rooms_host_and_starts_nothing(stack: Stack) -> None:
    session = stack.join("standup", host=False)
    other = stack.join("other-room", host=False)
    before = _table_items(stack)
    for name, (credential, status) in _refused_credentials(
        stack, session["sessionId"], other["sessionId"]
    ).items():
        answer = stack.post(
            "/archive/start", {"sessionId": session["sessionId"]}, headers=_as_headers(credential)
        )
        assert answer.status == status, (name, answer.body)
        assert answer.json()["error"], name
        if status == 401:
            assert answer.headers["www-authenticate"] == "Bearer"
    assert _recordings_of(stack, session["sessionId"]) == []
    assert _table_items(stack) == before


def test_stop_refuses_anyone_but_the_host_of_the_archives_room(stack: Stack) -> None:
    archive = stack.record("standup")
    other = stack.join("other-room", host=False)
    for name, (credential, status) in _refused_credentials(
        stack, archive["sessionId"], other["sessionId"]
    ).items():
        answer = stack.post(f"/archive/{archive['id']}/stop", headers=_as_headers(credential))
        assert answer.status == status, (name, answer.body)
    assert stack.sdk().get_archive(archive["id"]).status == "started"
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "started"


def test_stop_checks_the_session_of_a_recording_started_elsewhere(stack: Stack) -> None:
    """A recording we have no record of (started from OpenTok's dashboard, say)."""
    session = stack.join("standup")
    elsewhere = stack.sdk().start_archive(session["sessionId"])
    other = stack.join("other-room")
    answer = stack.post(
        f"/archive/{elsewhere.id}/stop",
        headers=_bearer(stack.moderator_tokens[other["sessionId"]]),
    )
    assert answer.status == 403
    assert stack.sdk().get_archive(elsewhere.id).status == "started"
    answer = stack.post(
        f"/archive/{elsewhere.id}/stop",
        headers=_bearer(stack.moderator_tokens[session["sessionId"]]),
    )
    assert answer.status == 200
    assert stack.sdk().get_archive(elsewhere.id).status in ("stopped", "uploaded")


def test_the_history_is_for_hosts(stack: Stack) -> None:
    archive = stack.record()
    participant = stack.join("standup", host=False)
    for headers, status in (
        ({}, 401),
        ({"x-host-key": "x" * 40}, 403),
        (_bearer(participant["token"]), 401),
        (_bearer(stack.moderator_tokens[archive["sessionId"]]), 401),
    ):
        answer = (
            stack.get("/archive", **headers) if headers else stack.api.request("GET", "/archive")
        )
        assert answer.status == status, (headers, answer.body)
        assert "items" not in answer.json()
    listed = stack.get("/archive")
    assert [item["id"] for item in listed.json()["items"]] == [archive["id"]]


def test_only_hosts_delete_recordings(stack: Stack) -> None:
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    for headers, status in (({}, 401), ({"x-host-key": "x" * 40}, 403)):
        answer = stack.delete(f"/archive/{archive['id']}", headers=headers)
        assert answer.status == status
    assert stack.get(f"/archive/{archive['id']}").json()["status"] != "deleted"
    assert stack.sdk().get_archive(archive["id"]).status != "deleted"


def test_participants_watch_a_recording_of_their_room_by_its_id(stack: Stack) -> None:
    """Anyone holding an archive's id (everyone in the room is told it) may see and view it."""
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    assert stack.api.request("GET", f"/archive/{archive['id']}").status == 200
    assert stack.api.request("GET", f"/archive/{uuid.uuid4()}").status == 404


def test_a_rotated_host_key_takes_effect_and_old_links_stop_working(stack: Stack) -> None:
    old_key = stack.host_key
    boto3.client("secretsmanager").put_secret_value(
        SecretId=stack.deployment.physical("HostKeySecret"), SecretString="n" * 40
    )
    stack.restart_functions()  # a new environment; warm ones follow within the cache's minutes
    assert stack.api.request("GET", "/room/standup", headers={"x-host-key": old_key}).status == 403
    answer = stack.api.request("GET", "/room/standup", headers={"x-host-key": "n" * 40})
    assert answer.json()["role"] == "moderator"


@pytest.mark.parametrize("stack_parameters", [{"ArchiveControl": "open"}], indirect=True)
def test_open_control_lets_anyone_record_as_in_the_sample(stack: Stack) -> None:
    session = stack.join("standup", host=False)
    assert session["archiveControl"] == "open"
    assert stack.api.request("GET", "/session").json()["archiveControl"] == "open"
    started = stack.post("/archive/start", {"sessionId": session["sessionId"]}, headers={})
    assert started.status == 200, started.body
    stopped = stack.post(f"/archive/{started.json()['id']}/stop", headers={})
    assert stopped.status == 200
    listed = stack.api.request("GET", "/archive")
    assert [item["id"] for item in listed.json()["items"]] == [started.json()["id"]]
