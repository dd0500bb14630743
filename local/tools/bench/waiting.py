"""OpenTok calls per recording, and how soon the waiting page notices that it is ready."""

import argparse
import json
import random
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

import boto3

from local.aws.template import ROOT
from local.tools.bench import median, progress, section, table, verdict
from local.tools.bench.stack import BenchHarness
from local.tools.harness import load_event

PROCESSING_SECONDS = 60.0
Schedule = tuple[str, float, float, float]  # name, first wait s, growth, ceiling s


def page_schedule() -> Schedule:
    """The waiting page's own constants, read from web/js/view.js."""
    text = (ROOT / "web" / "js" / "view.js").read_text()
    names = ("FIRST_DELAY_MS", "DELAY_GROWTH", "MAX_DELAY_MS")
    first, growth, ceiling = (
        float(re.findall(rf"const {name} = ([0-9.]+);", text)[0]) for name in names
    )
    return ("page", first / 1000, growth, ceiling / 1000)


def _signals(stack: BenchHarness, since: int) -> int:
    return sum(1 for _, path in stack.opentok.calls[since:] if path.endswith("/signal"))


def _json(answer: dict[str, Any]) -> dict[str, Any]:
    if answer.get("statusCode") != 200:
        raise RuntimeError(f"unexpected answer {answer}")
    return json.loads(answer["body"])


def wait_for_ready(
    stack: BenchHarness, schedule: Schedule, landing: float, archive_id: str = ""
) -> dict[str, Any]:
    """A waiting page, opened when the recording stops, until it sees the recording ready
    (without an archive id, of a stopped recording made up in the table): its requests, the
    seconds from the landing to its knowing, OpenTok calls besides the room's signal."""
    _, first, growth, ceiling = schedule
    archive_id = archive_id or stack.put_archive(ready=False)
    poll, calls = load_event("get_archive", archive_id=archive_id), len(stack.opentok.calls)
    now, wait, last_status, requests, ready_from = 0.0, first, None, 0, None
    while True:
        if ready_from is None and now >= landing:  # OpenTok's upload and S3's event
            started, key = time.perf_counter(), stack.recording_key(archive_id)
            boto3.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=b"\0" * 1024)
            stack.deliver("MarkReadyFunction")
            ready_from = landing + time.perf_counter() - started
        started = time.perf_counter()
        archive = _json(stack.invoke("GetArchiveFunction", poll))
        now, requests = now + time.perf_counter() - started, requests + 1
        # The page saw what the table held when its request arrived.
        if archive["ready"] and ready_from is not None and now >= ready_from:
            made = len(stack.opentok.calls) - calls - _signals(stack, calls)
            return {"requests": requests, "notice": now - landing, "opentok_calls": made}
        if archive["status"] != last_status:
            last_status, wait = archive["status"], first
        now, wait = now + wait, min(wait * growth, ceiling)


def _steps(stack: BenchHarness) -> list[list[Any]]:
    """A recording from start to three views: [what, requests, OpenTok calls, signals]."""
    steps: list[list[Any]] = []

    def step(what: str, action: Callable[[], Any]) -> Any:
        """Counts what the action makes; it returns its requests, or the one's JSON."""
        before = len(stack.opentok.calls)
        answer = action()
        requests = answer if isinstance(answer, int) else 1
        steps.append([what, requests, len(stack.opentok.calls) - before, _signals(stack, before)])
        return answer

    def asks(function: str, one: dict[str, Any], times: int = 1) -> Callable[[], int]:
        return lambda: sum(_ok(stack.invoke(f"{function}Function", one)) for _ in range(times))

    joined = _json(
        stack.invoke("RoomFunction", load_event("room", room="calls", host_key=stack.host_key))
    )
    stack.opentok.connect(joined["sessionId"], joined["token"])
    ids = {"session_id": joined["sessionId"], "token": stack.moderator_token(joined["sessionId"])}
    start = load_event("start_archive_json", **ids)
    started = step(
        "start (POST /archive/start)", lambda: _json(stack.invoke("StartArchiveFunction", start))
    )
    ids["archive_id"] = started["id"]
    step("stop (POST /archive/{id}/stop)", asks("StopArchive", load_event("stop_archive", **ids)))
    view = load_event("view_archive", **ids)
    step(
        "View clicked before it is ready (redirect to the waiting page)", asks("ViewArchive", view)
    )
    page, landing = page_schedule(), PROCESSING_SECONDS
    waiting = "waiting page, recording lands after 60 s (S3 event included)"
    step(waiting, lambda: wait_for_ready(stack, page, landing, ids["archive_id"])["requests"])
    for number in (1, 2, 3):
        step(f"view {number} of the ready recording", asks("ViewArchive", view))
    callbacks = (
        "status callbacks, if the project's callback URL is set (started, stopped, uploaded)"
    )
    step(callbacks, asks("ArchiveCallback", load_event("archive_callback", **ids), 3))
    return steps


def _ok(answer: Any) -> int:
    if isinstance(answer, dict) and answer.get("statusCode", 200) >= 400:
        raise RuntimeError(f"unexpected answer {answer}")
    return 1


def calls_table(steps: list[list[Any]]) -> str:
    """A recording from start to three views, each call counted by the emulator."""
    head = "step | requests to our API | OpenTok REST calls | of which the room's signal"
    total = sum(row[2] for row in steps if not row[0].startswith("status callbacks"))
    polled = next(row[2] - row[3] for row in steps if row[0].startswith("waiting page"))
    viewed = sum(row[2] for row in steps if row[0].startswith("view "))
    fact = f"{total} OpenTok calls for the recording without callbacks; waiting, besides the"
    fact += f" room's signal: {polled} ({verdict(polled, 0)}); views of the ready recording:"
    fact += f" {viewed} ({verdict(viewed, 0)})."
    return section("3. OpenTok REST calls per recording", table(head, steps), calls_table, fact)


def notice_table(notices: dict[str, list[dict[str, Any]]]) -> str:
    """The waiting page (web/js/view.js) replayed on a clock of our own against the real
    functions: its polling constants read from the script, its rules (first poll at once, each
    wait longer than the last up to a ceiling, back to the first wait when the status changes)
    replayed, every poll a real GET /archive/{id}. Time passes as the schedule says, plus what
    each request really took. The recordings land at random moments between 2 s and 2 min after
    the page opens, the same for every schedule. Time to notice runs from the object's creation
    in S3 to the answer that says ready; it includes the ready function handling S3's event,
    not S3's own delivery delay."""
    rows = []
    for label, (at_processing, *waits) in notices.items():  # the first lands after 60 s
        requests, noticed = at_processing["requests"], [wait["notice"] for wait in waits]
        row = [label, f"{requests} ({verdict(requests, 20)})", f"{at_processing['notice']:.2f}"]
        row += [f"{median(noticed):.2f} ({verdict(median(noticed), 2.0)})"]
        row += [f"{statistics.quantiles(noticed, n=10)[-1]:.2f}", f"{max(noticed):.2f}"]
        rows.append([*row, sum(wait["opentok_calls"] for wait in waits)])
    head = (
        f"polling schedule | requests, {PROCESSING_SECONDS:.0f} s processing (≤ 20) | s to"
        " notice it | median s to notice (≤ 2) | p90 s | worst s | OpenTok calls while"
        " waiting, besides the room's signal"
    )
    fact = f"Median, p90 and worst over {len(waits)} recordings."
    return section("4. Time to notice ready", table(head, rows), notice_table, fact)


def calls(options: argparse.Namespace) -> tuple[Any, str]:
    with BenchHarness() as stack:
        progress("OpenTok calls per recording")
        steps = _steps(stack)
        progress("time to notice ready")
        _, first, growth, _ = page_schedule()
        # The page's own schedule beside a higher and a lower ceiling: why it is the one.
        schedules = [page_schedule(), *((f"ceiling {c:g} s", first, growth, c) for c in (4.0, 3.0))]
        # The same landing moments in every run and for every schedule; not for secrets.
        draw = random.Random(7)  # noqa: S311
        moments = [PROCESSING_SECONDS] + [draw.uniform(2, 120) for _ in range(options.landings)]
        notices = {
            f"{name}: {first:g} s, x{growth:g}, up to {ceiling:g} s": [
                wait_for_ready(stack, (name, first, growth, ceiling), moment) for moment in moments
            ]
            for name, first, growth, ceiling in schedules
        }
    figures = {"calls": steps, "notice": notices}
    return figures, calls_table(steps) + "\n\n" + notice_table(notices)
