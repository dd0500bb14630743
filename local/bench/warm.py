"""Warm latency per route, in this process: against moto and the emulator, then stubbed.

The stubbed run swaps the functions' AWS clients and the OpenTok SDK client for objects
that answer at once with canned records, so that what is left is ours: the router, the
validation, (de)serializing records, Powertools' logger and metrics.
"""

import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from local.bench.stack import (
    API_KEY,
    EVENT_SESSION_ID,
    InProcessStack,
    archive_item,
    event,
    quiet_stdout,
    room_item,
    s3_event,
)


@dataclass
class Latency:
    route: str
    function: str
    samples: list[float]

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


# route label, function, and how to make `count` events for it (records made off the clock)
Maker = Callable[[InProcessStack, int], list[dict[str, Any]]]


def _session(stack: InProcessStack, count: int) -> list[dict[str, Any]]:
    return [event("session")] * count


def _room(stack: InProcessStack, count: int) -> list[dict[str, Any]]:
    stack.invoke("RoomFunction", event("room"))  # the room exists: the common case
    return [event("room")] * count


def _start(stack: InProcessStack, count: int) -> list[dict[str, Any]]:
    events = []
    for _ in range(count):
        session_id = stack.connected_session()
        token = stack.moderator_token(session_id)
        events.append(event("start_archive_json", session_id=session_id, token=token))
    return events


def _stop(stack: InProcessStack, count: int) -> list[dict[str, Any]]:
    events = []
    for _ in range(count):
        session_id, archive_id = stack.started_archive()
        # Stubbed, the archive's record is the stub's, whose session is the events' example.
        token = stack.moderator_token(EVENT_SESSION_ID if stubbed(stack) else session_id)
        ids = {"archive_id": archive_id, "session_id": session_id, "token": token}
        events.append(event("stop_archive", **ids))
    return events


def _get(stack: InProcessStack, count: int) -> list[dict[str, Any]]:
    return [event("get_archive", archive_id=stack.ready_archive)] * count


def _list(stack: InProcessStack, count: int) -> list[dict[str, Any]]:
    return [event("list_archives", host_key=stack.host_key)] * count


def _view(stack: InProcessStack, count: int) -> list[dict[str, Any]]:
    return [event("view_archive", archive_id=stack.ready_archive)] * count


def _callback(stack: InProcessStack, count: int) -> list[dict[str, Any]]:
    session_id, archive_id = stack.started_archive()
    return [event("archive_callback", archive_id=archive_id, session_id=session_id)] * count


def _mark_ready(stack: InProcessStack, count: int) -> list[dict[str, Any]]:
    events = []
    for _ in range(count):
        archive_id = stack.put_archive(status="stopped", ready=False)
        events.append(s3_event(stack.bucket, f"{API_KEY}/{archive_id}/archive.mp4"))
    return events


ROUTES: list[tuple[str, str, Maker]] = [
    ("GET /session", "SessionFunction", _session),
    ("GET /room/{name}", "RoomFunction", _room),
    ("POST /archive/start", "StartArchiveFunction", _start),
    ("POST /archive/{id}/stop", "StopArchiveFunction", _stop),
    ("GET /archive/{id}", "GetArchiveFunction", _get),
    ("GET /archive", "ListArchivesFunction", _list),
    ("GET /archive/{id}/view", "ViewArchiveFunction", _view),
    ("POST /archive/callback", "ArchiveCallbackFunction", _callback),
    ("S3 ObjectCreated", "MarkReadyFunction", _mark_ready),
]


def _time(stack: InProcessStack, function: str, events: list[dict[str, Any]]) -> list[float]:
    handler = stack.functions.handler(function)
    from local.gateway import LambdaContext

    samples = []
    for one in events:
        context = LambdaContext(function)
        started = time.perf_counter()
        answer = handler(one, context)
        samples.append(time.perf_counter() - started)
        status = answer.get("statusCode") if isinstance(answer, dict) else None
        if status is not None and status >= 400:
            raise RuntimeError(f"{function} answered {status}: {answer.get('body')}")
    return samples


def measure(invocations: int, progress: Callable[[str], None]) -> dict[str, list[Latency]]:
    """p50/p99 per route: "moto" against moto and the emulator, "stubbed" with stub clients."""
    results: dict[str, list[Latency]] = {"moto": [], "stubbed": []}
    with InProcessStack() as stack, quiet_stdout():
        stack.ready_archive = stack.put_archive(session_id=EVENT_SESSION_ID)
        for offset in range(30):
            stack.put_archive(created_ms=1_700_000_000_000 + offset * 1000)
        for route, function, make in ROUTES:
            if function not in stack.template.functions():
                continue
            progress(f"warm latency: {route}")
            _time(stack, function, make(stack, 5))  # loads the module, warms caches
            samples = _time(stack, function, make(stack, invocations))
            results["moto"].append(Latency(route, function, samples))
        with stubbed_clients():
            stack.stubbed = True
            for route, function, make in ROUTES:
                if function not in stack.template.functions():
                    continue
                progress(f"warm latency, stubbed: {route}")
                events = make(stack, invocations + 5)
                with _answers_for(function):
                    _time(stack, function, events[:5])
                    samples = _time(stack, function, events[5:])
                results["stubbed"].append(Latency(route, function, samples))
    return results


# --- Stubs ------------------------------------------------------------------------------


def stubbed(stack: InProcessStack) -> bool:
    return getattr(stack, "stubbed", False)


class StubDynamoDB:
    """Answers each call at once with the record the route expects."""

    def __init__(self, real: Any) -> None:
        self.exceptions = real.exceptions
        self.item: dict[str, Any] | None = None
        self.updated: dict[str, Any] = {}
        self.page: list[dict[str, Any]] = []

    def get_item(self, **_: Any) -> dict[str, Any]:
        return {"Item": self.item} if self.item else {}

    def put_item(self, **_: Any) -> dict[str, Any]:
        return {}

    def update_item(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": self.updated}

    def query(self, **_: Any) -> dict[str, Any]:
        return {"Items": self.page, "Count": len(self.page)}


class StubS3:
    def generate_presigned_url(self, operation: str, Params: dict, ExpiresIn: int) -> str:
        return f"https://bucket.example/{Params['Key']}?X-Amz-Signature=stub"

    def head_object(self, **_: Any) -> dict[str, Any]:
        return {"ContentLength": 1234567}

    def delete_object(self, **_: Any) -> dict[str, Any]:
        return {}


def _stub_archive(status: str) -> SimpleNamespace:
    return SimpleNamespace(
        id=str(uuid.uuid4()),
        status=status,
        name="Weekly standup",
        session_id=EVENT_SESSION_ID,
        created_at=datetime.now(UTC),
        duration=42,
        size=0,
        output_mode="composed",
        resolution="640x480",
        has_audio=True,
        has_video=True,
        reason=None,
        url=None,
    )


class StubOpenTok:
    """The OpenTok SDK client's methods the functions call, answering at once."""

    def __init__(self, api_key: str, *_: Any, **__: Any) -> None:
        self.api_key = api_key

    def create_session(self, **_: Any) -> SimpleNamespace:
        return SimpleNamespace(session_id=EVENT_SESSION_ID)

    def generate_token(self, *_: Any, **__: Any) -> str:
        return "T1==stub"

    def start_archive(self, *_: Any, **__: Any) -> SimpleNamespace:
        return _stub_archive("started")

    def stop_archive(self, archive_id: str) -> SimpleNamespace:
        return _stub_archive("stopped")

    def get_archive(self, archive_id: str) -> SimpleNamespace:
        return _stub_archive("stopped")

    def list_archives(self, **_: Any) -> list[SimpleNamespace]:
        return [_stub_archive("started")]

    def delete_archive(self, archive_id: str) -> None:
        return None


def _stub_read_archive(archive_id: str, sdk: Any = None) -> dict[str, Any]:
    """OpenTok's own JSON of an archive, as `opentok_client.read_archive` returns it."""
    return {
        "id": archive_id,
        "status": "stopped",
        "name": "Weekly standup",
        "sessionId": EVENT_SESSION_ID,
        "createdAt": int(time.time() * 1000),
        "duration": 42,
        "size": 0,
        "outputMode": "composed",
        "resolution": "640x480",
        "hasAudio": True,
        "hasVideo": True,
        "reason": None,
        "url": None,
    }


_STUBS: dict[str, Any] = {}


@contextmanager
def stubbed_clients() -> Iterator[None]:
    """Swaps the clients the loaded functions use; puts the real ones back afterwards."""
    import sys

    import opentok

    table = sys.modules["backend.table"]
    bucket = sys.modules["backend.bucket"]
    opentok_client = sys.modules["backend.opentok_client"]
    saved = (table.dynamodb, bucket.s3, opentok_client.credentials, opentok.Client)
    _STUBS["dynamodb"] = table.dynamodb = StubDynamoDB(table.dynamodb)
    bucket.s3 = StubS3()
    # The project's credentials as read (and cached) already: moderator tokens check out.
    known = opentok_client.credentials()
    opentok_client.credentials = lambda: known
    opentok.Client = StubOpenTok
    # read_archive asks OpenTok's REST API itself, past the SDK's client; the functions hold
    # it by name, so each module that imported it gets the stub.
    real_read_archive = opentok_client.read_archive
    readers = [
        module
        for module in list(sys.modules.values())
        if getattr(module, "read_archive", None) is real_read_archive
    ]
    for module in readers:
        module.read_archive = _stub_read_archive
    try:
        yield
    finally:
        table.dynamodb, bucket.s3, opentok_client.credentials, opentok.Client = saved
        for module in readers:
            module.read_archive = real_read_archive


@contextmanager
def _answers_for(function: str) -> Iterator[None]:
    """The records the stub DynamoDB hands to this route."""
    stub: StubDynamoDB = _STUBS["dynamodb"]
    created = int(time.time() * 1000)
    ready = archive_item(str(uuid.uuid4()), EVENT_SESSION_ID, created)
    started = archive_item(str(uuid.uuid4()), EVENT_SESSION_ID, created, status="started")
    stub.item, stub.updated, stub.page = None, ready, []
    if function in ("SessionFunction", "RoomFunction"):
        stub.item = room_item("standup", EVENT_SESSION_ID)
    elif function == "StopArchiveFunction":
        stub.item = started
    elif function in ("GetArchiveFunction", "ViewArchiveFunction"):
        stub.item = ready
    elif function == "ListArchivesFunction":
        stub.page = [
            archive_item(str(uuid.uuid4()), EVENT_SESSION_ID, created - n * 1000) for n in range(10)
        ]
    yield
