"""Vonage Video API credentials (an application id and its private key) instead of OpenTok's."""

import base64
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.support.credentials import APPLICATION_ID, PRIVATE_KEY
from tests.support.stack import Stack

VONAGE = pytest.mark.parametrize(
    "emulator", [{"api_key": APPLICATION_ID, "api_secret": PRIVATE_KEY}], indirect=True
)


@VONAGE
def test_a_vonage_application_records_and_its_recordings_become_ready(stack: Stack) -> None:
    joined = stack.get("/room/vonage").json()
    assert joined["apiKey"] == APPLICATION_ID
    public_key = serialization.load_pem_private_key(PRIVATE_KEY.encode(), None).public_key()
    claims = jwt.decode(joined["token"], public_key, algorithms=["RS256"])
    assert claims["application_id"] == APPLICATION_ID
    assert claims["session_id"] == joined["sessionId"]

    archive = stack.record("vonage")
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"], prefix=APPLICATION_ID)
    assert stack.deliver_s3_events() == 1
    shown = stack.get(f"/archive/{archive['id']}").json()
    assert shown["ready"] is True
    assert f"/{APPLICATION_ID}/{archive['id']}/archive.mp4" in shown["url"]


@VONAGE
def test_the_emulator_refuses_opentok_style_credentials_for_a_vonage_application(
    stack: Stack,
) -> None:
    import opentok

    impostor = opentok.Client(APPLICATION_ID, "0" * 40, api_url=stack.opentok.url)
    with pytest.raises(opentok.exceptions.AuthError):
        impostor.get_archive(str(uuid.uuid4()))


@VONAGE
def test_a_token_signed_with_the_public_key_as_an_hmac_secret_is_refused(stack: Stack) -> None:
    """The classic confusion: HS256 keyed with the (public) RSA key passes no check of ours."""
    session = stack.join("vonage", host=False)
    public_pem = (
        serialization.load_pem_private_key(PRIVATE_KEY.encode(), None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    now = int(time.time())
    claims = {
        "application_id": APPLICATION_ID,
        "scope": "session.connect",
        "session_id": session["sessionId"],
        "role": "moderator",
        "iat": now,
        "exp": now + 600,
    }

    def part(value: dict) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    signed = part({"alg": "HS256", "typ": "JWT"}) + b"." + part(claims)
    signature = base64.urlsafe_b64encode(hmac.digest(public_pem, signed, "sha256")).rstrip(b"=")
    forged = (signed + b"." + signature).decode()
    answer = stack.post(
        "/archive/start",
        {"sessionId": session["sessionId"]},
        headers={"authorization": f"Bearer {forged}"},
    )
    assert answer.status == 401
    assert list(stack.sdk().list_archives(session_id=session["sessionId"])) == []


@VONAGE
def test_a_vonage_application_reads_why_a_recording_failed(stack: Stack) -> None:
    """OpenTok's own archive JSON is read with the SDK's Vonage headers and endpoint."""
    archive = stack.failed_recording("vonage")
    view = stack.get(f"/archive/{archive['id']}/view", accept="application/json")
    assert view.status == 409
    assert stack.get(f"/archive/{archive['id']}").json()["reason"]
