"""The recording files OpenTok uploads to our bucket, and short-lived links to them."""

import re
from typing import NamedTuple

import boto3
from botocore.config import Config

from recording import config

# OpenTok's layout: <apiKey>/<archiveId>/archive.mp4 (composed) or archive.zip (individual).
_KEY = re.compile(
    r"(?P<api_key>[0-9A-Za-z-]{1,64})/"
    r"(?P<archive_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/"
    r"archive\.(?P<extension>mp4|zip)"
)

s3 = boto3.client("s3", config=Config(signature_version="s3v4"))


class RecordingKey(NamedTuple):
    api_key: str
    archive_id: str
    extension: str


def parse_key(key: str) -> RecordingKey | None:
    """The parts of an (already decoded) object key, or None if OpenTok did not write it."""
    match = _KEY.fullmatch(key)
    return RecordingKey(**match.groupdict()) if match else None


def presigned_url(key: str) -> str:
    """A link that lets whoever holds it download the recording for a few minutes."""
    params = {"Bucket": config.ARCHIVE_BUCKET, "Key": key}
    if key.endswith(".zip"):
        params["ResponseContentDisposition"] = 'attachment; filename="archive.zip"'
    return s3.generate_presigned_url(
        "get_object", Params=params, ExpiresIn=config.PRESIGNED_URL_TTL_SECONDS
    )


def delete(key: str) -> None:
    """Deletes our copy; the bucket keeps the version for a while, against accidents."""
    s3.delete_object(Bucket=config.ARCHIVE_BUCKET, Key=key)
