"""The one error type the emulator answers with."""

from __future__ import annotations

# OpenTok's error bodies carry a code of their own, not the HTTP status: -1 for most, a
# five-digit number for some conditions (contract §5: RUBY 403, VPY 15002/15004).
GENERIC_CODE = -1


class ApiError(Exception):
    """An error as OpenTok answers one: an HTTP status and `{"code", "message", "description"}`."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        code: int = GENERIC_CODE,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.code = code

    def body(self) -> dict:
        return {"code": self.code, "message": self.message, "description": self.message}
