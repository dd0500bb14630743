"""Warm latency per route: each function warm in its own worker of the harness."""

import argparse
import time
from typing import Any

from local.bench import median, percentile, progress, section, table
from local.bench.cold import job
from local.bench.stack import BenchHarness, event

WARM_UP = 5
ROUTES = {
    "GET /session": "Session",
    "GET /room/{name}": "Room",
    "POST /archive/start": "StartArchive",
    "POST /archive/{id}/stop": "StopArchive",
    "GET /archive/{id}": "GetArchive",
    "GET /archive": "ListArchives",
    "GET /archive/{id}/view": "ViewArchive",
    "POST /archive/callback": "ArchiveCallback",
    "S3 ObjectCreated": "MarkReady",
}


def invoke(stack: BenchHarness, function: str, one: dict[str, Any]) -> tuple[float, float]:
    """(duration, round trip) in seconds of one invocation that must succeed."""
    started = time.perf_counter()
    answer = stack.invoke(function, one)
    round_trip = time.perf_counter() - started
    if isinstance(answer, dict) and answer.get("statusCode", 200) >= 400:
        raise RuntimeError(f"{function} answered {answer['statusCode']}: {answer.get('body')}")
    return stack.functions.reports[-1].duration_ms / 1000, round_trip


def _ms(samples: list[float]) -> list[str]:
    return [f"{median(samples) * 1000:.1f}", f"{percentile(samples, 0.99) * 1000:.1f}"]


def warm(options: argparse.Namespace) -> tuple[Any, str]:
    """Each function warm in its own worker, against moto and the emulator, every event and the
    records it needs made before the clock starts. Duration is the handler's time in its worker,
    as Lambda's REPORT line gives it (`Functions.reports`); the round trip adds the event's and
    the answer's way between the benchmark and the worker."""
    figures, rows = {}, []
    with BenchHarness() as stack:
        stack.ready_archive = stack.put_archive()
        for offset in range(30):
            stack.put_archive(createdAt=1_700_000_000_000 + offset * 1000)
        # One room that exists already, the common case (a cold start is a room's first request).
        room = event("room")
        stack.invoke("RoomFunction", room)
        for route, function in ROUTES.items():
            progress(f"warm latency: {route}")
            count = WARM_UP + options.invocations
            events = [
                room if function == "Room" else job(stack, function)["event"] for _ in range(count)
            ]
            timed = [invoke(stack, f"{function}Function", one) for one in events][WARM_UP:]
            durations, trips = (list(times) for times in zip(*timed, strict=True))
            figures[route] = {"durations": durations, "round_trips": trips}
            rows.append([route, *_ms(durations), *_ms(trips)])
    head = "route | p50 ms (Lambda's duration) | p99 ms | p50 ms round trip | p99 ms"
    fact = f"{options.invocations} invocations per route."
    return figures, section("2. Warm latency per route", table(head, rows), warm, fact)
