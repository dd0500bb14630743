"""Signed callbacks (functions/shared/backend/signed_callbacks.py): with a signature secret
configured (template: CallbackSignatureSecret, kept in Secrets Manager and named to the
callback function by CALLBACK_SECRET_ARN), OpenTok's archive callbacks must carry its signature.

What OpenTok sends is Vonage's secure callbacks' (the guide,
https://developer.vonage.com/en/video/guides/secure-callbacks, and its announcement): a JWT in
the Authorization header, HS256 with the signature secret, with `iat`, `jti`, `iss`,
`api_key` and `payload_hash`, the SHA-256 of the body; the emulator signs the same way
(local/opentok/jobs.py's `signature_token`, used here). The age is not checked (Vonage
retries for up to 24 hours), an `exp` is. tests/stack/test_signed_callbacks.py shows the
route refusing and changing nothing; this file, each decision of the check itself, on the
request as api.Request reads API Gateway's event.
"""

import base64
import hashlib
import json
import secrets
import time
import uuid

import boto3
import jwt
import pytest

from backend import api, config
from backend.errors import Unauthorized
from local.opentok.jobs import signature_token
from tests.support.stack import API_KEY

SIGNATURE_SECRET = secrets.token_urlsafe(32)
BODY = json.dumps(
    {"id": "b40ef09b-3811-4726-b508-e41a0f96c68f", "status": "available", "event": "archive"}
).encode()


@pytest.fixture
def signed_callbacks(aws: None, monkeypatch: pytest.MonkeyPatch):
    from backend import signed_callbacks

    arn = boto3.client("secretsmanager").create_secret(
        Name=f"callback-{uuid.uuid4()}", SecretString=SIGNATURE_SECRET
    )["ARN"]
    monkeypatch.setattr(config, "CALLBACK_SECRET_ARN", arn)
    monkeypatch.setattr(config, "OPENTOK_API_KEY", API_KEY)
    return signed_callbacks


def _request(authorization: str | None, body: bytes = BODY, *, base64_body: bool = False):
    """The callback as API Gateway hands it over: the body as text, or base64-encoded."""
    return api.Request(
        {
            "headers": {"Authorization": authorization} if authorization is not None else {},
            "body": base64.b64encode(body).decode() if base64_body else body.decode(),
            "isBase64Encoded": base64_body,
        }
    )


def _opentok_s(body: bytes = BODY, secret: str = SIGNATURE_SECRET) -> str:
    return f"Bearer {signature_token(body, secret, API_KEY, None)}"


def _signed_with(body: bytes = BODY, **changes: object) -> str:
    """OpenTok's claims for `body`, some changed or (None) left out, signed with the secret."""
    claims = {
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "api_key": API_KEY,
        "payload_hash": hashlib.sha256(body).hexdigest(),
        **changes,
    }
    claims = {name: value for name, value in claims.items() if value is not None}
    return f"Bearer {jwt.encode(claims, SIGNATURE_SECRET, algorithm='HS256')}"


def _refusal(signed_callbacks, request: api.Request) -> str:
    with pytest.raises(Unauthorized) as refused:
        signed_callbacks.require_signature(request)
    assert refused.value.status == 401
    return refused.value.message


def test_opentok_s_signature_is_taken(signed_callbacks) -> None:
    signed_callbacks.require_signature(_request(_opentok_s()))


def test_a_signature_of_the_wrong_secret_is_refused(signed_callbacks) -> None:
    forged = _request(_opentok_s(secret="x" * len(SIGNATURE_SECRET)))
    assert _refusal(signed_callbacks, forged) == (
        "the callback is not signed with the signature secret"
    )


def test_an_unsigned_token_alg_none_is_refused(signed_callbacks) -> None:
    claims = jwt.decode(_opentok_s().split()[1], options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert _refusal(signed_callbacks, _request(f"Bearer {unsigned}")) == (
        "the callback is not signed with the signature secret"
    )


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_the_right_secret_with_another_algorithm_is_refused(signed_callbacks) -> None:
    claims = jwt.decode(_opentok_s().split()[1], options={"verify_signature": False})
    other = jwt.encode(claims, SIGNATURE_SECRET, algorithm="HS512")
    assert "not signed with the signature secret" in _refusal(
        signed_callbacks, _request(f"Bearer {other}")
    )


def test_a_signature_moved_onto_another_body_is_refused(signed_callbacks) -> None:
    tampered = BODY.replace(b'"available"', b'"failed"')
    assert _refusal(signed_callbacks, _request(_opentok_s(), tampered)) == (
        "the callback's body is not the one that was signed"
    )


def test_a_signature_without_payload_hash_is_taken_for_any_body(signed_callbacks) -> None:
    """The body is never believed (the callback only makes us ask OpenTok), so a token without
    a hash is OpenTok's signature still."""
    signed_callbacks.require_signature(_request(_signed_with(payload_hash=None), b'{"id":"x"}'))


@pytest.mark.parametrize("age", [3600, 86_400, 7 * 86_400], ids=["an hour", "a day", "a week"])
def test_an_old_iat_is_taken_as_retries_may_carry_one(signed_callbacks, age: int) -> None:
    signed_callbacks.require_signature(_request(_signed_with(iat=int(time.time()) - age)))


def test_no_iat_is_taken(signed_callbacks) -> None:
    signed_callbacks.require_signature(_request(_signed_with(iat=None)))


def test_a_signature_for_another_project_is_refused(signed_callbacks) -> None:
    assert _refusal(signed_callbacks, _request(_signed_with(api_key="99999999"))) == (
        "the callback is signed for another OpenTok project"
    )


def test_the_project_s_api_key_as_a_number_is_the_project(signed_callbacks) -> None:
    signed_callbacks.require_signature(_request(_signed_with(api_key=int(API_KEY))))


def test_no_api_key_is_taken(signed_callbacks) -> None:
    signed_callbacks.require_signature(_request(_signed_with(api_key=None)))


def test_an_exp_in_the_past_is_refused(signed_callbacks) -> None:
    expired = _request(_signed_with(exp=int(time.time()) - 3600))
    assert _refusal(signed_callbacks, expired) == "the callback's signature has expired"


def test_an_exp_a_few_seconds_past_is_within_the_clocks_leeway(signed_callbacks) -> None:
    signed_callbacks.require_signature(_request(_signed_with(exp=int(time.time()) - 30)))


def test_a_bare_jwt_without_bearer_is_taken(signed_callbacks) -> None:
    signed_callbacks.require_signature(_request(_opentok_s().removeprefix("Bearer ")))


def test_a_payload_hash_in_upper_case_hex_is_the_same_hash(signed_callbacks) -> None:
    upper = hashlib.sha256(BODY).hexdigest().upper()
    signed_callbacks.require_signature(_request(_signed_with(payload_hash=upper)))


@pytest.mark.parametrize("payload_hash", [12345, "", "ü" * 64], ids=["a number", "empty", "ü"])
def test_a_payload_hash_that_is_no_hex_text_matches_no_body(
    signed_callbacks, payload_hash: object
) -> None:
    assert "not the one that was signed" in _refusal(
        signed_callbacks, _request(_signed_with(payload_hash=payload_hash))
    )


def test_a_base64_encoded_body_is_hashed_as_the_bytes_sent(signed_callbacks) -> None:
    body = b'{"id": "b40ef09b-3811-4726-b508-e41a0f96c68f", "note": "\xff"}'
    signed_callbacks.require_signature(_request(_opentok_s(body), body, base64_body=True))


def test_a_base64_body_that_does_not_decode_is_refused(signed_callbacks) -> None:
    request = api.Request(
        {"headers": {"authorization": _opentok_s()}, "body": "%%%", "isBase64Encoded": True}
    )
    assert "not the one that was signed" in _refusal(signed_callbacks, request)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer ", "Bearer " + "a" * 4097, "Bearer ünï.ünï.ünï"],
    ids=["no header", "empty", "Bearer alone", "too long", "not ASCII"],
)
def test_a_request_without_a_token_says_to_send_one(
    signed_callbacks, authorization: str | None
) -> None:
    assert _refusal(signed_callbacks, _request(authorization)) == (
        "the callback is not signed: send its signature as a Bearer token"
    )


@pytest.mark.parametrize("authorization", ["Bearer not.a.jwt", "Basic dXNlcjpwYXNz"])
def test_what_is_no_jwt_is_refused(signed_callbacks, authorization: str) -> None:
    assert _refusal(signed_callbacks, _request(authorization)) == (
        "the callback is not signed with the signature secret"
    )


def test_without_a_signature_secret_nothing_is_checked(
    signed_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "CALLBACK_SECRET_ARN", "")
    assert not signed_callbacks.signatures_required()
    signed_callbacks.require_signature(_request(None))
    signed_callbacks.require_signature(_request("Bearer not.a.jwt"))
