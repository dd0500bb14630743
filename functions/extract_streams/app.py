"""SQS `{"archiveId"}`: splits an individual archive's zip into one object per stream.

OpenTok uploads an individual archive as `<apiKey>/<archiveId>/archive.zip`: a
`<streamId>.webm` (or `.mkv`) per stream and the manifest `<archiveId>.json` (contract §8).
The ready function asks for this on the zip's bucket event, the reconciler when that event
was lost. Each stream the manifest lists becomes `<apiKey>/<archiveId>/streams/<streamId>.webm`,
copied from the zip by byte ranges (backend.archive_zip: the zip is never loaded whole). Once
every stream is there, the archive is ready with its list of streams, and its room is told
(room_signals), as of any recording made ready. A zip that cannot be split (not a zip,
damaged, no manifest, more than OpenTok makes, streams the archive's record cannot hold) is
recorded once with the reason, not tried again, as the same zip gives the same answer; the
zip stays, to be downloaded (the room is not told of a failure: the recording is not lost,
and its page says why). Errors of S3 or DynamoDB themselves are left to SQS's retries.

Its own function, not the ready function's work: it may take minutes and a 15-minute
timeout, carries on in a new invocation when time runs short (SQS), and needs to read and
write recordings, which the ready function may not. Messages for archives that are ready,
at an end, or unknown are dropped; two for one archive do not split it twice (bucketWriteUntil).
"""

import json
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import archive_requests, archive_zip, archives, config, room_signals, table
from backend.observability import tracer

logger = Logger()
metrics = Metrics()

MEDIA_TYPES = {".webm": "video/webm", ".mkv": "video/x-matroska"}
# OpenTok's stream ids are UUIDs; anything else is not put into an object key.
STREAM_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,127}")
MAX_MANIFEST_BYTES = 1024 * 1024
# OpenTok records at most 50 streams in an individual archive (contract §6, from its
# archiving guide: https://developer.vonage.com/en/video/guides/archiving/overview).
MAX_STREAMS = 50
# OpenTok stops a recording 12 hours after it started, pauses included (contract §6).
MAX_OFFSET_MS = 12 * 60 * 60 * 1000
# OpenTok limits a connection's data to 1,000 characters.
MAX_CONNECTION_DATA = 1000


def extract_streams(archive_id: str, context: LambdaContext) -> None:
    archive = archives.get(archive_id)
    key = (archive or {}).get("s3Key") or ""
    if archive is None or not key.endswith("/archive.zip"):
        logger.warning("dropped a request for an archive with no zip we know of")
        return
    if (
        archive.get("ready")
        or archive.get("streamsFailure")
        or archive["status"] in (archives.FINISHED)
    ):
        logger.info("nothing to split", extra={"status": archive["status"]})
        return
    # What does not fit goes on in a new invocation, from what is copied.
    archive_requests.do_while_held(
        archive_id, "split", context, lambda: _split(archive, key, context)
    )


def _split(archive: dict[str, Any], key: str, context: LambdaContext) -> bool:
    """True once the archive is ready or failed; False if time ran short first."""
    archive_id = archive["id"]
    try:
        found = archive_zip.open_zip(config.ARCHIVE_BUCKET, key)
        streams = _streams(found, archive_id, key.rsplit("/", 1)[0])
        for stream, entry in streams:
            copied = archive_zip.copy_entry(
                found,
                entry,
                stream["key"],
                MEDIA_TYPES[_extension(entry.name)],
                context.get_remaining_time_in_millis,
            )
            if not copied:
                return False
        stored, changed = _mark_ready(archive_id, [stream for stream, _ in streams])
    except archive_zip.Unreadable as error:
        archives.mark_streams_failed(archive_id, str(error))
        logger.warning("could not split the archive's zip", extra={"reason": str(error)})
        metrics.add_metric(name="ArchiveZipUnreadable", unit=MetricUnit.Count, value=1)
        return True
    if changed and stored:
        logger.info("archive ready with its streams", extra={"streams": len(streams)})
        metrics.add_metric(name="ArchiveReady", unit=MetricUnit.Count, value=1)
        if stored.get("stoppedAt"):
            seconds = (stored["readyAt"] - stored["stoppedAt"]) / 1000
            metrics.add_metric(
                name="SecondsFromStopToReady", unit=MetricUnit.Seconds, value=seconds
            )
        room_signals.announce(stored, "ready")
    return True


def _mark_ready(
    archive_id: str, streams: list[dict[str, Any]]
) -> tuple[dict[str, Any] | None, bool]:
    try:
        return archives.mark_streams_ready(archive_id, streams)
    except table.ItemTooLarge:
        # The same manifest would make as large a record next time: the zip cannot be split.
        raise archive_zip.Unreadable(
            "the manifest says more of its streams than an archive's record can hold"
        ) from None


def _streams(
    found: archive_zip.Zip, archive_id: str, prefix: str
) -> list[tuple[dict[str, Any], archive_zip.Entry]]:
    """The streams the manifest lists, each with its entry in the zip, earliest first."""
    manifest = _manifest(found, archive_id)
    files = manifest.get("files")
    if files is None:
        # The demo apps read each stream's id from its file's name alone: do the same.
        files = [{"filename": name} for name in found.entries if _extension(name) in MEDIA_TYPES]
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise archive_zip.Unreadable("the manifest lists no files")
    if len(files) > MAX_STREAMS:
        raise archive_zip.Unreadable(
            f"the zip holds {len(files)} streams; OpenTok records at most {MAX_STREAMS}"
        )
    streams = []
    seen = set()
    for file in files:
        name, stream_id = _media_file(found, file)
        if stream_id in seen:
            raise archive_zip.Unreadable(f"the manifest names stream {stream_id} twice")
        seen.add(stream_id)
        entry = found.entries[name]
        connection_data = file.get("connectionData")
        stream = {
            "streamId": stream_id,
            "connectionData": connection_data[:MAX_CONNECTION_DATA]
            if isinstance(connection_data, str)
            else "",
            "videoType": file.get("videoType") if isinstance(file.get("videoType"), str) else None,
            "startTimeOffset": _milliseconds(file.get("startTimeOffset")),
            "stopTimeOffset": _milliseconds(file.get("stopTimeOffset")),
            "size": entry.size,
            "key": f"{prefix}/streams/{stream_id}{_extension(entry.name)}",
        }
        streams.append((stream, entry))
    archive_zip.check_expansion(found, [entry for _, entry in streams])
    streams.sort(key=lambda pair: (pair[0]["startTimeOffset"] or 0, pair[0]["streamId"]))
    return streams


def _media_file(found: archive_zip.Zip, file: dict[str, Any]) -> tuple[str, str]:
    """The zip entry of a stream the manifest lists, and the stream's id. OpenTok names each
    file `<streamId>.webm` (or `.mkv`); the manifest's `filename` and `streamId` fields come
    from an unconfirmed source (contract §8), so either one is enough to find the other."""
    name = file.get("filename") if isinstance(file.get("filename"), str) else None
    stream_id = file.get("streamId") if isinstance(file.get("streamId"), str) else None
    if stream_id is None and name is not None:
        stream_id = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if stream_id is None or not STREAM_ID.fullmatch(stream_id):
        raise archive_zip.Unreadable("the manifest names a stream without a valid id")
    if name is None:
        name = next(
            (
                f"{stream_id}{extension}"
                for extension in MEDIA_TYPES
                if f"{stream_id}{extension}" in found.entries
            ),
            None,
        )
    if name is None or name not in found.entries or _extension(name) not in MEDIA_TYPES:
        raise archive_zip.Unreadable(f"the zip has no media file for stream {stream_id}")
    return name, stream_id


def _manifest(found: archive_zip.Zip, archive_id: str) -> dict[str, Any]:
    entry = found.entries.get(f"{archive_id}.json")
    if entry is None:
        raise archive_zip.Unreadable(f"the zip has no manifest ({archive_id}.json)")
    try:
        manifest = json.loads(archive_zip.read_entry(found, entry, MAX_MANIFEST_BYTES))
    except (ValueError, RecursionError):  # RecursionError: nested deeper than JSON is read
        raise archive_zip.Unreadable("the manifest is not JSON") from None
    if not isinstance(manifest, dict):
        raise archive_zip.Unreadable("the manifest is not a JSON object")
    return manifest


def _extension(name: str) -> str:
    return name[name.rfind(".") :].lower() if "." in name else ""


def _milliseconds(value: Any) -> int | None:
    # An offset past a recording's longest (infinity, 1e300) is no time: DynamoDB would refuse it.
    ok = isinstance(value, int | float) and 0 <= value <= MAX_OFFSET_MS
    return int(value) if ok else None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    return archive_requests.handle_batch(
        event, "split", lambda archive_id: extract_streams(archive_id, context)
    )
