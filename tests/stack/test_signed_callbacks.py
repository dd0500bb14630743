"""POST /archive/callback with a callback signature secret (template: CallbackSignatureSecret).

OpenTok signs each callback with a JWT in the Authorization header: HS256 with the signature
secret, claims `iat`, `jti`, `iss`, `payload_hash` (SHA-256 of the body), `api_key` (Vonage's
secure callbacks guide, https://developer.vonage.com/en/video/guides/secure-callbacks, and
its announcement, https://developer.vonage.com/en/blog/vonage-video-api-secure-callbacks-general-availability-announcement).
The emulator signs the same way (local/opentok/jobs.py); here its callbacks reach the route
over HTTP, and hand-made requests show what is refused.
"""

import hashlib
import json
import secrets
import time
from collections.abc import Iterator

import boto3
import jwt
import pytest

from local.opentok import OpenTokEmulator
from local.opentok.jobs import signature_token
from tests.support.stack import API_KEY, CallbackRoute, Stack, eventually

SIGNATURE_SECRET = secrets.token_urlsafe(32)
SIGNED = pytest.mark.parametrize(
    "stack_parameters", [{"CallbackSignatureSecret": SIGNATURE_SECRET}], indirect=True
)


@pytest.fixture
def emulator() -> Iterator[OpenTokEmulator]:
    """The project, with secure callbacks on: it signs with the stack's signature secret."""
    with OpenTokEmulator(
        api_key=API_KEY,
        api_secret=secrets.token_hex(20),
        processing_delay=0.05,
        time_scale=300,
        callback_signature_secret=SIGNATURE_SECRET,
        callback_time_scale=100,
    ) as emulator:
        yield emulator


def signed_headers(body: bytes, secret: str = SIGNATURE_SECRET) -> dict[str, str]:
    return {"authorization": f"Bearer {signature_token(body, secret, API_KEY, None)}"}


def opentok_archive(stack: Stack) -> str:
    """An archive OpenTok knows and we have no record of: what a refused callback must not add."""
    session = stack.join("signed")
    return stack.sdk().start_archive(session["sessionId"]).id


def post_callback(stack: Stack, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    stack.opentok.calls.clear()
    answer = stack.api.request(
        "POST",
        "/archive/callback",
        headers={"content-type": "application/json", **headers},
        body=body,
    )
    return answer.status, answer.json()


@SIGNED
def test_opentok_s_signed_callbacks_are_read_and_the_archive_re_read(stack: Stack) -> None:
    route = CallbackRoute(stack)
    try:
        stack.opentok.callback_url = route.url
        archive = stack.record("signed")
        stack.post(f"/archive/{archive['id']}/stop")
        eventually(lambda: [body["status"] for body, _ in route.answers][-1:] == ["uploaded"])
    finally:
        route.close()

    assert [status for _, status in route.answers] == [200, 200, 200]
    assert stack.stored(archive["id"])["status"]["S"] == "uploaded"
    assert ("GET", f"/v2/project/{API_KEY}/archive/{archive['id']}") in stack.opentok.calls


@SIGNED
def test_a_callback_refused_once_is_taken_when_opentok_retries(stack: Stack) -> None:
    """The callback service retries what was not answered 2xx (contract §9)."""
    route = CallbackRoute(stack)
    try:
        stack.opentok.faults.fail("GET", "/v2/project/.*/archive/.*", 500)
        stack.opentok.callback_url = route.url
        archive = stack.record("signed")
        eventually(lambda: [status for _, status in route.answers] == [502, 200])
    finally:
        route.close()
    assert stack.stored(archive["id"])["status"]["S"] == "started"


def _signed_with(body: bytes, **changes: object) -> dict[str, str]:
    """OpenTok's claims for `body`, some changed or (None) left out, signed with the secret."""
    claims = {"iat": int(time.time()), "jti": "j", "iss": "Vonage", "api_key": API_KEY}
    claims["payload_hash"] = hashlib.sha256(body).hexdigest()
    claims.update(changes)
    claims = {name: value for name, value in claims.items() if value is not None}
    return {"authorization": f"Bearer {jwt.encode(claims, SIGNATURE_SECRET, algorithm='HS256')}"}


def _unsigned_algorithm(body: bytes) -> dict[str, str]:
    token = signature_token(body, SIGNATURE_SECRET, API_KEY, None)
    claims = jwt.decode(token, options={"verify_signature": False})
    return {"authorization": f"Bearer {jwt.encode(claims, None, algorithm='none')}"}


REFUSED = {
    "unsigned": lambda body: {},
    "garbage": lambda body: {"authorization": "Bearer not.a.jwt"},
    "not a bearer token": lambda body: {"authorization": "Basic dXNlcjpwYXNz"},
    "wrong secret": lambda body: signed_headers(body, secret="x" * len(SIGNATURE_SECRET)),
    "tampered body": lambda body: signed_headers(body.replace(b"}", b',"extra":1}')),
    "expired exp": lambda body: _signed_with(body, exp=int(time.time()) - 3600),
    "another project": lambda body: _signed_with(body, api_key="99999999"),
    "alg none": _unsigned_algorithm,
}


@SIGNED
@pytest.mark.parametrize("forgery", REFUSED.values(), ids=REFUSED.keys())
def test_unsigned_or_wrongly_signed_callbacks_are_refused_and_change_nothing(
    stack: Stack, forgery
) -> None:
    archive_id = opentok_archive(stack)
    body = json.dumps({"id": archive_id, "status": "available", "event": "archive"}).encode()

    status, answer = post_callback(stack, body, forgery(body))

    assert status == 401
    assert "error" in answer
    assert stack.stored(archive_id) is None
    assert stack.opentok.calls == []


TAKEN = {
    # Vonage retries for up to 24 hours; whether a retry is signed afresh is not documented.
    "a retry signed a day ago": lambda body: _signed_with(body, iat=int(time.time()) - 86_400),
    "no payload hash": lambda body: _signed_with(body, payload_hash=None),
    "no iat": lambda body: _signed_with(body, iat=None),
}


@SIGNED
@pytest.mark.parametrize("signature", TAKEN.values(), ids=TAKEN.keys())
def test_a_genuine_signature_is_taken_whatever_its_age(stack: Stack, signature) -> None:
    archive_id = opentok_archive(stack)
    body = json.dumps({"id": archive_id, "status": "started", "event": "archive"}).encode()

    status, answer = post_callback(stack, body, signature(body))

    assert (status, answer["status"]) == (200, "started"), answer


@SIGNED
def test_a_request_signed_like_opentok_s_is_taken(stack: Stack) -> None:
    archive_id = opentok_archive(stack)
    body = json.dumps({"id": archive_id, "status": "started", "event": "archive"}).encode()

    status, answer = post_callback(stack, body, signed_headers(body))

    assert (status, answer["id"], answer["status"]) == (200, archive_id, "started")
    assert stack.stored(archive_id)["status"]["S"] == "started"


def test_without_a_signature_secret_callbacks_are_not_checked(stack: Stack) -> None:
    archive_id = opentok_archive(stack)
    body = json.dumps({"id": archive_id}).encode()

    status, _ = post_callback(stack, body, {})

    assert status == 200
    assert stack.stored(archive_id)["status"]["S"] == "started"


@SIGNED
def test_the_signature_secret_lives_in_secrets_manager_only(stack: Stack) -> None:
    arn = stack.deployment.physical("CallbackSecret")
    environment = stack.deployment.environment("ArchiveCallbackFunction")
    assert environment["CALLBACK_SECRET_ARN"] == arn
    assert stack.deployment.secret_value("CallbackSecret") == SIGNATURE_SECRET
    everything = json.dumps([stack.environment(name) for name in stack.template.functions()])
    assert SIGNATURE_SECRET not in everything


def test_no_signature_secret_is_created_when_none_is_given(stack: Stack) -> None:
    names = [s["Name"] for s in boto3.client("secretsmanager").list_secrets()["SecretList"]]
    assert not any("CallbackSecret" in name for name in names)
    assert stack.deployment.environment("ArchiveCallbackFunction")["CALLBACK_SECRET_ARN"] == ""
