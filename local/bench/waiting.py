"""OpenTok calls per recording, and how soon the waiting page notices that it is ready.

The waiting page (web/js/view.js) is replayed on a clock this module controls: its polling
constants are read from the script itself, its rules (first poll at once, each wait longer
than the last up to a ceiling, back to the first wait when the status changes) are
replayed, and every poll is a real GET /archive/{id} handled by the real function. The
recording lands in S3 at a chosen time: the object is written to moto's bucket, whose event
reaches the ready function. Time only passes as the schedule says, plus what each request
really took, so a minute of waiting costs a second of benchmark.
"""

import random
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.bench.stack import BenchHarness, event
from local.template import ROOT

VIEW_JS = ROOT / "web" / "js" / "view.js"
PROCESSING_SECONDS = 60.0


@dataclass(frozen=True)
class Schedule:
    name: str
    first: float  # seconds
    growth: float
    ceiling: float  # seconds

    @classmethod
    def of_page(cls) -> "Schedule":
        """The waiting page's own constants, read from web/js/view.js."""
        text = VIEW_JS.read_text()

        def constant(name: str) -> float:
            found = re.search(rf"const {name} = ([0-9.]+);", text)
            if not found:
                raise RuntimeError(f"{name} is no longer a constant of {VIEW_JS}")
            return float(found.group(1))

        return cls(
            "page",
            constant("FIRST_DELAY_MS") / 1000,
            constant("DELAY_GROWTH"),
            constant("MAX_DELAY_MS") / 1000,
        )

    def label(self) -> str:
        return f"{self.first:g} s, x{self.growth:g}, up to {self.ceiling:g} s"


@dataclass
class Wait:
    landed_at: float
    requests: int
    notice: float  # seconds from the object landing to the page knowing
    opentok_calls: int  # besides the room's signal that its recording is ready


def wait_for_ready(
    stack: BenchHarness, schedule: Schedule, landing_at: float, archive_id: str = ""
) -> Wait:
    """One waiting page, opened when the recording stops, until it sees the recording ready.

    Without an archive id, a stopped recording is made up in the table for the occasion.
    """
    archive_id = archive_id or stack.put_archive(ready=False)
    poll = event("get_archive", archive_id=archive_id)
    calls_before = len(stack.opentok.calls)
    now, wait, last_status, requests = 0.0, schedule.first, None, 0
    ready_from: float | None = None
    while True:
        if ready_from is None and now >= landing_at:
            ready_from = landing_at + _land(stack, archive_id)
        started = time.perf_counter()
        answer = stack.invoke("GetArchiveFunction", poll)
        now += time.perf_counter() - started
        requests += 1
        archive = _json(answer)
        # The page saw what the table held when its request arrived.
        seen_ready = bool(archive["ready"]) and ready_from is not None and now >= ready_from
        if seen_ready:
            return Wait(
                landing_at,
                requests,
                now - landing_at,
                len(stack.opentok.calls) - calls_before - _signals(stack, calls_before),
            )
        status = f"{archive['status']}/false"
        if status != last_status:
            last_status, wait = status, schedule.first
        now += wait
        wait = min(wait * schedule.growth, schedule.ceiling)


def _land(stack: BenchHarness, archive_id: str) -> float:
    """OpenTok's upload: the object is written and S3's event handled. Returns the seconds."""
    import boto3

    started = time.perf_counter()
    boto3.client("s3").put_object(
        Bucket=stack.bucket, Key=stack.recording_key(archive_id), Body=b"\0" * 1024
    )
    stack.deliver("MarkReadyFunction")
    return time.perf_counter() - started


def _json(answer: dict[str, Any]) -> dict[str, Any]:
    import json

    if answer.get("statusCode") != 200:
        raise RuntimeError(f"GET /archive/{{id}} answered {answer}")
    return json.loads(answer["body"])


@dataclass
class Notice:
    schedule: Schedule
    at_processing: Wait  # the recording landing after PROCESSING_SECONDS
    waits: list[Wait]

    @property
    def median(self) -> float:
        return statistics.median(wait.notice for wait in self.waits)

    @property
    def worst(self) -> float:
        return max(wait.notice for wait in self.waits)


def notice(stack: BenchHarness, schedules: list[Schedule], landings: int) -> list[Notice]:
    """Each schedule's waits for recordings landing at random moments between 2 s and 2 min."""
    # The same landing moments in every run and for every schedule; not for secrets.
    draw = random.Random(7)  # noqa: S311
    moments = [draw.uniform(2.0, 120.0) for _ in range(landings)]
    return [
        Notice(
            schedule,
            wait_for_ready(stack, schedule, PROCESSING_SECONDS),
            [wait_for_ready(stack, schedule, landing) for landing in moments],
        )
        for schedule in schedules
    ]


@dataclass
class Step:
    what: str
    requests: int
    opentok_calls: int
    signals: int = 0  # of which the room told of its recording


def _signals(stack: BenchHarness, since: int) -> int:
    return sum(1 for _, path in stack.opentok.calls[since:] if path.endswith("/signal"))


def calls_per_recording(stack: BenchHarness) -> list[Step]:
    """A recording from start to three views, counting the calls the emulator receives."""
    steps: list[Step] = []

    def step(what: str, action: Callable[[], int]) -> None:
        before = len(stack.opentok.calls)
        requests = action()
        calls = len(stack.opentok.calls) - before
        steps.append(Step(what, requests, calls, _signals(stack, before)))

    joined = _json(stack.invoke("RoomFunction", event("room", room="calls")))
    stack.opentok.connect(joined["sessionId"], joined["token"])
    started: dict[str, Any] = {}

    def start() -> int:
        start_event = event(
            "start_archive_json",
            session_id=joined["sessionId"],
            token=stack.moderator_token(joined["sessionId"]),
        )
        started.update(_json(stack.invoke("StartArchiveFunction", start_event)))
        return 1

    step("start (POST /archive/start)", start)
    ids = {"archive_id": started["id"], "session_id": joined["sessionId"]}
    token = stack.moderator_token(joined["sessionId"])
    step(
        "stop (POST /archive/{id}/stop)",
        lambda: _ok(stack.invoke("StopArchiveFunction", event("stop_archive", **ids, token=token))),
    )
    step(
        "View clicked before it is ready (redirect to the waiting page)",
        lambda: _ok(stack.invoke("ViewArchiveFunction", event("view_archive", **ids))),
    )
    page = Schedule.of_page()
    waited: list[Wait] = []

    def wait_a_minute() -> int:
        waited.append(wait_for_ready(stack, page, PROCESSING_SECONDS, started["id"]))
        return waited[0].requests

    step("waiting page, recording lands after 60 s (S3 event included)", wait_a_minute)
    for number in (1, 2, 3):
        step(
            f"view {number} of the ready recording",
            lambda: _ok(stack.invoke("ViewArchiveFunction", event("view_archive", **ids))),
        )
    callback = event("archive_callback", **ids)
    step(
        "status callbacks, if the project's callback URL is set (started, stopped, uploaded)",
        lambda: sum(_ok(stack.invoke("ArchiveCallbackFunction", callback)) for _ in range(3)),
    )
    return steps


def _ok(answer: dict[str, Any]) -> int:
    if answer.get("statusCode", 200) >= 400:
        raise RuntimeError(f"unexpected answer {answer}")
    return 1
