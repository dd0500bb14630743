"""With every logger at DEBUG, a whole recording leaves no secret and no token in the logs."""

import json
import logging
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest

from local.opentok.jobs import signature_token
from tests.support.stack import API_KEY, Stack

CALLBACK_SECRET = secrets.token_urlsafe(32)


@pytest.mark.parametrize(
    "stack_parameters",
    [{"StuckAfterMinutes": "0", "CallbackSignatureSecret": CALLBACK_SECRET}],
    indirect=True,
)
def test_a_whole_recording_at_debug_logs_no_secret_and_no_token(
    stack: Stack,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Powertools' loggers and, through Lambda's root logger, the libraries' (botocore's, the SDK's).
    stack.configure_functions(POWERTOOLS_LOG_LEVEL="DEBUG", AWS_LAMBDA_LOG_LEVEL="DEBUG")
    caplog.set_level(logging.DEBUG)
    joined = stack.join("debug-room")  # as the host: the host key and a moderator token
    participant = stack.join("debug-room", host=False)
    archive = stack.record("debug-room")
    stack.post(f"/archive/{archive['id']}/stop")
    stack.get("/archive")
    stack.get("/room/debug-room", **{"x-host-key": "a-wrong-key-someone-tried"})
    stack.wait_until_uploaded(archive["id"])
    stack.deliver_s3_events()
    viewed = stack.get(f"/archive/{archive['id']}/view", accept="application/json").json()
    shown = stack.get(f"/archive/{archive['id']}").json()
    stack.post("/archive/callback", {"id": archive["id"]})  # unsigned: refused
    callback = json.dumps({"id": archive["id"]}).encode()
    signature = signature_token(callback, CALLBACK_SECRET, API_KEY, None)
    signed = stack.api.request(
        "POST",
        "/archive/callback",
        headers={"content-type": "application/json", "authorization": f"Bearer {signature}"},
        body=callback,
    )
    assert signed.status == 200
    stack.invoke("ReconcileArchivesFunction", {"detail-type": "Scheduled Event"})
    logs = capsys.readouterr().out + caplog.text
    assert "DEBUG" in logs or "debug" in logs  # the functions did log at DEBUG
    assert stack.opentok.api_secret not in logs
    assert stack.host_key not in logs
    assert CALLBACK_SECRET not in logs
    assert signature.split(".")[2] not in logs
    assert "a-wrong-key-someone-tried" not in logs
    # A presigned link lets whoever holds it download the recording: its signature is not kept.
    for link in (viewed["url"], shown["url"]):
        assert parse_qs(urlsplit(link).query)["X-Amz-Signature"][0] not in logs
    for token in (joined["token"], participant["token"]):
        assert token not in logs
        assert token.split(".")[2] not in logs  # not even the token's signature
