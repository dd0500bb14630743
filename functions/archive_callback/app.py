"""POST /archive/callback: OpenTok's archive status callback.

The body is not trusted: anyone can post to this URL. Only its archive id is read, and what
we store is what the OpenTok API says of that archive. With a signature secret configured
(CallbackSignatureSecret), a request without OpenTok's signature is refused with a 401 first.
An archive that this callback finds failed is announced to its room (room_signals). One OpenTok
stopped at its 4-hour limit goes on in a next part with ContinueAfterLimit (archive_parts);
when OpenTok cannot be asked for it, the callback fails, and OpenTok's retry asks again.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import api, archive_parts, archive_requests, archives, signed_callbacks, validation
from backend.observability import tracer
from backend.opentok_client import read_archive

logger = Logger()
metrics = Metrics()
app = api.resolver()


@app.post("/archive/callback")
def archive_callback() -> dict[str, Any]:
    signed_callbacks.require_signature(app.current_event)
    archive_id = validation.archive_id(api.request_fields(app.current_event).get("id"))
    # OpenTok's own JSON, not the SDK's Archive: that drops `reason` (why it stopped or failed).
    fields = read_archive(archive_id)
    archive = archives.record(fields)
    if archive["status"] == "failed":
        from backend import room_signals  # here: the rare failure alone needs it

        room_signals.announce_failure(archive)  # once, however many callbacks find it failed
    archive_parts.continue_after_limit(archive, fields)
    if archive["status"] == "available" and not archive.get("ready"):
        # OpenTok keeps it 72 hours: ours once copied.
        archive_requests.request("copy", archive["id"])
    return {"id": archive["id"], "status": archive["status"], "ready": bool(archive.get("ready"))}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
