"""POST /archive/{archiveId}/stop: stops a recording; stopping it again answers its state.

In `host` control, only with a moderator token for the archive's session. Automatic recordings
(ArchiveMode `always`) cannot be stopped: a 409 says so, and nothing changes.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import api, archives, config, moderator_tokens, validation
from backend.errors import Conflict
from backend.observability import tracer
from backend.opentok_client import archive_fields, calling_opentok, client, read_archive

logger = Logger()
metrics = Metrics()
app = api.resolver()

AUTOMATIC = (
    "this room records automatically: automatic recordings end when everyone leaves the"
    " session, and cannot be stopped"
)


@app.post("/archive/<archive_id>/stop")
def stop_archive(archive_id: str) -> dict[str, Any]:
    host = moderator_tokens.authorize(app.current_event, "stop recordings")
    archive_id = validation.archive_id(archive_id)
    api.request_fields(app.current_event)  # no fields are used, but a malformed body is refused
    known = archives.get(archive_id)
    if host is not None:
        # Not started through us, or its start timed out: OpenTok knows its session.
        session_id = known["sessionId"] if known else read_archive(archive_id)["sessionId"]
        moderator_tokens.require_session(host, session_id, "stop this recording")
    if known and known["statusRank"] >= archives.STATUS_RANK["stopped"]:
        return archives.public(known)
    if config.ARCHIVE_MODE == "always":
        raise Conflict(AUTOMATIC)
    opentok_client = client()
    try:
        with calling_opentok("stop the archive"):
            stopped = archive_fields(opentok_client.stop_archive(archive_id))
    except Conflict:
        # Stopped already (by another click, or by OpenTok when everyone left): why, it says.
        stopped = read_archive(archive_id, opentok_client)
    else:
        if stopped["status"] in archives.RECORDING:
            # An automatic archive, whatever this stack's mode: OpenTok's stop has no effect.
            raise Conflict(AUTOMATIC)
        metrics.add_metric(name="ArchiveStopped", unit=MetricUnit.Count, value=1)
    return archives.public(archives.record(stopped))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
