"""PUT /archive/{archiveId}/layout: changes the layout of a composed recording under way.

In `host` control, only with a moderator token for the archive's session. The body is the
layout as start takes it: `{"layout": "pip"}`, `{"layout": {"type": "custom", "stylesheet":
"..."}}`, or a form's `layout`, `stylesheet`, `screenshareType`. An individual recording, or
one that has ended, is a 409 that says so; OpenTok is not asked. One that OpenTok refuses to
change (404 or 409: neither is documented for this call) is asked of OpenTok again: one it no
longer records is the same 409, and our record takes its status; one it does not know is a 404.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import api, archives, moderator_tokens, validation
from backend.errors import Conflict, NotFound
from backend.moderator_tokens import RecordingChange
from backend.observability import tracer
from backend.opentok_client import calling_opentok, read_archive

logger = Logger()
app = api.resolver()

INDIVIDUAL = (
    "this recording keeps each stream in its own file (outputMode individual): it has no"
    " layout to change"
)
ENDED = "this recording has ended: its layout can no longer change"
UNKNOWN = "OpenTok does not know this recording: its layout cannot change"


@app.put("/archive/<archive_id>/layout")
def set_archive_layout(archive_id: str) -> dict[str, Any]:
    recording = moderator_tokens.authorize_recording_change(
        app.current_event,
        archive_id,
        "change the layout of recordings",
        lambda fields: validation.archive_layout(fields, required=True),
    )
    archive, layout = recording.archive, recording.change
    if archive.get("outputMode") == "individual":
        raise Conflict(INDIVIDUAL)
    if archive["status"] not in archives.RECORDING:
        raise Conflict(ENDED)
    try:
        with calling_opentok("change the layout"):
            recording.sdk.set_archive_layout(
                recording.archive_id,
                layout["type"],
                stylesheet=layout.get("stylesheet"),
                screenshare_type=layout.get("screenshareType"),
            )
    except (NotFound, Conflict):
        _explain_refusal(recording)
        raise
    if recording.known is None:  # kept only now: a refusal leaves nothing behind
        return archives.public(archives.record(archive, layout))
    return archives.public(archives.set_layout(recording.archive_id, layout))


def _explain_refusal(recording: RecordingChange[dict[str, str]]) -> None:
    """Raises what OpenTok's archive says of a change it refused: it has ended (our record
    then takes its status, as the page shows), or OpenTok does not know it. Returns if OpenTok
    still says it records, and its refusal stands."""
    try:
        now = read_archive(recording.archive_id, recording.sdk)
    except NotFound:
        raise NotFound(UNKNOWN) from None
    if now["status"] in archives.RECORDING:
        return
    if recording.known is not None:  # one we did not keep stays so, as for any refusal
        archives.record(now)
    raise Conflict(ENDED)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
