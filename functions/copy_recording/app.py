"""SQS `{"archiveId"}`: copies a recording OpenTok kept in its cloud into our bucket.

OpenTok keeps an archive whose upload failed (fallback `opentok`, status `available`) for 72
hours only. This streams it from OpenTok's download link into the bucket under the key
OpenTok would have used, so the bucket's event marks it ready as for any upload. The archive
callback and the reconciler ask for copies. One invocation copies what fits in its time and
asks to carry on; a copy that fails is tried again by SQS, then kept in FailedRecordingCopies.

Messages that name no archive we know, or one with nothing to copy, are logged and dropped.
Two requests for the same archive do not copy it twice: the first takes it (bucketWriteUntil).
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import archive_requests, archives, config, copy_upload, download_links
from backend.errors import NotFound
from backend.observability import tracer
from backend.opentok_client import read_archive

logger = Logger()
metrics = Metrics()


def copy_recording(archive_id: str, context: LambdaContext) -> None:
    archive = archives.get(archive_id)
    if archive is None:
        logger.warning("dropped a copy request for an archive we do not know")
        return
    if archive.get("ready") or archive["status"] in archives.FINISHED:
        logger.info("nothing to copy", extra={"status": archive["status"]})
        return
    # What does not fit goes on in a new invocation, from the open upload.
    archive_requests.do_while_held(archive_id, "copy", context, lambda: _copy(archive_id, context))


def _copy(archive_id: str, context: LambdaContext) -> bool | None:
    """True once copied, False if time ran short first, None if there was nothing to copy."""
    try:
        fields = read_archive(archive_id)  # with a fresh download link (10 minutes)
    except NotFound:
        logger.warning("OpenTok does not know the archive: nothing to copy")
        return None
    archive = archives.record(fields)
    if fields["status"] != "available" or not fields.get("url"):
        logger.info(
            "OpenTok does not hold the archive to copy", extra={"status": archive["status"]}
        )
        return None
    if download_links.trusted(fields["url"]) is None:
        # Not OpenTok's: nothing is fetched, and no retry makes it so. The reconciler reports
        # the recording at risk while OpenTok still keeps it.
        logger.error("OpenTok's download link is not on a host OpenTok serves archives from")
        metrics.add_metric(name="DownloadLinkRefused", unit=MetricUnit.Count, value=1)
        return None
    key, content_type = copy_upload.recording_key(config.OPENTOK_API_KEY, fields)
    link = copy_upload.Link(fields["url"], lambda: read_archive(archive_id)["url"])
    expected = copy_upload.Expected(fields.get("size") or None, fields.get("sha256sum") or None)
    remaining = context.get_remaining_time_in_millis
    done = copy_upload.copy(key, content_type, link, remaining, expected)
    if done:
        logger.info("copied the archive into the bucket", extra={"key": key})
        metrics.add_metric(name="ArchiveCopied", unit=MetricUnit.Count, value=1)
    return done


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    return archive_requests.handle_batch(
        event, "copy", lambda archive_id: copy_recording(archive_id, context)
    )
