"""A Vonage application's credentials: its id and an RSA private key made for the run."""

import uuid

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
