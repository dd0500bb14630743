"""Growth: GET /archive and a reconciler run with more and more archives, GET /room/{name}
with many rooms; what DynamoDB would read, from moto's server's record of the requests."""

import argparse
import math
import time
import uuid
from typing import Any

from local.tools.bench import median, progress, section, table
from local.tools.bench.cold import invoke
from local.tools.bench.stack import BenchHarness
from local.tools.harness import load_event

UNFINISHED = 10  # recordings under way, left to the reconciler's later runs
WINDOW_MS = 71 * 3600 * 1000  # inside the reconciler's three days


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: names and values, in UTF-8 bytes."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: dict[str, Any]) -> int:
    (kind, content), *_ = value.items()
    if kind == "N":
        return (len(content.lstrip("-").replace(".", "").strip("0") or "0") + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_bytes(v) + 1 for k, v in content.items())
    if kind == "L":
        return 3 + sum(_value_bytes(v) + 1 for v in content)
    return len(str(content).encode())


def _read(stack: BenchHarness, reads: int, function: str, one: dict) -> dict[str, Any]:
    invoke(stack, function, one)  # warms the function's caches (the secret, for rooms)
    total, in_dynamodb, items, units = [], [], 0.0, 0.0
    for _ in range(reads):
        since = len(stack.moto.calls)
        total.append(invoke(stack, function, one)[0])
        calls = stack.aws_calls("dynamodb", since=since)
        in_dynamodb.append(sum(call.seconds for call in calls))
        for answer in (call.answer for call in calls):
            if "Items" in answer:  # a Query: eventually consistent, 4 KB units over all read
                items += answer.get("ScannedCount", len(answer["Items"]))
                units += math.ceil(sum(map(item_bytes, answer["Items"])) / 4096) * 0.5
            elif "Item" in answer:  # a consistent GetItem
                items, units = items + 1, units + math.ceil(item_bytes(answer["Item"]) / 4096)
    ours = median(t - d for t, d in zip(total, in_dynamodb, strict=True))
    found = {"total": total, "in_dynamodb": in_dynamodb, "ours": ours}
    return found | {"items": items / reads, "units": units / reads}


def _seed_ready(stack: BenchHarness, created: list[int]) -> None:
    """Ready archives created at these times: one written by the product, the rest its copies."""
    from backend import archives, table

    model = archives.get(stack.put_archive(createdAt=created[0]))
    assert model is not None
    items = []
    for created_ms in created[1:]:
        fields = {"id": str(uuid.uuid4()), "createdAt": created_ms}
        key = {"pk": archives._pk(fields["id"]), "s3Key": stack.recording_key(fields["id"])}
        items.append(model | fields | key | {"createdSort": archives._sort_key(fields)})
    for start in range(0, len(items), 25):
        writes = [{"PutRequest": {"Item": table.to_item(one)}} for one in items[start : start + 25]]
        while writes:
            answer = table.dynamodb.batch_write_item(RequestItems={stack.table: writes})
            writes = answer.get("UnprocessedItems", {}).get(stack.table, [])


def growth(options: argparse.Namespace) -> tuple[Any, str]:
    """The archives are all of the last three days, the window the reconciler looks at, and all
    ready but a fixed few still recording: what it has to read stays the same as the table
    grows. The few, the rooms and one ready archive are written by backend.archives and
    backend.rooms; the other ready archives are that one's record under new ids and times,
    written 25 at a time (one at a time would take hours in moto for 100,000). Items read are
    DynamoDB's ScannedCount in the answers moto's server recorded (`Harness.aws_calls`), read
    units by DynamoDB's rules from the items returned (a Query's 4 KB units, halved as index
    queries are eventually consistent; a GetItem's by its item). moto answers an index query by
    going through every item, so its time grows with the table where DynamoDB's does not: the
    table shows it apart."""
    counts, rows, figures = options.archives or [100, 10_000, 100_000], [], []

    def read(what: str, records: int, seeded: float | None, function: str, one: dict) -> None:
        found = _read(stack, options.reads, function, one) | {"what": what, "records": records}
        row = [what, f"{records:,}", "" if seeded is None else f"{seeded:.1f}"]
        row += [f"{median(found[key]) * 1000:.1f}" for key in ("total", "in_dynamodb")]
        row += [f"{found['ours'] * 1000:.2f}", f"{found['items']:g}", f"{found['units']:g}"]
        rows.append(row)
        figures.append(found)

    # The default wait before the reconciler looks: the few under way are not its work.
    with BenchHarness(StuckAfterMinutes="15") as stack:
        from backend import rooms  # once the harness has set AWS up

        now, seeded, spacing = int(time.time() * 1000), 0, WINDOW_MS // max(counts)
        for _ in range(UNFINISHED):
            stack.put_archive(status="started", ready=False)
        for count in counts:
            progress(f"growth: {count:,} archives")
            started = time.perf_counter()
            _seed_ready(
                stack, [now - WINDOW_MS + n * spacing for n in range(seeded, count - UNFINISHED)]
            )
            seconds, seeded = time.perf_counter() - started, count - UNFINISHED
            listing = load_event("list_archives", host_key=stack.host_key)
            read("GET /archive", count, seconds, "ListArchivesFunction", listing)
            read(
                "reconciler run",
                count,
                None,
                "ReconcileArchivesFunction",
                load_event("scheduled_reconcile"),
            )
        session_id, seeded = stack.connected_session(), 0
        for count in sorted({min(count, 10_000) for count in counts}):
            progress(f"growth: {count:,} rooms")
            started = time.perf_counter()
            for n in range(seeded, count):
                rooms.session_id(f"room-{n:06d}", lambda: session_id)
            seconds, seeded = time.perf_counter() - started, count
            room = load_event("room", room=f"room-{count // 2:06d}", host_key=stack.host_key)
            read("GET /room/{name}", count, seconds, "RoomFunction", room)
    head = (
        "request | records | seeding s | p50 ms (Lambda's duration) | of which moto answering"
        " DynamoDB | p50 ms outside it | items read per request | read units per request"
    )
    # Every seeded archive is of the last three days, all of which a run read before (a COUNT
    # query of ArchivesByTime agrees; moto takes minutes for one of 100,000).
    before = "; ".join(f"{count:,} archives: {count:,}" for count in counts)
    fact = "A reconciler run reads the sparse index of unfinished archives (here a fixed few"
    fact += " still recording) where it read every archive of the last three days before,"
    fact += f" items per run then: {before}."
    return figures, section("5. Growth", table(head, rows), growth, fact)
