"""Every few minutes: repairs archives whose S3 event or callback never came, reports the rest.

An archive stopped a while ago but not ready is looked for in S3 (a lost bucket event) and
then asked of OpenTok (a lost callback). What is still not ready after that is stuck, and
the `ArchivesStuck` metric, with its alarm, says so.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from recording import archives, config, recordings
from recording.errors import ApiError
from recording.observability import tracer
from recording.opentok_client import archive_fields, calling_opentok, client

logger = Logger()
metrics = Metrics()

LOOKBACK_MS = 3 * 24 * 3600 * 1000
WAITING = ("stopped", "uploaded", "available")
RECORDING = ("started", "paused")
# Past two hours a recording we still think records is asked of OpenTok: few run that long,
# and for one that does, OpenTok answers that it still records (one call a run).
MAX_RECORDING_MS = 2 * 3600 * 1000


def reconcile(archive: dict[str, Any], *, ask_opentok: bool = True) -> bool:
    """Repairs one archive if it can; returns whether it is ready (or viewable) now.

    One archive that cannot be checked (S3 or DynamoDB failing) is left for the next run
    rather than stopping this one.
    """
    try:
        return _reconcile(archive, ask_opentok)
    except ClientError as error:
        logger.warning(
            "could not check the archive", extra={"archive_id": archive["id"], "reason": str(error)}
        )
        return False


def _reconcile(archive: dict[str, Any], ask_opentok: bool) -> bool:
    stored = recordings.find(config.OPENTOK_API_KEY, archive["id"])
    if stored:
        key, size = stored
        archive, _ = archives.mark_ready(archive["id"], key, size)
        logger.info("marked ready from S3: its bucket event was lost", extra={"key": key})
        return True
    if not ask_opentok:
        return False
    try:
        with calling_opentok("read the archive"):
            archive = archives.record(archive_fields(client().get_archive(archive["id"])))
    except ApiError as error:
        logger.warning("could not check the archive", extra={"reason": error.message})
        return False
    # Kept in OpenTok's cloud is as good as ready; failed is an end, not a stuck state.
    return archive["status"] in ("available", "failed", "expired", "deleted")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict[str, int]:
    now = archives.now_ms()
    due = now - config.STUCK_AFTER_SECONDS * 1000
    recent = [archive for archive in archives.since(now - LOOKBACK_MS) if not archive.get("ready")]
    overdue = [
        archive
        for archive in recent
        if archive["status"] in WAITING and archive.get("stoppedAt", now) <= due
    ]
    # Still recording as far as we know: when both its stop callback and its bucket event
    # were lost, the recording is in S3 all the same (one cheap look each), and past the
    # maximum duration OpenTok says what became of it.
    recording = [
        archive
        for archive in recent
        if archive["status"] in RECORDING and archive.get("createdAt", now) <= due
    ]
    repaired = sum(reconcile(archive) for archive in overdue)
    stuck = len(overdue) - repaired
    for archive in recording:
        ended = archive.get("createdAt", now) <= now - MAX_RECORDING_MS
        if reconcile(archive, ask_opentok=ended):
            repaired += 1
    metrics.add_metric(name="ArchivesRepaired", unit=MetricUnit.Count, value=repaired)
    metrics.add_metric(name="ArchivesStuck", unit=MetricUnit.Count, value=stuck)
    if stuck:
        logger.warning("archives stuck before ready", extra={"stuck": stuck})
    return {"checked": len(overdue) + len(recording), "repaired": repaired, "stuck": stuck}
