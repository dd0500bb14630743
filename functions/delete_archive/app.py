"""DELETE /archive/{archiveId}: deletes the recording everywhere it is kept.

OpenTok's archive first (it refuses while recording), then the record is marked deleted,
then every version of every object under the archive's prefix in S3 (MP4, zip, streams),
whatever the record knows of them. In that order, an upload that lands afterwards finds the
record deleted and its S3 event deletes it (functions/mark_ready); and a delete cut short is
finished by asking again. The record stays, so that the history says what became of it. A
failed or expired archive has nothing left at OpenTok to delete: only ours. The archive's room
is told (room_signals). In `host` control, for hosts only (the host key).
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import api, archives, bucket, host_key, room_signals, validation
from backend.errors import Conflict, NotFound
from backend.observability import tracer
from backend.opentok_client import calling_opentok, client, read_archive

logger = Logger()
metrics = Metrics()
app = api.resolver()

# OpenTok keeps no file of these, and refuses (409, 15004) to delete a failed one.
NOTHING_AT_OPENTOK = ("failed", "expired")


@app.delete("/archive/<archive_id>")
def delete_archive(archive_id: str) -> dict[str, Any]:
    host_key.require_host(app.current_event, "delete recordings")
    archive = archives.get(validation.archive_id(archive_id))
    if archive is None:
        raise NotFound("no archive with that id")
    if archive["status"] == "deleted":
        bucket.delete_archive(archive["id"])  # what a delete cut short, or a late upload, left
        return archives.public(archive)
    if archive["statusRank"] < archives.STATUS_RANK["stopped"]:
        raise Conflict("the archive is still recording: stop it first")
    if archives.bucket_write_under_way(archive):
        # Deleted now, the copy or the split would land afterwards: a recording nobody knows of.
        raise Conflict(
            "the recording is being written into the bucket: delete it once that is done",
            headers={"Retry-After": "60"},
        )
    if archive["status"] not in NOTHING_AT_OPENTOK:
        archive = _delete_at_opentok(archive)
    deleted = archives.mark_deleted(archive["id"])
    versions = bucket.delete_archive(archive["id"])
    logger.info("archive deleted", extra={"archive_id": archive["id"], "versions": versions})
    metrics.add_metric(name="ArchiveDeleted", unit=MetricUnit.Count, value=1)
    room_signals.announce(deleted, "deleted")
    return archives.public(deleted)


def _delete_at_opentok(archive: dict[str, Any]) -> dict[str, Any]:
    """Deletes OpenTok's archive; returns ours, as OpenTok last described it."""
    opentok_client = client()
    try:
        with calling_opentok("delete the archive"):
            opentok_client.delete_archive(archive["id"])
    except NotFound:
        logger.info("OpenTok had deleted the archive already", extra={"archive_id": archive["id"]})
    except Conflict:
        # Refused: still processing (deleting ours now would race it), or failed or expired
        # meanwhile, with nothing to delete. Its status says which.
        archive = archives.record(read_archive(archive["id"], opentok_client))
        if archive["status"] not in (*NOTHING_AT_OPENTOK, "deleted"):
            raise Conflict("OpenTok is still processing the archive: try again shortly") from None
    return archive


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
