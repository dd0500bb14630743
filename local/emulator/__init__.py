"""A local emulator of the OpenTok (Vonage Video) REST API, for tests and the dev stack."""

from .server import OpenTokEmulator
from .state import ApiError

__all__ = ["ApiError", "OpenTokEmulator"]
