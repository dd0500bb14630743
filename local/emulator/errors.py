"""The one error type the emulator answers with."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered as OpenTok does: an HTTP status and {"code", "message"}."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
