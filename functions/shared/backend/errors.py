"""The errors a route raises; `backend.api` turns each into a JSON response in one place."""

from collections.abc import Mapping


class ApiError(Exception):
    """An answer for the client: an HTTP status, a message for people, and optional headers."""

    status = 500

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    """No credential, or one we cannot verify (malformed, forged, expired)."""

    status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    """A good credential that does not allow this (a participant's token, another room's)."""

    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class Gone(ApiError):
    status = 410


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class UpstreamError(ApiError):
    """OpenTok failed us: it refused our credentials, broke, or could not be reached."""

    status = 502


class ServiceUnavailable(ApiError):
    """An AWS service we depend on (Secrets Manager, DynamoDB) refused or throttled us."""

    status = 503


class UpstreamTimeout(ApiError):
    status = 504
