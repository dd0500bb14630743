"""Credentials as OpenTok checks them: project JWTs, client tokens, session ids, signed links."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

import jwt

# Roles the server SDKs put in tokens; "publisheronly" is how the Python SDK spells it.
CLIENT_ROLES = frozenset({"subscriber", "publisher", "publisheronly", "moderator"})
PUBLISHING_ROLES = frozenset({"publisher", "publisheronly", "moderator"})

LEGACY_SENTINEL = "T1=="
# OpenTok refuses a project JWT meant to live longer than 5 minutes (REST "Authentication").
MAX_JWT_LIFETIME = 300


class AuthFailed(Exception):
    """A credential was rejected; the message is safe to show to the caller."""


@dataclass(frozen=True)
class ClientGrant:
    """What a valid client token allows its bearer to do."""

    role: str
    data: str | None


def is_vonage_key(api_secret: str) -> bool:
    """Vonage Video API credentials: an application id and its RSA private key (PEM)."""
    return api_secret.lstrip().startswith("-----BEGIN")


def _vonage_public_key(private_pem: str) -> object:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(private_pem.encode(), password=None).public_key()


def _decode_rs256(token: str, private_pem: str, required: tuple[str, ...]) -> dict:
    try:
        return jwt.decode(
            token,
            _vonage_public_key(private_pem),
            algorithms=["RS256"],
            options={"require": list(required)},
        )
    except jwt.ExpiredSignatureError as error:
        raise AuthFailed("Authentication failed. The JWT has expired.") from error
    except jwt.PyJWTError as error:
        raise AuthFailed(f"Authentication failed. Invalid JWT: {error}.") from error


def verify_vonage_jwt(authorization: str | None, application_id: str, private_pem: str) -> None:
    """Check an `Authorization: Bearer` JWT the way the Vonage Video API does."""
    if not authorization or not authorization.startswith("Bearer "):
        raise AuthFailed("Authentication failed. Missing Authorization: Bearer header.")
    claims = _decode_rs256(authorization[7:], private_pem, required=("exp", "application_id"))
    if claims["application_id"] != application_id:
        raise AuthFailed("Authentication failed. The JWT is for another application.")


def verify_project_jwt(token: str | None, api_key: str, api_secret: str) -> None:
    """Check an X-OPENTOK-AUTH header value the way the OpenTok REST API does."""
    if not token:
        raise AuthFailed("Authentication failed. Missing X-OPENTOK-AUTH header.")
    # OpenTok finds the project by the issuer before it checks the signature with its secret.
    if str(_unverified_claims(token).get("iss")) != api_key:
        raise AuthFailed("Issuer not found")  # OpenTok's own words (contract §1, RUBY)
    claims = _decode_hs256(token, api_secret, required=("exp", "iss", "ist"))
    if claims["ist"] != "project":
        raise AuthFailed("Authentication failed. The JWT ist claim must be 'project'.")
    issued_at = claims.get("iat", time.time())
    if claims["exp"] - issued_at > MAX_JWT_LIFETIME:
        raise AuthFailed("Authentication failed. The JWT must expire within 5 minutes of iat.")


def verify_client_token(token: str, session_id: str, api_key: str, api_secret: str) -> ClientGrant:
    """Validate a token from the SDK's generate_token for joining `session_id`."""
    if not isinstance(token, str) or not token:
        raise AuthFailed("Invalid token: missing.")
    if is_vonage_key(api_secret):
        claims = _decode_rs256(token, api_secret, required=("exp", "session_id", "scope"))
        if claims.get("application_id") != api_key:
            raise AuthFailed("Invalid token: issued for another application.")
        if claims["scope"] != "session.connect":
            raise AuthFailed("Invalid token: the scope must be 'session.connect'.")
    elif token.startswith(LEGACY_SENTINEL):
        claims = _legacy_claims(token, api_key, api_secret)
    else:
        claims = _decode_hs256(token, api_secret, required=("exp", "iss", "session_id", "scope"))
        if str(claims["iss"]) != api_key:
            raise AuthFailed("Invalid token: issued for another API key.")
        if claims.get("ist", "project") != "project":
            raise AuthFailed("Invalid token: the ist claim must be 'project'.")
        if claims["scope"] != "session.connect":
            raise AuthFailed("Invalid token: the scope must be 'session.connect'.")
    if claims["session_id"] != session_id:
        raise AuthFailed("Invalid token: issued for another session.")
    role = claims.get("role") or "publisher"
    if role not in CLIENT_ROLES:
        raise AuthFailed(f"Invalid token: unknown role {role!r}.")
    data = claims.get("connection_data")
    return ClientGrant(role=role, data=data if isinstance(data, str) else None)


def _unverified_claims(token: str) -> dict:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise AuthFailed(f"Authentication failed. Invalid JWT: {error}.") from error
    return claims if isinstance(claims, dict) else {}


def _decode_hs256(token: str, secret: str, required: tuple[str, ...]) -> dict:
    try:
        return jwt.decode(token, secret, algorithms=["HS256"], options={"require": list(required)})
    except jwt.ExpiredSignatureError as error:
        raise AuthFailed("Authentication failed. The JWT has expired.") from error
    except jwt.InvalidSignatureError as error:
        raise AuthFailed("Authentication failed. The JWT signature is invalid.") from error
    except jwt.PyJWTError as error:
        raise AuthFailed(f"Authentication failed. Invalid JWT: {error}.") from error


def _legacy_claims(token: str, api_key: str, api_secret: str) -> dict:
    """Decode a pre-JWT "T1==" token (generate_token(use_jwt=False))."""
    try:
        decoded = base64.b64decode(token[len(LEGACY_SENTINEL) :], validate=True).decode()
        header, payload = decoded.split(":", 1)
        meta = {k: v[0] for k, v in parse_qs(header).items()}
        claims = {k: v[0] for k, v in parse_qs(payload, keep_blank_values=True).items()}
        expires = int(claims.get("expire_time", "0"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise AuthFailed("Invalid token: malformed.") from error
    expected = hmac.new(api_secret.encode(), payload.encode(), hashlib.sha1).hexdigest()
    if meta.get("partner_id") != api_key:
        raise AuthFailed("Invalid token: issued for another API key.")
    if not hmac.compare_digest(meta.get("sig", "").encode(), expected.encode()):
        raise AuthFailed("Invalid token: bad signature.")
    if expires < time.time():
        raise AuthFailed("Invalid token: expired.")
    return claims


def new_session_id(api_key: str) -> str:
    """Mint an id shaped like OpenTok's, so the SDK's generate_token accepts it."""
    # The SDK base64url-decodes the part after "1_" and looks for the api key between "~".
    raw = f"1~{api_key}~~{int(time.time() * 1000)}~{secrets.token_urlsafe(18)}~~"
    encoded = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return "1_" + encoded


def is_well_formed_session_id(session_id: object) -> bool:
    """True for anything that decodes like an OpenTok session id, created here or not."""
    if not isinstance(session_id, str) or len(session_id) < 4 or session_id[1] != "_":
        return False
    body = session_id[2:]
    try:
        decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return decoded.count("~") >= 2


def sign_download(archive_id: str, expires: int, api_secret: str) -> str:
    """HMAC that makes an archive download link unguessable and time-limited."""
    message = f"{archive_id}:{expires}".encode()
    return hmac.new(api_secret.encode(), message, hashlib.sha256).hexdigest()


def download_link_valid(
    archive_id: str, expires: str | None, signature: str | None, api_secret: str
) -> bool:
    """Check a link produced with `sign_download` and not yet expired."""
    if not expires or not signature or not expires.isdigit():
        return False
    if int(expires) < time.time():
        return False
    expected = sign_download(archive_id, int(expires), api_secret)
    return hmac.compare_digest(signature.encode(), expected.encode())
