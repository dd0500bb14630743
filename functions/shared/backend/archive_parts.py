"""The next part of a recording OpenTok stopped at its 4-hour limit (ContinueAfterLimit).

OpenTok records at most 4 hours in one archive, then stops it with the reason `maximum
duration exceeded` (contract §6). With ContinueAfterLimit `true`, whoever learns of that stop
first (the archive callback, or the reconciler when the callback was lost) starts the next part
in the same session with the same options: output and stream mode, resolution, audio and video,
the layout it last had, the name, and for a manual recording the streams it recorded. The parts
form a series: each knows the id of the first part (`seriesId`), its number (`part`) and the
part it continues (`previousPart`); the part before names it (`nextPart`).

Once only: the stopped part is claimed by a conditional write before OpenTok is asked, so
repeated or concurrent callbacks start one next part. A claim lapses after CLAIM_SECONDS, so
one whose invocation died is taken up by a later callback or reconciler run. When OpenTok
refuses (nobody connected any more: its 404, or 400 in older answers; the session recorded
already: 409) there is no next part: logged, kept on the record, not asked again. When it
fails or cannot be reached, the claim is let go and the error raised, to be asked again.
Nor is there one for a stop learnt of too late (LATE_AFTER_MS): the room may hold another
meeting by then. In ArchiveMode `always` OpenTok starts the next archive itself.

Imports the OpenTok SDK: only functions that learn of stops import this module.
"""

from typing import Any

import opentok
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from backend import archive_start, archives, config
from backend.errors import ApiError
from backend.opentok_client import archive_fields, calling_opentok, client, select_archive_stream

logger = Logger(child=True)
metrics = Metrics()  # Powertools' metrics are one set per function, flushed by its handler

TOO_LONG = "maximum duration exceeded"  # OpenTok's reason for its 4-hour stop (contract §3)
CLAIM_SECONDS = 60
# OpenTok's last word on the stopped part older than this: too late to go on recording.
LATE_AFTER_MS = 30 * 60 * 1000


def continue_after_limit(archive: dict[str, Any], opentok_json: dict[str, Any]) -> str | None:
    """Starts the next part of `archive` (as stored, after `opentok_json`, OpenTok's own JSON
    of it) when OpenTok stopped it at its limit and no one did before; returns the next part's
    id, or None. Raises ApiError when OpenTok could not be asked (to be asked again later)."""
    if not config.CONTINUE_AFTER_LIMIT or config.ARCHIVE_MODE == "always":
        return None
    if archive.get("reason") != TOO_LONG or archive["status"] == "deleted":
        return None
    if archive.get("nextPart") or archive.get("nextPartRefused"):
        return None  # a repeated callback, or a later status of the same stop
    if not archives.claim_next_part(archive["id"], archives.now_ms() + CLAIM_SECONDS * 1000):
        return None
    updated_at = opentok_json.get("updatedAt")
    if isinstance(updated_at, int) and updated_at < archives.now_ms() - LATE_AFTER_MS:
        _refuse(archive, "its stop was learnt of too late to go on recording")
        return None
    opentok_client = client()
    try:
        with calling_opentok("start the next part"):
            started = archive_start.start(opentok_client, _options(archive))
    except ApiError as error:
        if error.status >= 500:  # OpenTok broke or was out of reach: asked again later
            archives.release_next_part(archive["id"])
            raise
        _refuse(archive, error.message)  # nobody connected any more, most often
        return None
    if started is None:
        _refuse(archive, "the session is being recorded already")
        return None
    series = {
        "seriesId": archive.get("seriesId") or archive["id"],
        "part": int(archive.get("part") or 1) + 1,
        "previousPart": archive["id"],
    }
    next_part = archives.record(archive_fields(started), archive.get("layout"), series)
    archives.link_next_part(archive["id"], next_part["id"], series["seriesId"])
    metrics.add_metric(name="ArchivePartStarted", unit=MetricUnit.Count, value=1)
    logger.info(
        "started the next part of a recording OpenTok stopped at its limit",
        extra={"archive_id": archive["id"], "next_part": next_part["id"], "part": series["part"]},
    )
    if archive.get("streamMode") == "manual":
        _select_streams(next_part["id"], opentok_json.get("streams"))
    return next_part["id"]


def _options(archive: dict[str, Any]) -> dict[str, Any]:
    """The SDK's start_archive arguments of the part before, as its record keeps them."""
    options: dict[str, Any] = {
        "session_id": archive["sessionId"],
        "name": archive.get("name") or None,
        "output_mode": opentok.OutputModes(archive.get("outputMode") or "composed"),
        "stream_mode": opentok.StreamModes(archive.get("streamMode") or "auto"),
        "has_audio": archive.get("hasAudio", True),
        "has_video": archive.get("hasVideo", True),
    }
    if options["output_mode"] == opentok.OutputModes.composed:
        options["resolution"] = archive.get("resolution")
        if archive.get("layout"):
            options["layout"] = archive["layout"]
    return options


def _select_streams(archive_id: str, streams: Any) -> None:
    # A manual recording records no stream until one is added: those of the part before that
    # are still published go on in this one; a stream gone since is no loss.
    for stream in streams if isinstance(streams, list) else []:
        if not isinstance(stream, dict) or not isinstance(stream.get("streamId"), str):
            continue
        selection = {"addStream": stream["streamId"]}
        selection |= {
            k: stream[k] for k in ("hasAudio", "hasVideo") if isinstance(stream.get(k), bool)
        }
        try:
            select_archive_stream(archive_id, selection)
        except ApiError as error:
            logger.info(
                "a stream of the part before was not added to the next part",
                extra={"archive_id": archive_id, "reason": error.message},
            )


def _refuse(archive: dict[str, Any], why: str) -> None:
    logger.warning(
        "no next part of a recording OpenTok stopped at its limit",
        extra={"archive_id": archive["id"], "session_id": archive["sessionId"], "reason": why},
    )
    archives.refuse_next_part(archive["id"], why)
