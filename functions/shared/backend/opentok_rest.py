"""The project's OpenTok credentials, and OpenTok's REST API called as the SDK calls it, for
functions that would otherwise load the SDK, PyJWT and requests for one kind of request.

The functions that make recordings ready, through which every recording passes, call OpenTok
only to tell a room (room_signals). What the SDK loads to do that (requests, and PyJWT, which
loads `cryptography`) is most of the SDK's cold start; urllib3 (which boto3 loads anyway) and
an HS256 signature made with `hmac` cost next to nothing. Requests made here carry what the
SDK's `get_json_headers` sends through requests (opentok 3.15.0, pinned in
functions/shared/requirements.txt; requests' own defaults included): the same User-Agent,
Accept, Content-Type, Accept-Encoding and Connection, and the JWT of `_create_jwt_auth_header`,
for OpenTok credentials (`X-OPENTOK-AUTH`, HS256 with the secret) or Vonage ones
(`Authorization: Bearer`, RS256 with the private key: PyJWT, loaded for them only).
tests/stack/test_room_signals.py compares both kinds with the SDK's own requests.
"""

import base64
import hashlib
import hmac
import json
import platform
import secrets
import time
import uuid
from typing import Any

import urllib3

from backend import config, secret_store

DEFAULT_API_URL = "https://api.opentok.com"
VONAGE_API_URL = "https://video.api.vonage.com"
SDK_VERSION = "3.15.0"
USER_AGENT = f"OpenTok-Python-SDK/{SDK_VERSION} python/{platform.python_version()}"
JWT_LIFETIME_SECONDS = 180  # the SDK's 3 minutes; OpenTok accepts up to 5
# What requests adds to every request the SDK makes, spelled as requests spells it.
REQUESTS_DEFAULTS = {
    "Accept-Encoding": ", ".join(
        urllib3.make_headers(accept_encoding=True)["accept-encoding"].split(",")
    ),
    "Connection": "keep-alive",
}

_pool = urllib3.PoolManager()


class Refused(Exception):
    """OpenTok answered with an error status (4xx, 5xx)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"OpenTok answered {status}")
        self.status = status


def credentials() -> dict[str, str]:
    """`{"apiKey", "apiSecret"}` from Secrets Manager, cached for a few minutes."""
    if not config.OPENTOK_SECRET_ARN:
        raise RuntimeError("OPENTOK_SECRET_ARN is not set for this function")
    secret = secret_store.json_secret(config.OPENTOK_SECRET_ARN)
    return {"apiKey": str(secret["apiKey"]), "apiSecret": str(secret["apiSecret"])}


def is_vonage(api_secret: str) -> bool:
    """Vonage application credentials: an application id and its RSA private key (PEM)."""
    return api_secret.lstrip().startswith("-----BEGIN")


def project_url(secret: dict[str, str], path: str) -> str:
    """`path` under the project: OPENTOK_API_URL when set (the emulator), else the API's own."""
    vonage = is_vonage(secret["apiSecret"])
    base = config.OPENTOK_API_URL or (VONAGE_API_URL if vonage else DEFAULT_API_URL)
    return f"{base}/v2/project/{secret['apiKey']}{path}"


def json_headers(secret: dict[str, str]) -> dict[str, str]:
    """The headers of the SDK's JSON requests, with a fresh JWT that authenticates them."""
    now = int(time.time())
    claims: dict[str, Any] = {"ist": "project", "iat": now, "exp": now + JWT_LIFETIME_SECONDS}
    if is_vonage(secret["apiSecret"]):
        import jwt  # here: it loads `cryptography`, which only an RSA signature needs

        claims |= {"application_id": secret["apiKey"], "jti": str(uuid.uuid4())}
        token = jwt.encode(
            claims, secret["apiSecret"], algorithm="RS256", headers={"typ": "JWT", "alg": "RS256"}
        )
        user_agent, auth = f"{USER_AGENT} OpenTok-With-Vonage-API-Backend", f"Bearer {token}"
        return _headers(user_agent, "Authorization", auth)
    # The SDK's jti is str(random.random()); the system's source gives the same shape, and no
    # SnapStart snapshot freezes it.
    claims |= {"iss": secret["apiKey"], "jti": str(secrets.SystemRandom().random())}
    return _headers(USER_AGENT, "X-OPENTOK-AUTH", _hs256(claims, secret["apiSecret"]))


def _headers(user_agent: str, auth_header: str, auth: str) -> dict[str, str]:
    return {
        "User-Agent": user_agent,
        **REQUESTS_DEFAULTS,
        "Accept": "application/json",
        auth_header: auth,
        "Content-Type": "application/json",
    }


def _hs256(claims: dict[str, Any], secret: str) -> str:
    """A JWT as PyJWT encodes one: header and claims as compact JSON, base64url unpadded."""
    header = _base64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")))
    payload = _base64url(json.dumps(claims, separators=(",", ":")))
    signed = f"{header}.{payload}"
    signature = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{_base64url(signature)}"


def _base64url(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def post_json(path: str, body: dict[str, Any], timeout: float) -> None:
    """POSTs `body` to `path` under the project, as the SDK's `data=json.dumps(body)`.

    Raises Refused for an error status, urllib3's errors when OpenTok cannot be reached or
    does not answer within `timeout` (to connect, and again to answer), and what
    credentials() raises."""
    secret = credentials()
    response = _pool.request(
        "POST",
        project_url(secret, path),
        body=json.dumps(body).encode(),
        headers=json_headers(secret),
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        retries=False,  # as the SDK's requests: not tried again
    )
    if response.status >= 400:
        raise Refused(response.status)
