"""POST /archive/start: starts recording a session (JSON or form body, as the samples send).

How it is recorded is the host's to choose, as OpenTok's start takes it: `outputMode`,
`streamMode` (auto, or manual to add streams by hand), `resolution` (SD, HD or full HD,
landscape or portrait), `hasAudio`/`hasVideo`, and a composed recording's `layout`. A
combination OpenTok refuses is a 400 naming it, and nothing is started.

In `host` control, only with a moderator token for that session (from the room route).
Already recording: the recording under way. Nobody connected yet, or a relayed session:
a 409 that says so, since OpenTok records neither; in ArchiveMode `always`, with no automatic
recording under way yet, a 409 that says the room records by itself.
"""

from typing import Any

import opentok
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import api, archive_start, archives, config, moderator_tokens, validation
from backend.errors import Conflict
from backend.observability import tracer
from backend.opentok_client import archive_fields, calling_opentok, client

logger = Logger()
metrics = Metrics()
app = api.resolver()

AUTOMATIC = (
    "this room records automatically: recording starts when someone shares their camera,"
    " and ends when everyone leaves"
)


@app.post("/archive/start")
def start_archive() -> dict[str, Any]:
    host = moderator_tokens.authorize(app.current_event, "start recordings")
    options = _archive_options(api.request_fields(app.current_event))
    moderator_tokens.require_session(host, options["session_id"], "start this recording")
    opentok_client = client()
    with calling_opentok("start the archive"):
        started = archive_start.start(opentok_client, options)
    if started is None:
        # Already being recorded, most often by a double click: answer with that recording.
        return archives.public(_recording_of(opentok_client, options["session_id"]))
    metrics.add_metric(name="ArchiveStarted", unit=MetricUnit.Count, value=1)
    return archives.public(archives.record(archive_fields(started), _layout_of(options)))


def _layout_of(options: dict[str, Any]) -> dict[str, str] | None:
    # What OpenTok records with, which its archive JSON does not tell: best fit by default.
    if options["output_mode"] != opentok.OutputModes.composed:
        return None
    return options.get("layout") or {"type": "bestFit"}


def _archive_options(fields: dict[str, Any]) -> dict[str, Any]:
    """The SDK's start_archive arguments; the SDK sends a layout only when given one."""
    chosen = validation.recording_options(fields)
    options = {
        "session_id": validation.session_id(fields.get("sessionId")),
        "name": validation.optional_text(fields.get("name"), "name", validation.MAX_ARCHIVE_NAME),
        "output_mode": opentok.OutputModes(chosen["outputMode"]),
        "stream_mode": opentok.StreamModes(chosen["streamMode"]),
        "resolution": chosen["resolution"],
        "has_audio": chosen["hasAudio"],
        "has_video": chosen["hasVideo"],
    }
    if chosen["layout"]:
        options["layout"] = chosen["layout"]
    return options


def _recording_of(opentok_client: opentok.Client, session_id: str) -> dict[str, Any]:
    with calling_opentok("find the session's recording"):
        listed = opentok_client.list_archives(session_id=session_id, count=5)
    for archive in listed:
        if archive.status in archives.RECORDING:
            return archives.record(archive_fields(archive))
    if config.ARCHIVE_MODE == "always":  # OpenTok refuses a manual start there (contract §5)
        raise Conflict(AUTOMATIC)
    raise Conflict("the session's recording ended while this one was being started; try again")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
