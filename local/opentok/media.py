"""The files an archive turns into, and the upload target they are delivered to."""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

MP4_TYPE = "video/mp4"
ZIP_TYPE = "application/zip"
FALLBACKS = ("none", "opentok")
# S3-managed keys or none: OpenTok supports neither KMS nor customer keys (S3DOC).
SSE_MODES = ("s3", "none")

# A slow or unreachable endpoint must not hold a processing job for long.
_S3_CONFIG = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1})


@dataclass(frozen=True)
class RecordedStream:
    """One stream of an individual archive, as its manifest describes it."""

    stream_id: str
    connection_data: str | None
    video_type: str
    start_offset_ms: int
    stop_offset_ms: int


def individual_zip(
    archive_id: str,
    name: str,
    session_id: str,
    created_at: int,
    streams: list[tuple[RecordedStream, bytes]],
) -> bytes:
    """An individual archive's zip: a `<streamId>.webm` per stream, an `<archiveId>.json` manifest.

    Layout and manifest fields: contract §8 (DEMO `archive.js`; barc `MANIFEST.md`).
    """
    files = [
        {
            "filename": f"{stream.stream_id}.webm",
            "size": len(body),
            "startTimeOffset": stream.start_offset_ms,
            "stopTimeOffset": stream.stop_offset_ms,
            "streamId": stream.stream_id,
            "connectionData": stream.connection_data or "",
            "videoType": stream.video_type,
        }
        for stream, body in streams
    ]
    manifest = {
        "id": archive_id,
        "name": name,
        "sessionId": session_id,
        "createdAt": created_at,
        "files": files,
    }
    buffer = io.BytesIO()
    # Stored, not deflated: the entries are media, as in OpenTok's own zips.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for file, (_, body) in zip(files, streams, strict=True):
            archive.writestr(file["filename"], body)
        archive.writestr(f"{archive_id}.json", json.dumps(manifest))
    return buffer.getvalue()


@dataclass(frozen=True)
class StorageTarget:
    """An S3 upload target as set with PUT /v2/project/{apiKey}/archive/storage (contract §7)."""

    access_key: str
    secret_key: str
    bucket: str
    endpoint: str | None
    fallback: str
    sse: str = "none"

    @classmethod
    def from_request(cls, body: object) -> StorageTarget:
        """Parse the request body; ValueError carries a message fit for a 400."""
        if not isinstance(body, dict):
            raise ValueError("The request body must be a JSON object.")
        if body.get("type") != "s3":
            raise ValueError("Only upload targets of type 's3' are supported by the emulator.")
        config = body.get("config")
        if not isinstance(config, dict):
            raise ValueError("config must be an object with accessKey, secretKey and bucket.")
        fields = {name: config.get(name) for name in ("accessKey", "secretKey", "bucket")}
        for name, value in fields.items():
            if not isinstance(value, str) or not value:
                raise ValueError(f"config.{name} is required and must be a non-empty string.")
        endpoint = config.get("endpoint")
        if endpoint is not None and not _is_base_url(endpoint):
            raise ValueError(
                "config.endpoint must be a base URL with its protocol, e.g. https://s3.example.com."
            )
        # Bodies from before S3 encryption existed have no sse: they uploaded unencrypted.
        sse = config.get("sse", "none")
        if sse not in SSE_MODES:
            raise ValueError("config.sse must be 's3' or 'none'.")
        fallback = body.get("fallback", "none")
        if fallback not in FALLBACKS:
            raise ValueError("fallback must be 'none' or 'opentok'.")
        return cls(
            access_key=fields["accessKey"],
            secret_key=fields["secretKey"],
            bucket=fields["bucket"],
            endpoint=endpoint,
            fallback=fallback,
            sse=sse,
        )

    def to_public(self) -> dict:
        """The settings as echoed back; the secret never leaves the emulator."""
        config = {
            "accessKey": self.access_key,
            "secretKey": "********",
            "bucket": self.bucket,
            "sse": self.sse,
        }
        if self.endpoint:
            config["endpoint"] = self.endpoint
        return {"type": "s3", "config": config, "fallback": self.fallback}


def _is_base_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.query


def upload(
    target: StorageTarget, key: str, body: bytes, content_type: str, default_endpoint: str | None
) -> None:
    """Put one archive file into the target bucket; any failure propagates."""
    client = boto3.client(
        "s3",
        aws_access_key_id=target.access_key,
        aws_secret_access_key=target.secret_key,
        region_name="us-east-1",
        endpoint_url=target.endpoint or default_endpoint,
        config=_S3_CONFIG,
    )
    encryption = {"ServerSideEncryption": "AES256"} if target.sse == "s3" else {}
    client.put_object(
        Bucket=target.bucket, Key=key, Body=body, ContentType=content_type, **encryption
    )


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Inclusive (start, end) for a single-range `Range` header, or None to send everything.

    Raises ValueError when the range cannot be satisfied (the caller answers 416).
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match:
        # Multiple or odd ranges may be ignored: a full 200 response is still correct.
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0:
            raise ValueError("empty suffix range")
        return max(size - suffix, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ValueError("range not satisfiable")
    return start, end
