"""The OpenTok SDK client, built from the project secret, and the SDK's errors as HTTP answers.

Only functions that really call OpenTok import this module: the SDK costs cold-start time.
"""

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import opentok
import requests

from backend import config, snapstart
from backend.errors import (
    ApiError,
    BadRequest,
    Conflict,
    NotFound,
    UpstreamError,
    UpstreamTimeout,
)
from backend.opentok_rest import DEFAULT_API_URL, credentials, is_vonage

# Credentials stay out of the logs even at DEBUG: the SDK logs its signed auth header there.
logging.getLogger("opentok").setLevel(logging.WARNING)
# The SDK's nonces and request ids come from `random`, which a snapshot would freeze.
snapstart.register()

RETRY_AFTER = {"Retry-After": "5"}
# The statuses OpenTok gives an archive (contract §3), `deleted` included.
ARCHIVE_STATUSES = (
    "started",
    "paused",
    "stopped",
    "uploaded",
    "available",
    "expired",
    "failed",
    "deleted",
)


def client() -> opentok.Client:
    secret = credentials()
    return build_client(secret["apiKey"], secret["apiSecret"], config.OPENTOK_API_URL)


def build_client(api_key: str, api_secret: str, api_url: str = "") -> opentok.Client:
    """An SDK client for OpenTok credentials (key, secret) or Vonage ones (application id, PEM).

    The SDK takes a Vonage private key as the path of a file, and then talks to Vonage's API
    URL; an explicit `api_url` still wins, so that the same code runs against the emulator.
    """
    if not is_vonage(api_secret):
        sdk = opentok.Client(api_key, api_secret, api_url=api_url or DEFAULT_API_URL)
    else:
        sdk = opentok.Client(api_key, str(_private_key_file(api_secret)))
        if api_url:
            sdk.endpoints = opentok.endpoints.Endpoints(api_url, api_key)
    sdk.timeout = config.OPENTOK_TIMEOUT_SECONDS
    return sdk


def _private_key_file(private_key: str) -> Path:
    digest = hashlib.sha256(private_key.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"vonage-{digest}.key"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as key_file:
            key_file.write(private_key)
    return path


def archive_fields(archive: opentok.Archive) -> dict[str, Any]:
    """The SDK's Archive as the OpenTok REST API's JSON fields."""
    output_mode, stream_mode = archive.output_mode, archive.stream_mode
    return {
        "id": archive.id,
        "status": archive.status,
        "name": archive.name,
        "sessionId": archive.session_id,
        # The SDK keeps whole seconds only.
        "createdAt": int(archive.created_at.timestamp()) * 1000,
        "duration": archive.duration or 0,
        "size": archive.size or 0,
        "outputMode": getattr(output_mode, "value", output_mode),
        # The SDK's default when OpenTok leaves it out is its enum; OpenTok sends text.
        "streamMode": getattr(stream_mode, "value", stream_mode),
        "resolution": archive.resolution,
        "hasAudio": bool(archive.has_audio),
        "hasVideo": bool(archive.has_video),
    }


def read_archive(archive_id: str, sdk: opentok.Client | None = None) -> dict[str, Any]:
    """OpenTok's own JSON of an archive, for what the SDK's Archive drops: `reason` (why it
    stopped or failed), `sha256sum`, `updatedAt` (contract §3).

    Read through the SDK's own endpoint, headers, timeout and proxies, so it goes wherever the
    SDK goes (OpenTok or Vonage credentials, OPENTOK_API_URL); refusals mean what they mean in
    `calling_opentok`. Returned as OpenTok sent it: the names of `archive_fields` and more,
    createdAt to the millisecond.
    """
    sdk = sdk or client()
    with calling_opentok("read the archive"):
        response = requests.get(
            sdk.endpoints.get_archive_url(archive_id),
            headers=sdk.get_headers(),
            proxies=sdk.proxies,
            timeout=sdk.timeout,
        )
        # As the SDK's get_archive sorts OpenTok's answers.
        if response.status_code == 403:
            raise opentok.exceptions.AuthError()
        if response.status_code == 404:
            raise opentok.exceptions.NotFoundError("Archive not found")
        if not response.ok:
            raise opentok.exceptions.RequestError("unexpected answer", response.status_code)
        try:
            archive = response.json()
        except ValueError:
            archive = None
        if not (
            isinstance(archive, dict)
            and str(archive.get("id")).lower() == archive_id.lower()
            and archive.get("status") in ARCHIVE_STATUSES
            and isinstance(archive.get("createdAt"), int)
        ):
            raise opentok.exceptions.OpenTokException("OpenTok's answer is not the archive asked")
    return archive


def select_archive_stream(
    archive_id: str, selection: dict[str, Any], sdk: opentok.Client | None = None
) -> None:
    """Adds or removes a stream of a streamMode manual archive: OpenTok's PATCH .../streams
    with `{"addStream", "hasAudio", "hasVideo"}` or `{"removeStream"}` (204 on success).

    Not through the SDK's add/remove_archive_stream: for any refusal its remove returns None,
    as it does on success, and its add drops OpenTok's status but as a bare number.
    """
    sdk = sdk or client()
    action = "add the stream" if "addStream" in selection else "remove the stream"
    with calling_opentok(action):
        response = requests.patch(
            sdk.endpoints.get_archive_stream(archive_id),
            json=selection,
            headers=sdk.get_json_headers(),
            proxies=sdk.proxies,
            timeout=sdk.timeout,
        )
        if response.status_code == 403:
            raise opentok.exceptions.AuthError()
        if response.status_code == 404:
            raise opentok.exceptions.NotFoundError("Archive or stream not found")
        if response.status_code in (400, 405, 409):
            # An auto archive (405, or 400 in the spec), or one not recording any more.
            raise opentok.exceptions.ArchiveError(_message(response))
        if not response.ok:
            raise opentok.exceptions.RequestError("unexpected answer", response.status_code)


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    return str(message) if message else f"OpenTok answered {response.status_code}"


@contextmanager
def calling_opentok(action: str) -> Iterator[None]:
    """Turns what the SDK raises while doing `action` into the HTTP error it means for us."""
    try:
        yield
    except ApiError:
        raise
    except opentok.exceptions.NotFoundError:
        raise NotFound(f"OpenTok does not know it: could not {action}") from None
    except opentok.exceptions.ArchiveError as error:
        raise Conflict(f"OpenTok could not {action}: {_reason(error)}") from None
    except opentok.exceptions.AuthError:
        raise UpstreamError(
            f"OpenTok refused the project credentials: could not {action}", headers=RETRY_AFTER
        ) from None
    except (opentok.exceptions.OpenTokException, requests.RequestException) as error:
        raise _upstream_error(action, error) from None


def _upstream_error(action: str, error: Exception) -> ApiError:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, requests.Timeout):
            return UpstreamTimeout(
                f"OpenTok did not answer in time: could not {action}", headers=RETRY_AFTER
            )
        if isinstance(cause, requests.RequestException):
            return UpstreamError(
                f"OpenTok could not be reached: could not {action}", headers=RETRY_AFTER
            )
        cause = cause.__cause__ or cause.__context__
    status = error.args[1] if len(error.args) > 1 else None
    # The SDK passes some of OpenTok's answers on as a bare status (set_archive_layout's 404
    # and 409, delete_archive's 409): they mean what its NotFoundError and ArchiveError mean.
    if status == 404:
        return NotFound(f"OpenTok does not know it: could not {action}")
    if status == 409:
        return Conflict(f"OpenTok could not {action} in the archive's present state")
    # A bare RequestError is OpenTok's 400: something about the request itself (no one connected).
    if isinstance(error, opentok.exceptions.RequestError) and status is None:
        return BadRequest(f"OpenTok refused to {action}: {_reason(error)}")
    return UpstreamError(f"OpenTok failed: could not {action}", headers=RETRY_AFTER)


def _reason(error: Exception) -> str:
    return str(error.args[0]) if error.args and error.args[0] else "no reason given"
