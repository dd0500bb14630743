"""A local emulator of the OpenTok (Vonage Video) REST API, for tests and the dev stack."""

from .errors import ApiError
from .server import OpenTokEmulator

__all__ = ["ApiError", "OpenTokEmulator"]
