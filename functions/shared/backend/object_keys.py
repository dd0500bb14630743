"""The object keys OpenTok writes to our bucket, read without touching S3.

Apart from backend.bucket so that the ready function, which only reads keys from its
events, does not create an S3 client it would never use.
"""

import re
from typing import NamedTuple

# OpenTok's layout: <apiKey>/<archiveId>/archive.mp4 (composed) or archive.zip (individual).
_KEY = re.compile(
    r"(?P<api_key>[0-9A-Za-z-]{1,64})/"
    r"(?P<archive_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/"
    r"archive\.(?P<extension>mp4|zip)"
)


class RecordingKey(NamedTuple):
    api_key: str
    archive_id: str
    extension: str


def parse_key(key: str) -> RecordingKey | None:
    """The parts of an (already decoded) object key, or None if OpenTok did not write it."""
    match = _KEY.fullmatch(key)
    return RecordingKey(**match.groupdict()) if match else None
