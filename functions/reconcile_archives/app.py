"""Every few minutes: repairs archives whose S3 event or callback never came, reports the rest.

Only unfinished archives are read (a sparse index: neither ready nor at an end), so a run
costs the same with a hundred archives as with a hundred thousand. An archive stopped a
while ago but not ready is looked for in S3 (a lost bucket event) and then asked of OpenTok
(a lost callback); an individual archive's zip found there is asked to be split into
streams. One that OpenTok kept in its cloud (`available`) is not done: its copy
into our bucket is asked for (again), and the `ArchivesAtRisk` metric counts those still
not copied as their 72 hours run out. What is still not ready after that is stuck, and the
`ArchivesStuck` metric, with its alarm, says so. An archive repaired to ready, or found
failed, is announced to its room (room_signals), as its lost event would have done.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from backend import archive_parts, archive_requests, archives, bucket, config, room_signals
from backend.errors import ApiError
from backend.observability import tracer
from backend.opentok_client import read_archive

logger = Logger()
metrics = Metrics()

# OpenTok keeps an archive 72 hours from its creation: past that there is nothing to fetch.
LOOKBACK_MS = 3 * 24 * 3600 * 1000
WAITING = ("stopped", "uploaded", "available")
# Past two hours a recording we still think records is asked of OpenTok: few run that long,
# and for one that does, OpenTok answers that it still records (one call a run).
MAX_RECORDING_MS = 2 * 3600 * 1000

READY, ENDED, COPYING, SPLITTING, STUCK = "ready", "ended", "copying", "splitting", "stuck"


def reconcile(archive: dict[str, Any], *, ask_opentok: bool = True) -> str:
    """Repairs one archive if it can; returns READY, ENDED, COPYING, SPLITTING or STUCK.

    One archive that cannot be checked (S3, DynamoDB or SQS failing) is left for the next
    run rather than stopping this one.
    """
    try:
        return _reconcile(archive, ask_opentok)
    except ClientError as error:
        logger.warning(
            "could not check the archive", extra={"archive_id": archive["id"], "reason": str(error)}
        )
        return STUCK


def _reconcile(archive: dict[str, Any], ask_opentok: bool) -> str:
    stored = bucket.find(config.OPENTOK_API_KEY, archive["id"])
    if stored and stored[0].endswith(".zip"):
        return _split(archive, stored)
    if stored:
        return _ready_from_bucket(archive, stored, ask_opentok)
    if archive["status"] != "available":
        if not ask_opentok:
            return STUCK
        try:
            archive = _learn_from_opentok(archive["id"])
        except ApiError as error:
            logger.warning("could not check the archive", extra={"reason": error.message})
            return STUCK
    if archive["status"] in archives.FINISHED:
        if archive["status"] == "failed":
            room_signals.announce_failure(archive)
        return ENDED  # failed or expired is an end, not a stuck state
    if archive["status"] == "available":
        # Kept in OpenTok's cloud for 72 hours only: ours once copied into the bucket. A copy
        # under way is not asked for again: its own retries and dead-letter queue count.
        if archives.bucket_write_under_way(archive):
            return COPYING
        archive_requests.request("copy", archive["id"])
        logger.info("asked for a copy of the archive", extra={"archive_id": archive["id"]})
        return COPYING
    return STUCK


def _split(archive: dict[str, Any], stored: tuple[str, int, str | None]) -> str:
    # An individual archive is ready once split into streams: asked for (again) unless a
    # split is under way, whose own retries and dead-letter queue count.
    archive = archives.mark_zip_uploaded(archive["id"], *stored) or archive
    if not archives.bucket_write_under_way(archive):
        archive_requests.request("split", archive["id"])
        logger.info("asked to split the archive into streams", extra={"key": stored[0]})
    return SPLITTING


def _ready_from_bucket(
    archive: dict[str, Any], stored: tuple[str, int, str | None], ask_opentok: bool
) -> str:
    key, size, version = stored
    ready, changed = archives.mark_ready(archive["id"], key, size, version)
    logger.info("marked ready from S3: its bucket event was lost", extra={"key": key})
    if changed and ready:
        room_signals.announce(ready, "ready")
    if ask_opentok and archive["status"] in archives.RECORDING:
        # Its stop callback was lost as well: only OpenTok says why it stopped.
        try:
            _learn_from_opentok(archive["id"])
        except ApiError as error:
            logger.warning("could not check the archive", extra={"reason": error.message})
    return READY


def _learn_from_opentok(archive_id: str) -> dict[str, Any]:
    """Stores what OpenTok says of the archive, and goes on in a next part if OpenTok stopped
    it at its 4-hour limit (ContinueAfterLimit); returns the archive as stored."""
    # OpenTok's own JSON: the SDK's Archive drops why it stopped or failed.
    fields = read_archive(archive_id)
    archive = archives.record(fields)
    try:
        archive_parts.continue_after_limit(archive, fields)
    except ApiError as error:  # the claim is let go, for a callback or run still to come
        logger.warning("could not start the next part", extra={"reason": error.message})
    return archive


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict[str, int]:
    now = archives.now_ms()
    due = now - config.STUCK_AFTER_SECONDS * 1000
    pending = list(archives.unfinished(now - LOOKBACK_MS))
    overdue = [
        archive
        for archive in pending
        if archive["status"] in WAITING and archive.get("stoppedAt", now) <= due
    ]
    # Still recording as far as we know: when both its stop callback and its bucket event
    # were lost, the recording is in S3 all the same (one cheap look each), and past the
    # maximum duration OpenTok says what became of it.
    recording = [
        archive
        for archive in pending
        if archive["status"] in archives.RECORDING and archive.get("createdAt", now) <= due
    ]
    outcomes = [reconcile(archive) for archive in overdue]
    for archive in recording:
        ended = archive.get("createdAt", now) <= now - MAX_RECORDING_MS
        outcome = reconcile(archive, ask_opentok=ended)
        if outcome != STUCK:  # one still recording is not stuck
            outcomes.append(outcome)
    repaired = outcomes.count(READY) + outcomes.count(ENDED)
    copying = outcomes.count(COPYING)
    splitting = outcomes.count(SPLITTING)
    stuck = outcomes.count(STUCK)
    at_risk = [
        archive["id"]
        for archive in pending
        if archive["status"] == "available"
        and archive.get("createdAt", now) <= now - config.AT_RISK_AFTER_SECONDS * 1000
    ]
    metrics.add_metric(name="ArchivesRepaired", unit=MetricUnit.Count, value=repaired)
    metrics.add_metric(name="ArchivesCopying", unit=MetricUnit.Count, value=copying)
    metrics.add_metric(name="ArchivesSplitting", unit=MetricUnit.Count, value=splitting)
    metrics.add_metric(name="ArchivesStuck", unit=MetricUnit.Count, value=stuck)
    metrics.add_metric(name="ArchivesAtRisk", unit=MetricUnit.Count, value=len(at_risk))
    if stuck:
        logger.warning("archives stuck before ready", extra={"stuck": stuck})
    if at_risk:
        logger.error(
            "archives kept by OpenTok are still not in our bucket as their 72 hours run out",
            extra={"archive_ids": at_risk[:50]},
        )
    return {
        "checked": len(overdue) + len(recording),
        "repaired": repaired,
        "copying": copying,
        "splitting": splitting,
        "stuck": stuck,
        "atRisk": len(at_risk),
    }
