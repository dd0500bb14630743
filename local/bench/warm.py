"""Warm latency per route: each function warm in its own worker, against moto and the emulator.

Two figures per invocation: the duration Lambda would report (the handler's own time in its
worker, `Functions.reports`), and the round trip from the benchmark to the worker and back.
Each route's events, and the records they need, are made before its clock starts.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.bench.cold import JOBS
from local.bench.stack import BenchHarness, event

WARM_UP = 5


@dataclass
class Latency:
    route: str
    function: str
    durations: list[float]  # seconds, as Lambda's REPORT says
    round_trips: list[float]  # seconds, from here to the worker and back


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


ROUTES = {
    "GET /session": "SessionFunction",
    "GET /room/{name}": "RoomFunction",
    "POST /archive/start": "StartArchiveFunction",
    "POST /archive/{id}/stop": "StopArchiveFunction",
    "GET /archive/{id}": "GetArchiveFunction",
    "GET /archive": "ListArchivesFunction",
    "GET /archive/{id}/view": "ViewArchiveFunction",
    "POST /archive/callback": "ArchiveCallbackFunction",
    "S3 ObjectCreated": "MarkReadyFunction",
}


def _events(stack: BenchHarness, function: str, count: int) -> list[dict[str, Any]]:
    """The events of the cold starts' jobs (a new recording to start, to stop...), but one
    room that exists already: the common case, where a cold start is a room's first request."""
    if function == "RoomFunction":
        stack.invoke(function, event("room"))
        return [event("room")] * count
    return [JOBS[function](stack)["event"] for _ in range(count)]


def invoke(stack: BenchHarness, function: str, one: dict[str, Any]) -> tuple[float, float]:
    """(duration, round trip) in seconds of one invocation that must succeed."""
    started = time.perf_counter()
    answer = stack.invoke(function, one)
    round_trip = time.perf_counter() - started
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    if status is not None and status >= 400:
        raise RuntimeError(f"{function} answered {status}: {answer.get('body')}")
    return stack.functions.reports[-1].duration_ms / 1000, round_trip


def measure(invocations: int, progress: Callable[[str], None]) -> list[Latency]:
    results = []
    with BenchHarness() as stack:
        stack.ready_archive = stack.put_archive()
        for offset in range(30):
            stack.put_archive(created_ms=1_700_000_000_000 + offset * 1000)
        for route, function in ROUTES.items():
            progress(f"warm latency: {route}")
            events = _events(stack, function, WARM_UP + invocations)
            timed = [invoke(stack, function, one) for one in events][WARM_UP:]
            results.append(Latency(route, function, *map(list, zip(*timed, strict=True))))
    return results
