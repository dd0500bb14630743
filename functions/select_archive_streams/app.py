"""POST /archive/{archiveId}/streams: adds a stream to, or removes one from, a recording that
selects its streams by hand (started with streamMode manual).

In `host` control, only with a moderator token for the archive's session. The body is
OpenTok's: `{"addStream": "<stream id>", "hasAudio": true, "hasVideo": true}` or
`{"removeStream": "<stream id>"}`, as JSON or a form. Answers the archive with OpenTok's list
of the streams it now records. A recording that takes in every stream by itself (streamMode
auto), or that has ended, is a 409 that says so; OpenTok is not asked.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import api, archives, moderator_tokens, validation
from backend.errors import Conflict
from backend.observability import tracer
from backend.opentok_client import client, read_archive, select_archive_stream

logger = Logger()
app = api.resolver()

AUTOMATIC = (
    "this recording takes in every stream by itself (streamMode auto): start one with"
    " streamMode manual to choose its streams"
)
ENDED = "this recording has ended: its streams can no longer change"


@app.post("/archive/<archive_id>/streams")
def select_archive_streams(archive_id: str) -> dict[str, Any]:
    host = moderator_tokens.authorize(app.current_event, "choose the streams of recordings")
    archive_id = validation.archive_id(archive_id)
    selection = validation.stream_selection(api.request_fields(app.current_event))
    opentok_client = client()
    known = archives.get(archive_id)
    # Not started through us, or its start timed out; or started before we kept streamMode.
    archive = known if known and known.get("streamMode") else None
    archive = archive or read_archive(archive_id, opentok_client)
    moderator_tokens.require_session(host, archive["sessionId"], "change this recording")
    if archive["status"] not in archives.RECORDING:
        raise Conflict(ENDED)
    if archive.get("streamMode") != "manual":
        raise Conflict(AUTOMATIC)
    select_archive_stream(archive_id, selection, opentok_client)
    # OpenTok's archive lists the streams it records; our record keeps no such list.
    now = read_archive(archive_id, opentok_client)
    return archives.public(archives.record(now)) | {"streams": now.get("streams") or []}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
