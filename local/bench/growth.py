"""Growth: a page of GET /archive with more and more stored archives, a run of the reconciler
over them, GET /room/{name} with many rooms.

The archives are all of the last three days, the window the reconciler looks at, and all
ready but a fixed few still recording: what it has to read stays the same while the table
grows, and the previous design's reads (every archive of the window) are counted beside it.
The few, the rooms and one ready archive are written by backend.archives and backend.rooms;
the other ready archives are that one's record under new ids and times, written 25 at a time
(the product's one write at a time would take hours in moto for 100,000).

What the functions asked of DynamoDB and what it answered are moto's server's record of
their requests (`Harness.aws_calls`): DynamoDB's ScannedCount for the items read, and read
units by DynamoDB's rules from the items returned (a Query's 4 KB units, halved as index
queries are eventually consistent; a GetItem's by its item). moto answers an index query by
going through every item in memory, so its time grows with the table where DynamoDB's does
not: the table shows moto's time apart from the rest of the function's.
"""

import math
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.bench.stack import BenchHarness, event
from local.bench.warm import invoke

ARCHIVE_COUNTS = (100, 10_000, 100_000)
MOST_ROOMS = 10_000
UNFINISHED = 10  # recordings under way, left to the reconciler's later runs
WINDOW_MS = 71 * 3600 * 1000  # inside the reconciler's three days


@dataclass
class Reads:
    what: str
    records: int
    seed_seconds: float
    total: list[float]  # seconds per invocation, as Lambda's REPORT says
    in_dynamodb: list[float]  # of which moto answering DynamoDB
    items_read: float  # per request
    read_units: float  # per request
    previous_items: int | None = None  # what the previous design read (reconciler)

    @property
    def ours(self) -> float:
        return statistics.median(t - d for t, d in zip(self.total, self.in_dynamodb, strict=True))


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: names and values, in UTF-8 bytes."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: dict[str, Any]) -> int:
    (kind, content), *_ = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        digits = content.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_bytes(v) + 1 for k, v in content.items())
    if kind == "L":
        return 3 + sum(_value_bytes(v) + 1 for v in content)
    return len(str(content).encode())


def _read(
    stack: BenchHarness, reads: int, what: str, records: int, function: str, one: dict
) -> Reads:
    invoke(stack, function, one)  # warms the function's caches (the secret, for rooms)
    result = Reads(what, records, 0.0, [], [], 0.0, 0.0)
    for _ in range(reads):
        since = len(stack.moto.calls)
        duration, _ = invoke(stack, function, one)
        calls = stack.aws_calls("dynamodb", since=since)
        result.total.append(duration)
        result.in_dynamodb.append(sum(call.seconds for call in calls))
        for answer in (call.answer for call in calls):
            if "Items" in answer:  # a Query: eventually consistent, 4 KB units over all read
                result.items_read += answer.get("ScannedCount", len(answer["Items"]))
                size = sum(item_bytes(item) for item in answer["Items"])
                result.read_units += math.ceil(size / 4096) * 0.5
            elif "Item" in answer:  # a consistent GetItem
                result.items_read += 1
                result.read_units += math.ceil(item_bytes(answer["Item"]) / 4096)
    result.items_read /= reads
    result.read_units /= reads
    return result


def _seed_ready(stack: BenchHarness, created: list[int]) -> None:
    """Ready archives created at these times: one written by the product, the rest its copies."""
    from backend import archives, table

    model = archives.get(stack.put_archive(created_ms=created[0]))
    assert model is not None
    items = []
    for created_ms in created[1:]:
        archive_id = str(uuid.uuid4())
        fields = {"id": archive_id, "createdAt": created_ms}
        items.append(
            model
            | fields
            | {
                "pk": archives._pk(archive_id),
                "createdSort": archives._sort_key(fields),
                "s3Key": stack.recording_key(archive_id),
            }
        )
    for start in range(0, len(items), 25):
        writes = [
            {"PutRequest": {"Item": table.to_item(item)}} for item in items[start : start + 25]
        ]
        while writes:
            answer = table.dynamodb.batch_write_item(RequestItems={stack.table: writes})
            writes = answer.get("UnprocessedItems", {}).get(stack.table, [])


def measure(
    reads: int, progress: Callable[[str], None], counts: tuple[int, ...] = ARCHIVE_COUNTS
) -> list[Reads]:
    results: list[Reads] = []
    # The default wait before the reconciler looks: the few under way are not its work.
    with BenchHarness(StuckAfterMinutes="15") as stack:
        now = int(time.time() * 1000)
        for _ in range(UNFINISHED):
            stack.put_archive(status="started", ready=False)
        seeded = 0
        listing = event("list_archives", host_key=stack.host_key)
        for count in counts:
            progress(f"growth: seeding {count:,} archives")
            started = time.perf_counter()
            spacing = WINDOW_MS // max(counts)
            _seed_ready(
                stack, [now - WINDOW_MS + n * spacing for n in range(seeded, count - UNFINISHED)]
            )
            seed_seconds = time.perf_counter() - started
            seeded = count - UNFINISHED
            progress(f"growth: GET /archive and a reconciler run with {count:,} archives")
            result = _read(stack, reads, "GET /archive", count, "ListArchivesFunction", listing)
            result.seed_seconds = seed_seconds
            results.append(result)
            result = _read(
                stack,
                reads,
                "reconciler run",
                count,
                "ReconcileArchivesFunction",
                event("scheduled_reconcile"),
            )
            # Every seeded archive is of the last three days, all of which it read before (a
            # COUNT query of ArchivesByTime agrees; moto takes minutes for one of 100,000).
            result.previous_items = count
            results.append(result)
        session_id = stack.connected_session()
        seeded = 0
        for count in sorted({min(count, MOST_ROOMS) for count in counts}):
            progress(f"growth: seeding {count:,} rooms")
            started = time.perf_counter()
            for n in range(seeded, count):
                stack.put_room(f"room-{n:06d}", session_id)
            seed_seconds, seeded = time.perf_counter() - started, count
            room = event("room", room=f"room-{count // 2:06d}")
            result = _read(stack, reads, "GET /room/{name}", count, "RoomFunction", room)
            result.seed_seconds = seed_seconds
            results.append(result)
    return results
