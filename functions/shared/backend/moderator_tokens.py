"""Moderator tokens: what a host's page sends to start and stop the recording of its room.

They are the OpenTok tokens we issue with role `moderator` (JWTs the SDK signs with the
project's secret, or with the Vonage application's private key), so checking one needs no
store of our own: the signature, the project, the role, the session and the expiry.
"""

from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from backend import api, host_key, opentok_client
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


def _verified(token: str) -> dict[str, Any]:
    if len(token) > _MAX_TOKEN or not token.isascii():  # a JWT is short ASCII
        raise Unauthorized("that token is not one of ours")
    secret = opentok_client.credentials()
    vonage = secret["apiSecret"].lstrip().startswith("-----BEGIN")
    key: Any
    if vonage:
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
