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
from backend.opentok_client import read_archive, select_archive_stream

logger = Logger()
app = api.resolver()

AUTOMATIC = (
    "this recording takes in every stream by itself (streamMode auto): start one with"
    " streamMode manual to choose its streams"
)
ENDED = "this recording has ended: its streams can no longer change"


@app.post("/archive/<archive_id>/streams")
def select_archive_streams(archive_id: str) -> dict[str, Any]:
    recording = moderator_tokens.authorize_recording_change(
        app.current_event,
        archive_id,
        "choose the streams of recordings",
        validation.stream_selection,
        # A record from before we kept streamMode does not say whether its streams are chosen.
        record_suffices=lambda known: bool(known.get("streamMode")),
    )
    if recording.archive["status"] not in archives.RECORDING:
        raise Conflict(ENDED)
    if recording.archive.get("streamMode") != "manual":
        raise Conflict(AUTOMATIC)
    select_archive_stream(recording.archive_id, recording.change, recording.sdk)
    # OpenTok's archive lists the streams it records; our record keeps no such list.
    now = read_archive(recording.archive_id, recording.sdk)
    return archives.public(archives.record(now)) | {"streams": now.get("streams") or []}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
