"""Signed callbacks: with a signature secret configured, OpenTok's archive callbacks must carry
its signature, and anything else is refused.

OpenTok (Vonage's callback service) puts a JWT in the Authorization header, HS256 with the
signature secret, with `iat`, `jti`, `iss`, `api_key` and `payload_hash`, the SHA-256 of the body
(Vonage's secure callbacks guide and its announcement). Checked here: the algorithm (pinned) and
the signature always; the hash of the raw body when the token has one, so that a signature
cannot be moved onto another body; the project when the token names one.

Not checked: the age. Vonage retries an unanswered callback for up to 24 hours, and whether a
retry is signed afresh is not documented; a callback only makes us ask OpenTok about an archive
(its body is never believed), so a genuine signature on an old `iat` does no harm, and refusing
it could refuse every retry. An `exp`, if OpenTok ever sends one, is honoured.
"""

import base64
import binascii
import hashlib
import hmac

import jwt

from backend import api, config, secret_store
from backend.errors import Unauthorized

ALGORITHM = "HS256"
LEEWAY_SECONDS = 60  # for an `exp`: the clocks of both sides
_MAX_TOKEN = 4096


def signatures_required() -> bool:
    return bool(config.CALLBACK_SECRET_ARN)


def require_signature(request: api.Request) -> None:
    """Raises Unauthorized unless the request is signed with the signature secret.

    Does nothing when no signature secret is configured.
    """
    if not signatures_required():
        return
    token = _token(request)
    secret = secret_store.text_secret(config.CALLBACK_SECRET_ARN)
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], leeway=LEEWAY_SECONDS)
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the callback's signature has expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("the callback is not signed with the signature secret") from None
    if "payload_hash" in claims and not _matches(claims["payload_hash"], _raw_body(request)):
        raise Unauthorized("the callback's body is not the one that was signed")
    if "api_key" in claims and str(claims["api_key"]) != config.OPENTOK_API_KEY:
        raise Unauthorized("the callback is signed for another OpenTok project")


def _token(request: api.Request) -> str:
    header = (request.headers.get("authorization") or "").strip()
    scheme, _, token = header.partition(" ")
    # The Bearer prefix is what Vonage's signed webhooks send; a bare JWT is taken too.
    token = token.strip() if scheme.lower() == "bearer" else header
    if not token or len(token) > _MAX_TOKEN or not token.isascii():
        raise Unauthorized("the callback is not signed: send its signature as a Bearer token")
    return token


def _raw_body(request: api.Request) -> bytes:
    body = request.body or ""
    if request.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise Unauthorized("the callback's body is not the one that was signed") from None
    return body.encode()


def _matches(payload_hash: object, body: bytes) -> bool:
    if not isinstance(payload_hash, str) or not payload_hash.isascii():
        return False
    return hmac.compare_digest(payload_hash.lower(), hashlib.sha256(body).hexdigest())
