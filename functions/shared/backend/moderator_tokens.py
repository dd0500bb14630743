"""Moderator tokens: what a host's page sends to start, stop and change the recording of its room.

They are the OpenTok tokens we issue with role `moderator` (JWTs the SDK signs with the
project's secret, or with the Vonage application's private key), so checking one needs no
store of our own: the signature, the project, the role, the session and the expiry.
"""

from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

import jwt
import opentok
from cryptography.hazmat.primitives import serialization

from backend import api, archives, host_key, opentok_client, opentok_rest, validation
from backend.errors import Forbidden, Unauthorized

# Clocks of OpenTok's and ours may differ a little; a token's life is hours.
LEEWAY_SECONDS = 30
_MAX_TOKEN = 8192


def authorize(request: api.Request, action: str) -> dict[str, Any] | None:
    """The verified claims of the request's moderator token; None when control is open.

    Raises Unauthorized without a token we issued and still valid, Forbidden for a token
    of another role. Which session it may act on is `require_session`'s to check.
    """
    if host_key.control_is_open():
        return None
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(f"only hosts may {action}: send a moderator token as a Bearer token")
    claims = _verified(token)
    if claims.get("role") != "moderator":
        raise Forbidden(f"only hosts may {action}: this token is a participant's")
    return claims


def require_session(claims: dict[str, Any] | None, session_id: str, action: str) -> None:
    if claims is not None and claims.get("session_id") != session_id:
        raise Forbidden(f"this moderator token is for another session: it cannot {action}")


class RecordingChange[Change](NamedTuple):
    """A host's change to a recording under way, checked as far as we can without OpenTok."""

    archive_id: str  # validated, as our records and OpenTok's paths take it
    change: Change  # what the request asks, validated
    archive: dict[str, Any]  # our record of the recording, or OpenTok's archive
    known: dict[str, Any] | None  # our record, None if we keep none
    sdk: opentok.Client


def authorize_recording_change[Change](
    request: api.Request,
    archive_id: str,
    action: str,
    read_change: Callable[[dict[str, Any]], Change],
    *,
    record_suffices: Callable[[dict[str, Any]], bool] = bool,
) -> RecordingChange[Change]:
    """Checks a host's request to change a recording while it records: the moderator token
    (as `authorize`, for `action`), the archive id, the change `read_change` makes of the
    request's fields, then the recording, whose session the token must be for (Forbidden).

    The recording is our record when `record_suffices`, else OpenTok's archive (one not
    started through us, or whose start timed out; NotFound if OpenTok does not know it)."""
    claims = authorize(request, action)
    archive_id = validation.archive_id(archive_id)
    change = read_change(api.request_fields(request))
    sdk = opentok_client.client()
    known = archives.get(archive_id)
    if known and record_suffices(known):
        archive = known
    else:
        archive = opentok_client.read_archive(archive_id, sdk)
    require_session(claims, archive["sessionId"], "change this recording")
    return RecordingChange(archive_id, change, archive, known, sdk)


def _verified(token: str) -> dict[str, Any]:
    if len(token) > _MAX_TOKEN or not token.isascii():  # a JWT is short ASCII
        raise Unauthorized("that token is not one of ours")
    secret = opentok_client.credentials()
    key: Any
    if opentok_rest.is_vonage(secret["apiSecret"]):
        key, algorithm, issuer_claim = _public_key(secret["apiSecret"]), "RS256", "application_id"
    else:
        key, algorithm, issuer_claim = secret["apiSecret"], "HS256", "iss"
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "session_id", "role"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the moderator token has expired: join the room again") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("that token is not one of ours") from None
    if claims.get(issuer_claim) != secret["apiKey"] or claims.get("scope") != "session.connect":
        raise Unauthorized("that token is not one of ours")
    return claims


@lru_cache(maxsize=2)
def _public_key(private_key_pem: str) -> Any:
    # Parsing an RSA key takes tens of milliseconds: once per key, not once per request.
    return serialization.load_pem_private_key(private_key_pem.encode(), None).public_key()
