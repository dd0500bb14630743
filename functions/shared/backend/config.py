"""Every setting the functions read, from the environment the template gives each function.

A function is given only the variables it needs, so anything may be empty here; the module
that uses a setting is the one that complains when it is missing.
"""

import os

TABLE_NAME = os.environ.get("TABLE_NAME", "")
ARCHIVE_BUCKET = os.environ.get("ARCHIVE_BUCKET", "")

OPENTOK_API_KEY = os.environ.get("OPENTOK_API_KEY", "")
OPENTOK_SECRET_ARN = os.environ.get("OPENTOK_SECRET_ARN", "")
# Empty: the SDK's own, api.opentok.com (or Vonage's, for Vonage application credentials).
OPENTOK_API_URL = os.environ.get("OPENTOK_API_URL") or ""
OPENTOK_TIMEOUT_SECONDS = float(os.environ.get("OPENTOK_TIMEOUT_SECONDS") or 6)

# `host`: only hosts start and stop recordings; `open`: anyone in the room, as in the sample.
ARCHIVE_CONTROL = os.environ.get("ARCHIVE_CONTROL") or "host"
HOST_KEY_SECRET_ARN = os.environ.get("HOST_KEY_SECRET_ARN", "")
# Empty: no callback signature secret was configured, and callbacks are not checked for one.
CALLBACK_SECRET_ARN = os.environ.get("CALLBACK_SECRET_ARN", "")
ARCHIVE_MODE = os.environ.get("ARCHIVE_MODE") or "manual"
# `true`: a recording OpenTok stops at its 4-hour limit goes on in a next part (archive_parts).
CONTINUE_AFTER_LIMIT = os.environ.get("CONTINUE_AFTER_LIMIT") == "true"
SITE_URL = (os.environ.get("SITE_URL") or "").rstrip("/")
PRESIGNED_URL_TTL_SECONDS = int(os.environ.get("PRESIGNED_URL_TTL_SECONDS") or 300)
STUCK_AFTER_SECONDS = 60 * int(os.environ.get("STUCK_AFTER_MINUTES") or 15)
# An archive kept by OpenTok (`available`) is ours to copy within 72 hours of its creation;
# past this many hours without our copy, the reconciler reports it at risk.
AT_RISK_AFTER_SECONDS = 3600 * int(os.environ.get("COPY_AT_RISK_AFTER_HOURS") or 48)
# Where copies of recordings OpenTok kept are asked for, and in what parts they are streamed.
COPY_QUEUE_URL = os.environ.get("COPY_QUEUE_URL", "")
COPY_PART_BYTES = 1024 * 1024 * int(os.environ.get("COPY_PART_SIZE_MIB") or 32)
# A download link lasts 10 minutes: one older than this is read anew before it is opened.
COPY_LINK_REFRESH_SECONDS = int(os.environ.get("COPY_LINK_REFRESH_SECONDS") or 8 * 60)
# Where an individual archive's zip is asked to be split into streams, and in what parts a
# large stream is copied from the zip inside S3 (UploadPartCopy: no byte passes the function).
STREAMS_QUEUE_URL = os.environ.get("STREAMS_QUEUE_URL", "")
STREAM_PART_BYTES = 1024 * 1024 * int(os.environ.get("STREAM_PART_SIZE_MIB") or 64)
TOKEN_TTL_SECONDS = int(os.environ.get("TOKEN_TTL_SECONDS") or 4 * 3600)

# The sample's GET /session serves this room, so both routes hand out the same session.
DEFAULT_ROOM = "session"
