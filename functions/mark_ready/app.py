"""S3 ObjectCreated on the archive bucket: OpenTok uploaded a recording, so mark it ready.

An individual archive's zip is not watchable yet: it is recorded as uploaded and its split
into streams is asked for (functions/extract_streams), which makes it ready; a duplicate
event asks again, which the split shrugs off. Other duplicate events change nothing. Keys
that are not OpenTok recordings of this project are ignored with a log line. A recording we
never started (automatic archiving) is adopted with what the OpenTok API says of it. Once
marked, the archive's room is told (room_signals): its pages show the recording without asking.
A recording that lands after its archive was deleted is deleted, every version, not marked.
"""

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import archive_requests, archives, config, object_keys, room_signals
from backend.errors import NotFound
from backend.observability import tracer

logger = Logger()
metrics = Metrics()


def mark_ready(record: dict[str, Any]) -> None:
    # The event is read as the plain dict it is: Powertools' S3 event classes cost cold-start
    # time to import for two fields. S3 writes keys into events URL-encoded, spaces as '+'.
    stored = record["s3"]["object"]
    key = unquote_plus(stored["key"])
    recording = object_keys.parse_key(key)
    if recording is None or recording.api_key != config.OPENTOK_API_KEY:
        logger.warning(
            "ignored an object that is not a recording of this project", extra={"key": key[:512]}
        )
        return
    size = int(stored.get("size") or 0)
    # The version that landed (the bucket is versioned), which the archive's links then name.
    version = stored.get("versionId") or None
    bucket_name = record["s3"]["bucket"]["name"]
    if recording.extension == "zip":
        _split_streams(recording.archive_id, key, size, version, bucket_name)
        return
    archive, changed = archives.mark_ready(recording.archive_id, key, size, version)
    if archive is None:
        archive, changed = _adopt(recording.archive_id, key, size, version)
    if archive and archive["status"] == "deleted":
        _delete_late_upload(recording.archive_id, bucket_name)
        return
    if not changed:
        logger.info("archive was ready already", extra={"archive_id": recording.archive_id})
        return
    logger.info("archive ready", extra={"archive_id": recording.archive_id, "size": size})
    metrics.add_metric(name="ArchiveReady", unit=MetricUnit.Count, value=1)
    if archive and archive.get("stoppedAt"):
        seconds = (archive["readyAt"] - archive["stoppedAt"]) / 1000
        metrics.add_metric(name="SecondsFromStopToReady", unit=MetricUnit.Seconds, value=seconds)
    if archive:
        room_signals.announce(archive, "ready")


def _delete_late_upload(archive_id: str, bucket_name: str) -> None:
    """The user deleted the recording before its upload landed: they meant it."""
    # Here: the S3 client costs cold-start time, and only a late upload needs it.
    from backend import bucket

    versions = bucket.delete_archive(archive_id, bucket_name)
    logger.info(
        "deleted an upload that landed after its archive was deleted",
        extra={"archive_id": archive_id, "versions": versions},
    )


def _split_streams(
    archive_id: str, key: str, size: int, version: str | None, bucket_name: str
) -> None:
    archive = archives.mark_zip_uploaded(archive_id, key, size, version)
    if archive is None:
        adopted, _ = _adopt(archive_id, key, size, version, ready=False)
        archive = adopted or archives.mark_zip_uploaded(archive_id, key, size, version)
    if archive is None:
        return
    if archive["status"] == "deleted":
        _delete_late_upload(archive_id, bucket_name)
        return
    if archive.get("ready") or archive.get("streamsFailure"):
        logger.info("archive was split already", extra={"archive_id": archive_id})
        return
    if archive["status"] in archives.FINISHED:  # deleted meanwhile: nothing to split for
        logger.info("archive is at an end", extra={"status": archive["status"]})
        return
    # Asked on every event, duplicates too: the split is idempotent, and a request lost
    # between the write above and this send is asked again by S3's retry.
    archive_requests.request("split", archive_id)
    logger.info("asked to split the archive into streams", extra={"archive_id": archive_id})


def _adopt(
    archive_id: str, key: str, size: int, version: str | None, *, ready: bool = True
) -> tuple[dict | None, bool]:
    """Creates the record of a recording OpenTok made without us (automatic archiving)."""
    # Here: the SDK costs cold-start time, and only a recording we did not start needs it.
    from backend.opentok_client import read_archive

    try:
        fields = read_archive(archive_id)
    except NotFound:
        logger.warning(
            "OpenTok does not know the uploaded archive", extra={"archive_id": archive_id}
        )
        return None, False
    if archives.create_ready(fields, key, size, ready=ready, version=version):
        return archives.get(archive_id), True
    if not ready:
        return None, False  # created meanwhile by a start or callback: the caller marks it
    # Created meanwhile by a start or callback.
    return archives.mark_ready(archive_id, key, size, version)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    for record in event.get("Records") or []:
        mark_ready(record)
