"""Streams a recording from OpenTok's download link into our bucket, a part at a time.

A multipart upload under the key OpenTok would have uploaded to, so that its completion is
the bucket event that marks the archive ready. Memory holds one part. The open upload is
the record of progress (backend.multipart): a later invocation lists its parts and asks the
download link for the rest with an HTTP Range, so an interrupted copy loses one part at most.
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import requests
import urllib3
from botocore.config import Config

from backend import config, download_links, multipart

s3 = boto3.client(
    "s3", config=Config(signature_version="s3v4", retries={"mode": "standard", "max_attempts": 5})
)
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's least part, but for the last
# What finishing needs after the last part (complete the upload, or ask to carry on).
FINISHING_MS = 10_000
DOWNLOAD_TIMEOUT = (10, 60)  # connect, then between bytes
ATTEMPTS = 3  # reading a part, in a row, before giving up to SQS's redelivery
# One connection for all the parts of a copy.
http = requests.Session()


class CopyFailed(Exception):
    """The download could not be read as OpenTok described it; SQS tries again later."""


@dataclass
class Link:
    """A download link and a way to get a fresh one (re-reading the archive from OpenTok)."""

    url: str
    refresh: Callable[[], str]
    fetched: float = 0.0

    def __post_init__(self) -> None:
        self.fetched = self.fetched or time.monotonic()

    def current(self, *, force: bool = False) -> str:
        if force or time.monotonic() - self.fetched > config.COPY_LINK_REFRESH_SECONDS:
            self.url, self.fetched = self.refresh(), time.monotonic()
        if download_links.trusted(self.url) is None:
            raise CopyFailed("OpenTok's download link is not where OpenTok serves archives from")
        return self.url


def recording_key(api_key: str, archive: dict[str, Any]) -> tuple[str, str]:
    """The key OpenTok uploads an archive to, and its content type."""
    if archive.get("outputMode") == "individual":
        return f"{api_key}/{archive['id']}/archive.zip", "application/zip"
    return f"{api_key}/{archive['id']}/archive.mp4", "video/mp4"


@dataclass(frozen=True)
class Expected:
    """What OpenTok says of the recording: its `size`, and its `sha256sum` where it gives one."""

    size: int | None = None
    sha256: str | None = None


def copy(
    key: str,
    content_type: str,
    link: Link,
    remaining_ms: Callable[[], int],
    expected: Expected | None = None,
) -> bool:
    """Copies the recording behind `link` to `key`; True once the object is in the bucket.

    False when the time left ran short first: the upload stays open for the next invocation.
    Bytes that are not what OpenTok says it recorded (`expected`) never become the object
    (whose event would call the recording ready): the upload is given up, CopyFailed raised.
    """
    expected = expected or Expected()
    upload_id = multipart.open_upload(s3, config.ARCHIVE_BUCKET, key, content_type)
    parts = _parts_done(key, upload_id)
    digest = hashlib.sha256() if expected.sha256 else None
    # Parts an earlier invocation uploaded cannot be read back before the upload is done:
    # their bytes are read again from OpenTok for the digest alone.
    uploaded = sum(part["Size"] for part in parts)
    if digest is not None and not _digest_again(digest, link, uploaded, remaining_ms):
        return False
    slowest_ms = 0.0
    while True:
        offset = sum(part["Size"] for part in parts)
        if remaining_ms() < FINISHING_MS + 2 * slowest_ms:
            return False
        started = time.monotonic()
        body, size = _read_part(link, offset)
        if size is not None and offset >= size:
            break
        if size is None or not body:
            raise CopyFailed(f"the download ended at byte {offset} of {size}")
        number = len(parts) + 1
        answer = s3.upload_part(
            Bucket=config.ARCHIVE_BUCKET,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"], "Size": len(body)})
        if digest is not None:
            digest.update(body)
        slowest_ms = max(slowest_ms, (time.monotonic() - started) * 1000)
        if offset + len(body) >= size:
            break
    _check(expected, sum(part["Size"] for part in parts), digest, key, upload_id)
    done = {part["PartNumber"]: part["ETag"] for part in parts}
    multipart.complete(s3, config.ARCHIVE_BUCKET, key, upload_id, done)
    return True


def _digest_again(digest: Any, link: Link, end: int, remaining_ms: Callable[[], int]) -> bool:
    offset = 0
    while offset < end:
        if remaining_ms() < FINISHING_MS:
            return False
        body, _ = _read_part(link, offset)
        if not body:
            raise CopyFailed(f"the download ended at byte {offset}, before the parts uploaded")
        body = body[: end - offset]
        digest.update(body)
        offset += len(body)
    return True


def _check(expected: Expected, copied: int, digest: Any, key: str, upload_id: str) -> None:
    wrong = None
    if expected.size is not None and copied != expected.size:
        wrong = f"the download is {copied} bytes, and OpenTok says the recording is {expected.size}"
    elif digest is not None and digest.hexdigest() != (expected.sha256 or "").lower():
        wrong = "the download's SHA-256 is not the sha256sum OpenTok gives for the recording"
    if wrong:
        # Given up, not kept: the next attempt downloads it all again.
        s3.abort_multipart_upload(Bucket=config.ARCHIVE_BUCKET, Key=key, UploadId=upload_id)
        raise CopyFailed(wrong)


def _parts_done(key: str, upload_id: str) -> list[dict[str, Any]]:
    """The parts uploaded so far, 1 to n without a gap; what follows a gap is done again."""
    found = {
        part["PartNumber"]: part
        for part in multipart.uploaded_parts(s3, config.ARCHIVE_BUCKET, key, upload_id)
    }
    parts = []
    while len(parts) + 1 in found:
        part = found[len(parts) + 1]
        parts.append({"PartNumber": part["PartNumber"], "ETag": part["ETag"], "Size": part["Size"]})
        if part["Size"] < MIN_PART_BYTES:
            break  # a short part ends the recording: nothing may follow it
    return parts


def _read_part(link: Link, offset: int) -> tuple[bytes, int | None]:
    """Up to one part of the recording from `offset`, and the recording's size."""
    failure: Exception | None = None
    for attempt in range(ATTEMPTS):
        try:
            return _download(link.current(force=attempt > 0 and _is_refused(failure)), offset)
        # A connection that breaks mid-part surfaces from urllib3 (reading the raw stream).
        except (requests.RequestException, urllib3.exceptions.HTTPError, CopyFailed) as error:
            failure = error
    raise CopyFailed(f"could not read the download from byte {offset}: {_described(failure)}")


def _described(error: Exception | None) -> str:
    """What went wrong, without the link: requests names the URL, and the link's query string
    lets whoever holds it download the recording. Our own failures never name it."""
    if isinstance(error, CopyFailed):
        return str(error)
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return type(error).__name__ + (f" (HTTP {status})" if status else "")


def _is_refused(error: Exception | None) -> bool:
    # OpenTok answers 403 for a download link that has expired.
    response = getattr(error, "response", None)
    return response is not None and response.status_code in (401, 403)


def _download(url: str, offset: int) -> tuple[bytes, int | None]:
    headers = {"Range": f"bytes={offset}-{offset + config.COPY_PART_BYTES - 1}"}
    # No redirect is followed: where it leads was never checked (download_links).
    with http.get(
        url, headers=headers, stream=True, timeout=DOWNLOAD_TIMEOUT, allow_redirects=False
    ) as response:
        if 300 <= response.status_code < 400:
            raise CopyFailed("the download link redirected elsewhere, and no redirect is followed")
        if response.status_code == 416:  # nothing left from offset: the size says where it ends
            return b"", _total(response.headers.get("Content-Range"))
        response.raise_for_status()
        if response.status_code == 206:
            size = _total(response.headers.get("Content-Range"))
        elif offset == 0:  # the whole file, ranges ignored: read one part of it all the same
            size = int(response.headers.get("Content-Length") or 0) or None
        else:
            raise CopyFailed("the download link ignored the range asked for")
        body = response.raw.read(config.COPY_PART_BYTES, decode_content=True)
    expected = min(config.COPY_PART_BYTES, (size or 0) - offset)
    if size is not None and len(body) != expected:
        raise CopyFailed(f"the download broke off after {len(body)} of {expected} bytes")
    return body, size


def _total(content_range: str | None) -> int | None:
    # "bytes 0-99/1234" or "bytes */1234"
    total = (content_range or "").rpartition("/")[2]
    return int(total) if total.isdigit() else None
