"""Archives as we keep them: what OpenTok said of each, plus whether our copy is in S3.

Status only moves forward. Every write is conditional on the stored status not being further
along, so a late or duplicated callback, stop answer or S3 event never undoes what is known.
"""

import base64
import binascii
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from backend import table
from backend.errors import BadRequest

# How far along the archive is; failed, uploaded and available are where recording ends.
STATUS_RANK = {
    "started": 1,
    "paused": 1,
    "stopped": 2,
    "uploaded": 3,
    "available": 3,
    "failed": 3,
    "expired": 4,
    "deleted": 5,
}
UPLOADED_RANK = STATUS_RANK["uploaded"]
# OpenTok is recording (paused: nobody publishes just now).
RECORDING = ("started", "paused")
# Ends that leave nothing to repair or copy; `available` is not one: OpenTok keeps it 72 hours.
FINISHED = ("failed", "expired", "deleted")

OPENTOK_FIELDS = (
    "id",
    "status",
    "name",
    "sessionId",
    "createdAt",
    "duration",
    "size",
    "outputMode",
    "streamMode",
    "resolution",
    "hasAudio",
    "hasVideo",
    "reason",
)
# Where an archive stands in a recording of several parts: the id of its first part, its
# number (from 1), and the parts before and after it (archive_parts).
SERIES_FIELDS = ("seriesId", "part", "previousPart", "nextPart")
# The index of all archives by time has a single key, as there is one list to page through.
ALL_ARCHIVES = "archive"
BY_TIME_INDEX = "ArchivesByTime"
BY_SESSION_INDEX = "ArchivesBySession"
# A sparse index: `unfinished` is present only while the archive is neither ready nor at an
# end, so the reconciler reads what is left to do, however many archives are done.
UNFINISHED_INDEX = "UnfinishedArchives"


def now_ms() -> int:
    return int(time.time() * 1000)


def _pk(archive_id: str) -> str:
    return f"archive#{archive_id}"


def get(archive_id: str) -> dict[str, Any] | None:
    return table.get(_pk(archive_id))


def record(
    fields: dict[str, Any],
    layout: dict[str, str] | None = None,
    series: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Stores what OpenTok says of an archive, unless we already know of a later status.

    `layout`, when given, is the one it was started with: OpenTok's archive JSON has none.
    `series`, when given, places it in a recording of several parts: `{seriesId, part,
    previousPart}` (archive_parts). Returns the archive as stored afterwards, whichever won.
    """
    status = fields["status"]
    rank = STATUS_RANK.get(status)
    if rank is None:
        raise ValueError(f"unknown archive status {status!r}")
    now = now_ms()
    # A read that does not know the reason (the SDK's Archive drops it) keeps the one we have.
    names = [n for n in OPENTOK_FIELDS if n != "reason" or fields.get("reason") is not None]
    values = {f":{name}": fields.get(name) for name in names if name != "id"}
    values |= {
        ":id": fields["id"],
        ":rank": rank,
        ":kind": ALL_ARCHIVES,
        ":sort": _sort_key(fields),
        ":now": now,
        ":false": False,
    }
    assignments = [f"#{name} = :{name}" for name in names]
    attribute_names = {f"#{name}": name for name in names}
    if layout is not None:
        values[":layout"] = layout
        attribute_names["#layout"] = "layout"
        assignments.append("#layout = :layout")
    for name, value in (series or {}).items():
        values[f":{name}"] = value
        attribute_names[f"#{name}"] = name  # `part` is one of DynamoDB's reserved words
        assignments.append(f"#{name} = :{name}")
    assignments += [
        "statusRank = :rank",
        "kind = :kind",
        "createdSort = :sort",
        "updatedAt = :now",
        "ready = if_not_exists(ready, :false)",
    ]
    if rank >= STATUS_RANK["stopped"]:
        assignments.append("stoppedAt = if_not_exists(stoppedAt, :now)")
    later = "attribute_not_exists(pk) OR statusRank <= :rank"
    if status not in FINISHED:
        # Listed as unfinished only while not ready; a ready one takes the write below.
        try:
            return table.update(
                _pk(fields["id"]),
                "SET " + ", ".join([*assignments, "unfinished = :kind"]),
                # One whose zip could not be split into streams is done with, not unfinished.
                f"({later}) AND (attribute_not_exists(ready) OR ready <> :true)"
                " AND attribute_not_exists(streamsFailure)",
                values | {":true": True},
                attribute_names,
            )
        except table.ConditionFailed:
            pass
    if status == "failed":
        # Our copy in the bucket (an MP4 marked ready, or a zip to split) is the recording,
        # whatever an answer says after: never both failed and ready (the page would say
        # failed and play it), nor a zip in the bucket left unsplit as failed.
        later = f"({later}) AND attribute_not_exists(s3Key)"
    try:
        return table.update(
            _pk(fields["id"]),
            "SET " + ", ".join(assignments) + " REMOVE unfinished",
            later,
            values,
            attribute_names,
        )
    except table.ConditionFailed:
        stored = get(fields["id"])
        if stored is None:  # deleted in between: nothing left to protect
            raise
        return stored


def mark_ready(
    archive_id: str, key: str, size: int, version: str | None = None
) -> tuple[dict[str, Any] | None, bool]:
    """Marks our copy as in S3: `version` is the object version that landed, which its links
    then name (an object written over it later is never served). Returns (the archive,
    whether this call changed it).

    The archive is None when we have no record of it yet.
    """
    now = now_ms()
    try:
        archive = table.update(
            _pk(archive_id),
            "SET ready = :true, s3Key = :key, #size = :size, readyAt = :now, updatedAt = :now,"
            " #status = :uploaded, statusRank = :rank, stoppedAt = if_not_exists(stoppedAt, :now),"
            " s3VersionId = :version REMOVE unfinished",
            # Expired is OpenTok's copy gone after 72 hours; ours, arriving late, is what remains.
            "attribute_exists(pk) AND ready <> :true"
            " AND (statusRank <= :rank OR #status = :expired)",
            {
                ":true": True,
                ":key": key,
                ":size": size,
                ":version": version,
                ":now": now,
                ":uploaded": "uploaded",
                ":expired": "expired",
                ":rank": UPLOADED_RANK,
            },
            {"#size": "size", "#status": "status"},
        )
        return archive, True
    except table.ConditionFailed:
        return get(archive_id), False


def set_layout(archive_id: str, layout: dict[str, str]) -> dict[str, Any]:
    """Keeps the layout a recording was changed to, as OpenTok's archive JSON does not."""
    return table.update(
        _pk(archive_id),
        "SET #layout = :layout, updatedAt = :now",
        "attribute_exists(pk)",
        {":layout": layout, ":now": now_ms()},
        {"#layout": "layout"},
    )


def mark_zip_uploaded(
    archive_id: str, key: str, size: int, version: str | None = None
) -> dict[str, Any] | None:
    """Records that an individual archive's zip is in S3 (`version`: the object version that
    landed, which its link names); it is ready once its streams are.

    Returns the archive as stored (None when we have no record of it yet). The archive is
    unfinished, so that the reconciler asks again for streams that never came; a zip that
    could not be split is forgotten, as this one, uploaded again, may be whole.
    """
    try:
        return table.update(
            _pk(archive_id),
            "SET s3Key = :key, #size = :size, updatedAt = :now, #status = :uploaded,"
            " statusRank = :rank, stoppedAt = if_not_exists(stoppedAt, :now),"
            " unfinished = :kind, s3VersionId = :version REMOVE streamsFailure",
            "attribute_exists(pk) AND ready <> :true"
            " AND (statusRank <= :rank OR #status = :expired)",
            {
                ":true": True,
                ":key": key,
                ":size": size,
                ":version": version,
                ":now": now_ms(),
                ":uploaded": "uploaded",
                ":expired": "expired",
                ":rank": UPLOADED_RANK,
                ":kind": ALL_ARCHIVES,
            },
            {"#size": "size", "#status": "status"},
        )
    except table.ConditionFailed:
        return get(archive_id)


def mark_streams_ready(
    archive_id: str, streams: list[dict[str, Any]]
) -> tuple[dict[str, Any] | None, bool]:
    """Marks an individual archive ready with its streams, each in its own object by now.

    Returns (the archive, whether this call changed it); a deleted one is left deleted.
    Raises table.ItemTooLarge for streams that make the record larger than DynamoDB keeps.
    """
    now = now_ms()
    try:
        # The streams first: the local stack's moto, unlike DynamoDB, keeps the actions
        # before one that makes the item too large.
        archive = table.update(
            _pk(archive_id),
            # Uploaded, as mark_ready writes: a `failed` read during the split never stays
            # beside ready (the page would say failed and play it).
            "SET streams = :streams, ready = :true, readyAt = :now, updatedAt = :now,"
            " #status = :uploaded, statusRank = :rank REMOVE unfinished",
            "attribute_exists(pk) AND ready <> :true AND #status <> :deleted",
            {
                ":true": True,
                ":streams": streams,
                ":now": now,
                ":deleted": "deleted",
                ":uploaded": "uploaded",
                ":rank": UPLOADED_RANK,
            },
            {"#status": "status"},
        )
        return archive, True
    except table.ConditionFailed:
        return get(archive_id), False


def mark_streams_failed(archive_id: str, reason: str) -> dict[str, Any] | None:
    """Records why an individual archive's zip could not be split into its streams.

    The zip stays in S3 (downloadable); the archive leaves the unfinished ones, as trying
    the same zip again gives the same answer.
    """
    try:
        return table.update(
            _pk(archive_id),
            "SET streamsFailure = :reason, updatedAt = :now REMOVE unfinished",
            "attribute_exists(pk) AND ready <> :true",
            {":reason": reason, ":now": now_ms(), ":true": True},
            {},
        )
    except table.ConditionFailed:
        return get(archive_id)


def mark_deleted(archive_id: str) -> dict[str, Any]:
    """Marks the archive deleted: it is no longer ready, and nothing moves it back."""
    now = now_ms()
    return table.update(
        _pk(archive_id),
        "SET #status = :deleted, statusRank = :rank, ready = :false, deletedAt = :now,"
        " updatedAt = :now REMOVE s3Key, unfinished",
        "attribute_exists(pk)",
        {":deleted": "deleted", ":rank": STATUS_RANK["deleted"], ":false": False, ":now": now},
        {"#status": "status"},
    )


def claim_bucket_write(archive_id: str, until_ms: int) -> bool:
    """Takes the writing of a recording into our bucket (its copy from OpenTok's cloud, or the
    split of its zip into streams) until a time, unless it is ready or another invocation holds
    it: duplicate requests then find it taken, and a delete waits for it."""
    now = now_ms()
    try:
        table.update(
            _pk(archive_id),
            "SET bucketWriteUntil = :until",
            "attribute_exists(pk) AND ready <> :true"
            " AND (attribute_not_exists(bucketWriteUntil) OR bucketWriteUntil < :now)",
            {":until": until_ms, ":now": now, ":true": True},
            {},
        )
    except table.ConditionFailed:
        return False
    return True


def bucket_write_under_way(archive: dict[str, Any]) -> bool:
    """True while an invocation writes the recording into our bucket (a copy or a split)."""
    return int(archive.get("bucketWriteUntil") or 0) > now_ms()


def release_bucket_write(archive_id: str) -> None:
    table.update(_pk(archive_id), "REMOVE bucketWriteUntil", "attribute_exists(pk)", {}, {})


def claim_next_part(archive_id: str, until_ms: int) -> bool:
    """Takes the start of the next part of a recording OpenTok stopped at its limit until a
    time, unless it has one, was refused one, or another invocation holds it (archive_parts)."""
    now = now_ms()
    try:
        table.update(
            _pk(archive_id),
            "SET nextPartClaimedUntil = :until",
            "attribute_exists(pk) AND attribute_not_exists(nextPart)"
            " AND attribute_not_exists(nextPartRefused)"
            " AND (attribute_not_exists(nextPartClaimedUntil) OR nextPartClaimedUntil < :now)",
            {":until": until_ms, ":now": now},
            {},
        )
    except table.ConditionFailed:
        return False
    return True


def release_next_part(archive_id: str) -> None:
    table.update(_pk(archive_id), "REMOVE nextPartClaimedUntil", "attribute_exists(pk)", {}, {})


def refuse_next_part(archive_id: str, why: str) -> None:
    """There is no next part, for this reason: kept on the record, not asked again."""
    table.update(
        _pk(archive_id),
        "SET nextPartRefused = :why REMOVE nextPartClaimedUntil",
        "attribute_exists(pk)",
        {":why": why},
        {},
    )


def link_next_part(archive_id: str, next_part_id: str, series_id: str) -> None:
    """The part names the one that continues it; the first part becomes part 1 of its series
    only now that a second one exists."""
    table.update(
        _pk(archive_id),
        "SET nextPart = :next, seriesId = if_not_exists(seriesId, :series),"
        " #part = if_not_exists(#part, :one) REMOVE nextPartClaimedUntil",
        "attribute_exists(pk)",
        {":next": next_part_id, ":series": series_id, ":one": 1},
        {"#part": "part"},
    )


def claim_failure_news(archive_id: str) -> bool:
    """True for the one caller that is to tell the archive's room it failed: the callback
    (which OpenTok may send twice at once), a view and the reconciler may each find it failed,
    and this conditional write lets only the first tell."""
    try:
        table.update(
            _pk(archive_id),
            "SET failureToldAt = :now",
            "attribute_exists(pk) AND attribute_not_exists(failureToldAt)",
            {":now": now_ms()},
            {},
        )
    except table.ConditionFailed:
        return False
    return True


def create_ready(
    fields: dict[str, Any], key: str, size: int, *, ready: bool = True, version: str | None = None
) -> bool:
    """Creates the record of an archive we did not start, already uploaded: ready, or (an
    individual archive's zip, whose streams are still to be split out) not yet and unfinished.
    False if it exists."""
    now = now_ms()
    item = {name: fields.get(name) for name in OPENTOK_FIELDS}
    item |= {
        "pk": _pk(fields["id"]),
        "status": "uploaded",
        "statusRank": UPLOADED_RANK,
        "kind": ALL_ARCHIVES,
        "createdSort": _sort_key(fields),
        "size": size,
        "ready": ready,
        "s3Key": key,
        "s3VersionId": version,
        "stoppedAt": now,
        "updatedAt": now,
    }
    item |= {"readyAt": now} if ready else {"unfinished": ALL_ARCHIVES}
    try:
        table.put_new(item)
    except table.ConditionFailed:
        return False
    return True


def _sort_key(fields: dict[str, Any]) -> str:
    # Zero-padded so that text order is time order; the id breaks ties within a second.
    return f"{int(fields['createdAt']):015d}#{fields['id']}"


def page(
    session_id: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Archives newest first, optionally of one session, and the cursor of the next page."""
    if session_id:
        index, key_name, key_value = BY_SESSION_INDEX, "sessionId", session_id
    else:
        index, key_name, key_value = BY_TIME_INDEX, "kind", ALL_ARCHIVES
    start = _decode_cursor(cursor, key_name, key_value) if cursor else None
    items, last = table.query(index, key_name, key_value, limit, start)
    return items, _encode_cursor(last) if last else None


def unfinished(created_after_ms: int) -> Iterator[dict[str, Any]]:
    """Archives created after a time that are neither ready nor at an end, newest first.

    A query of the sparse index: it reads what is left to do, not every archive.
    """
    start = None
    while True:
        items, start = table.query(
            UNFINISHED_INDEX,
            "unfinished",
            ALL_ARCHIVES,
            100,
            start,
            after=_sort_key({"createdAt": created_after_ms, "id": ""}),
        )
        yield from items
        if not start:
            return


def _encode_cursor(last_key: dict[str, Any]) -> str:
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, key_name: str, key_value: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        start = json.loads(raw)
    except (ValueError, binascii.Error):
        start = None
    # A cursor only continues the listing it came from.
    if (
        not isinstance(start, dict)
        or set(start) != {"pk", key_name, "createdSort"}
        or start[key_name] != key_value
        or not all(isinstance(value, str) for value in start.values())
        or not start["pk"].startswith("archive#")
    ):
        raise BadRequest("cursor is not one this listing gave out")
    return start


def public(
    archive: dict[str, Any],
    url: str | None = None,
    stream_url: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The archive as clients see it: OpenTok's fields, then ours.

    An individual archive also lists its streams once ready (each with a link from
    `stream_url(key)`, when given), or says why its zip could not be split into them.
    """
    view = {name: archive.get(name) for name in OPENTOK_FIELDS}
    view["layout"] = archive.get("layout")
    # A recording OpenTok stopped at its 4-hour limit goes on in parts (archive_parts).
    for name in SERIES_FIELDS:
        view[name] = archive.get(name)
    view["ready"] = bool(archive.get("ready"))
    view["url"] = url
    if archive.get("outputMode") == "individual":
        view["streams"] = (
            [_public_stream(stream, stream_url) for stream in archive["streams"]]
            if "streams" in archive
            else None
        )
        view["streamsFailure"] = archive.get("streamsFailure")
    return view


def _public_stream(
    stream: dict[str, Any], stream_url: Callable[[str], str] | None
) -> dict[str, Any]:
    shown = {name: value for name, value in stream.items() if name != "key"}
    shown["url"] = stream_url(stream["key"]) if stream_url else None
    return shown
