"""S3 ObjectCreated on the archive bucket: OpenTok uploaded a recording, so mark it ready.

Duplicate events change nothing. Keys that are not OpenTok recordings of this project are
ignored with a log line. A recording we never started (automatic archiving) is adopted with
what the OpenTok API says of it.
"""

from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from recording import archives, config, recordings

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def mark_ready(record: S3EventRecord) -> None:
    # S3 writes keys into events URL-encoded, spaces as '+'.
    key = unquote_plus(record.s3.get_object.key)
    recording = recordings.parse_key(key)
    if recording is None or recording.api_key != config.OPENTOK_API_KEY:
        logger.warning(
            "ignored an object that is not a recording of this project", extra={"key": key[:512]}
        )
        return
    size = record.s3.get_object.size or 0
    archive, changed = archives.mark_ready(recording.archive_id, key, size)
    if archive is None:
        archive, changed = _adopt(recording.archive_id, key, size)
    if not changed:
        logger.info("archive was ready already", extra={"archive_id": recording.archive_id})
        return
    logger.info("archive ready", extra={"archive_id": recording.archive_id, "size": size})
    metrics.add_metric(name="ArchiveReady", unit=MetricUnit.Count, value=1)
    if archive and archive.get("stoppedAt"):
        seconds = (archive["readyAt"] - archive["stoppedAt"]) / 1000
        metrics.add_metric(name="SecondsFromStopToReady", unit=MetricUnit.Seconds, value=seconds)


def _adopt(archive_id: str, key: str, size: int) -> tuple[dict | None, bool]:
    """Creates the record of a recording OpenTok made without us (automatic archiving)."""
    # Imported here: only recordings we never started need the SDK, and it is slow to load.
    from recording.errors import NotFound
    from recording.opentok_client import archive_fields, calling_opentok, client

    try:
        with calling_opentok("read the archive"):
            fields = archive_fields(client().get_archive(archive_id))
    except NotFound:
        logger.warning(
            "OpenTok does not know the uploaded archive", extra={"archive_id": archive_id}
        )
        return None, False
    if archives.create_ready(fields, key, size):
        return archives.get(archive_id), True
    return archives.mark_ready(archive_id, key, size)  # created meanwhile by a start or callback


@event_source(data_class=S3Event)
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: S3Event, context: LambdaContext) -> None:
    for record in event.records:
        mark_ready(record)
