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


Events = list[dict[str, Any]]


def _room(stack: BenchHarness, count: int) -> Events:
    stack.invoke("RoomFunction", event("room"))  # the room exists: the common case
    return [event("room")] * count


def _start(stack: BenchHarness, count: int) -> Events:
    events = []
    for _ in range(count):
        session_id = stack.connected_session()
        token = stack.moderator_token(session_id)
        events.append(event("start_archive_json", session_id=session_id, token=token))
    return events


def _stop(stack: BenchHarness, count: int) -> Events:
    events = []
    for _ in range(count):
        session_id, archive_id = stack.started_archive()
        token = stack.moderator_token(session_id)
        events.append(
            event("stop_archive", archive_id=archive_id, session_id=session_id, token=token)
        )
    return events


def _callback(stack: BenchHarness, count: int) -> Events:
    session_id, archive_id = stack.started_archive()
    return [event("archive_callback", archive_id=archive_id, session_id=session_id)] * count


def _mark_ready(stack: BenchHarness, count: int) -> Events:
    # Recordings of a room that someone is in, which hears that they are ready.
    session_id = stack.connected_session()
    ids = [stack.put_archive(session_id=session_id, ready=False) for _ in range(count)]
    return [stack.s3_event(archive_id) for archive_id in ids]


ROUTES: list[tuple[str, str, Callable[[BenchHarness, int], Events]]] = [
    ("GET /session", "SessionFunction", lambda stack, count: [event("session")] * count),
    ("GET /room/{name}", "RoomFunction", _room),
    ("POST /archive/start", "StartArchiveFunction", _start),
    ("POST /archive/{id}/stop", "StopArchiveFunction", _stop),
    (
        "GET /archive/{id}",
        "GetArchiveFunction",
        lambda stack, count: [event("get_archive", archive_id=stack.ready_archive)] * count,
    ),
    (
        "GET /archive",
        "ListArchivesFunction",
        lambda stack, count: [event("list_archives", host_key=stack.host_key)] * count,
    ),
    (
        "GET /archive/{id}/view",
        "ViewArchiveFunction",
        lambda stack, count: [event("view_archive", archive_id=stack.ready_archive)] * count,
    ),
    ("POST /archive/callback", "ArchiveCallbackFunction", _callback),
    ("S3 ObjectCreated", "MarkReadyFunction", _mark_ready),
]


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
        for route, function, make in ROUTES:
            progress(f"warm latency: {route}")
            events = make(stack, WARM_UP + invocations)
            timed = [invoke(stack, function, one) for one in events][WARM_UP:]
            results.append(Latency(route, function, *map(list, zip(*timed, strict=True))))
    return results
