"""POST /archive/callback: OpenTok's archive status callback.

The body is not trusted: anyone can post to this URL. Only its archive id is read, and what
we store is what the OpenTok API says of that archive.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from recording import api, archives, copy_queue, validation
from recording.observability import tracer
from recording.opentok_client import archive_fields, calling_opentok, client

logger = Logger()
app = api.resolver()


@app.post("/archive/callback")
def archive_callback() -> dict[str, Any]:
    archive_id = validation.archive_id(api.request_fields(app.current_event).get("id"))
    with calling_opentok("read the archive"):
        confirmed = client().get_archive(archive_id)
    archive = archives.record(archive_fields(confirmed))
    if archive["status"] == "available" and not archive.get("ready"):
        copy_queue.request_copy(archive["id"])  # OpenTok keeps it 72 hours: ours once copied
    return {"id": archive["id"], "status": archive["status"], "ready": bool(archive.get("ready"))}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
