"""Credentials for the tests: a Vonage application's (its id and an RSA private key made for
the run), and moderator tokens forged in the shape of the SDK's."""

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

APPLICATION_ID = str(uuid.UUID("5f2a1c3e-9d47-4b8e-a0f1-6c2d8e9b7a41"))
PRIVATE_KEY = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    .decode()
)


def forged_token(api_key: str, secret: str, algorithm: str = "HS256", **claims: Any) -> str:
    """A moderator token of the SDK's shape for the project, some claims changed (None: left
    out), signed with `secret`: the project's own, or another."""
    now = int(time.time())
    payload = {
        "iss": api_key,
        "ist": "project",
        "scope": "session.connect",
        "role": "moderator",
        "iat": now,
        "exp": now + 600,
        "nonce": 1,
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, secret, algorithm=algorithm)
