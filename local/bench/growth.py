"""Growth: a page of GET /archive with more and more stored archives, a run of the reconciler
over them, GET /room/{name} with many rooms. Records are seeded in moto with batch writes,
timed apart from the reads.

The archives are all of the last three days, the window the reconciler looks at, and all
ready but a fixed few still recording: what it has to read stays the same while the table
grows, and the previous design's reads (every archive of the window) are counted beside it.

DynamoDB bills a Query by the size of what it read, rounded up to 4 KB (half a unit when
eventually consistent, as index queries are) and a GetItem by the item's size. The read
units here are computed that way from the items each call really returned, and the items
read are DynamoDB's ScannedCount. moto answers index queries by going through every item in
memory, so its time grows with the table where DynamoDB's does not: the table shows the time
spent inside DynamoDB calls apart from the rest of the function's.
"""

import math
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.bench.stack import EVENT_SESSION_ID, InProcessStack, archive_item, batch_put, event
from local.bench.stack import room_item as make_room_item

ARCHIVE_COUNTS = (100, 10_000, 100_000)
ROOM_COUNTS = (100, 10_000)
UNFINISHED = 10  # recordings under way, left to the reconciler's later runs
WINDOW_MS = 71 * 3600 * 1000  # inside the reconciler's three days


@dataclass
class Reads:
    what: str
    records: int
    seed_seconds: float
    total: list[float]  # seconds per invocation
    in_dynamodb: list[float]
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
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_bytes(v) + 1 for k, v in content.items())
    if kind == "L":
        return 3 + sum(_value_bytes(v) + 1 for v in content)
    return sum(len(str(part).encode()) for part in content)  # sets


class TimedDynamoDB:
    """Wraps the functions' DynamoDB client: times each call, keeps what it answered."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exceptions = client.exceptions
        self.seconds = 0.0
        self.answers: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def timed(**request: Any) -> Any:
            started = time.perf_counter()
            answer = method(**request)
            self.seconds += time.perf_counter() - started
            self.answers.append(answer)
            return answer

        return timed


def _read(stack: InProcessStack, function: str, one: dict[str, Any], times: int) -> Reads:
    import sys

    table = sys.modules["backend.table"]
    timed = TimedDynamoDB(table.dynamodb)
    table.dynamodb = timed
    total, inside, answers = [], [], []
    try:
        stack.invoke(function, one)  # warms the function's caches (the secret, for rooms)
        for _ in range(times):
            timed.seconds, timed.answers = 0.0, []
            started = time.perf_counter()
            answer = stack.invoke(function, one)
            total.append(time.perf_counter() - started)
            inside.append(timed.seconds)
            answers += timed.answers
            if "statusCode" in answer and answer["statusCode"] != 200:
                raise RuntimeError(f"{function} answered {answer}")
    finally:
        table.dynamodb = timed._client
    items_read, units = 0, 0.0
    for call in answers:
        if "Items" in call:  # a Query: eventually consistent, 4 KB units over all it read
            items_read += call.get("ScannedCount", len(call["Items"]))
            size = sum(item_bytes(item) for item in call["Items"])
            units += math.ceil(size / 4096) * 0.5
        elif "Item" in call:  # a consistent GetItem
            items_read += 1
            units += math.ceil(item_bytes(call["Item"]) / 4096)
    return Reads(function, 0, 0.0, total, inside, items_read / times, units / times)


def measure(reads: int, progress: Callable[[str], None]) -> list[Reads]:
    results: list[Reads] = []
    with InProcessStack() as stack:
        from local.bench.stack import quiet_stdout

        dynamodb = stack.dynamodb()
        with quiet_stdout():
            stack.functions.handler("ListArchivesFunction")
            stack.functions.handler("RoomFunction")
            stack.functions.handler("ReconcileArchivesFunction")
        seeded = 0
        now = int(time.time() * 1000)
        base = now - WINDOW_MS
        pending = [
            archive_item(str(uuid.uuid4()), EVENT_SESSION_ID, now, status="started", ready=False)
            for _ in range(UNFINISHED)
        ]
        batch_put(dynamodb, stack.table, pending)
        for count in ARCHIVE_COUNTS:
            progress(f"growth: seeding {count:,} archives")
            started = time.perf_counter()
            spacing = WINDOW_MS // ARCHIVE_COUNTS[-1]
            items = [
                archive_item(str(uuid.uuid4()), EVENT_SESSION_ID, base + n * spacing)
                for n in range(seeded, count - UNFINISHED)
            ]
            batch_put(dynamodb, stack.table, items)
            seed_seconds = time.perf_counter() - started
            seeded = count - UNFINISHED
            progress(f"growth: GET /archive with {count:,} archives")
            with quiet_stdout():
                listing = event("list_archives", host_key=stack.host_key)
                result = _read(stack, "ListArchivesFunction", listing, reads)
            result.what, result.records = "GET /archive", count
            result.seed_seconds = seed_seconds
            results.append(result)
            progress(f"growth: a reconciler run with {count:,} archives")
            with quiet_stdout():
                result = _read(
                    stack, "ReconcileArchivesFunction", event("scheduled_reconcile"), reads
                )
            result.what, result.records = "reconciler run", count
            # Every seeded archive is of the last three days, all of which it read before (a
            # COUNT query of ArchivesByTime agrees; moto takes minutes for one of 100,000).
            result.previous_items = count
            results.append(result)
        seeded = 0
        with quiet_stdout():
            session_id = stack.connected_session()
        for count in ROOM_COUNTS:
            progress(f"growth: seeding {count:,} rooms")
            started = time.perf_counter()
            items = [make_room_item(f"room-{n:06d}", session_id) for n in range(seeded, count)]
            batch_put(dynamodb, stack.table, items)
            seed_seconds = time.perf_counter() - started
            seeded = count
            room = f"room-{count // 2:06d}"
            with quiet_stdout():
                result = _read(stack, "RoomFunction", event("room", room=room), reads)
            result.what, result.records = "GET /room/{name}", count
            result.seed_seconds = seed_seconds
            results.append(result)
    return results
