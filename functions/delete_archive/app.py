"""DELETE /archive/{archiveId}: deletes the recording everywhere it is kept.

OpenTok's archive first (it refuses while recording), then our copy in S3, then the record
is marked deleted: the record stays, so that the history says what became of it.
In `host` control, for hosts only (the host key).
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from recording import api, archives, hosts, recordings, validation
from recording.errors import Conflict, NotFound
from recording.observability import tracer
from recording.opentok_client import calling_opentok, client

logger = Logger()
metrics = Metrics()
app = api.resolver()


@app.delete("/archive/<archive_id>")
def delete_archive(archive_id: str) -> dict[str, Any]:
    hosts.require_host(app.current_event, "delete recordings")
    archive = archives.get(validation.archive_id(archive_id))
    if archive is None:
        raise NotFound("no archive with that id")
    if archive["status"] == "deleted":
        return archives.public(archive)
    if archive["statusRank"] < archives.STATUS_RANK["stopped"]:
        raise Conflict("the archive is still recording: stop it first")
    try:
        with calling_opentok("delete the archive"):
            client().delete_archive(archive["id"])
    except NotFound:
        logger.info("OpenTok had deleted the archive already", extra={"archive_id": archive_id})
    except Conflict:
        # OpenTok keeps an archive it is still processing; deleting ours now would race it.
        raise Conflict("OpenTok is still processing the archive: try again shortly") from None
    if archive.get("s3Key"):
        recordings.delete(archive["s3Key"])
    metrics.add_metric(name="ArchiveDeleted", unit=MetricUnit.Count, value=1)
    return archives.public(archives.mark_deleted(archive["id"]))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
