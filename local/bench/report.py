"""The benchmark's tables, as Markdown, each with the targets of issue 7 beside its figures,
and docs/performance.md, the page that holds them with its hand-written reading of them."""

import argparse
import statistics
from pathlib import Path
from typing import Any

from local.bench.cold import ColdResult, floor
from local.bench.copy import Copy
from local.bench.growth import Reads
from local.bench.package import Build, bytes_to_mb
from local.bench.waiting import PROCESSING_SECONDS, Notice, Step
from local.bench.warm import Latency, p50, percentile

OVERHEAD_TARGET = 0.15
NAIVE_TARGET = 0.8
NOTICE_TARGET = 2.0
REQUESTS_TARGET = 20
PACKAGE_TARGET_MB = 5.0

# Everything from this line on in docs/performance.md is written by hand and kept by the bench.
HAND_WRITTEN = "<!-- Written by hand from here on: make bench keeps it as it is. -->"


def _table(head: str, rows: list[list[Any]]) -> str:
    """A Markdown table: its head is the columns' names, ` | ` between them."""
    lines = [f"| {head} |", "|" + "---|" * len(head.split(" | "))]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _verdict(value: float, limit: float) -> str:
    return "met" if value <= limit else f"missed by {value - limit:.2f}"


def header(run: dict[str, Any], options: argparse.Namespace) -> str:
    """When, where, on which code and with which command: `run` holds machine, commit, command."""
    machine = run["machine"]
    return (
        "## make bench\n\n"
        f"{machine['date']} on {machine['cpu']} ({machine['cores']} cores, "
        f"{machine['machine']}), {machine['system']}, Python {machine['python']}.\n"
        f"Code: {run['commit']}. Command: `{run['command']}`.\n"
        f"Cold starts: {options.rounds} rounds; warm: {options.invocations} invocations per route;"
        f" growth: {options.reads} reads per step."
    )


def page(figures: str, previous: str) -> str:
    """The performance page: this run's figures, then the previous page's hand-written part."""
    kept = previous[previous.find(HAND_WRITTEN) :] if HAND_WRITTEN in previous else HAND_WRITTEN
    return (
        "# Performance\n\n"
        "`make bench` (`local/bench/`) wrote this page: the figures of its last run, as it"
        " printed them. Run it again rather than edit them; the part after them is written by"
        " hand, and the bench keeps it.\n\n"
        f"{figures.strip()}\n\n{kept.strip()}\n"
    )


def write_page(path: Path, figures: str) -> bool:
    """Writes the figures to the page at path; False when it had no hand-written part to keep."""
    previous = path.read_text() if path.exists() else ""
    path.write_text(page(figures, previous))
    return not previous or HAND_WRITTEN in previous


def cold(results: dict[str, ColdResult], rounds: int, skipped: list[str], layer: str) -> str:
    wall_floor, cpu_floor = floor(results, "wall"), floor(results, "cpu")
    fastest_floor = floor(results, "wall", fastest=True)
    rows = []
    for name, result in results.items():
        overhead, ratio = result.overhead(wall_floor), result.to_naive()
        rows.append(
            [
                name.removesuffix("Function"),
                _ms(result.median("sdk")),
                _ms(result.median("function")),
                _ms(result.median("naive")),
                f"{overhead:+.0%} ({_verdict(overhead, OVERHEAD_TARGET)})",
                f"{result.overhead(cpu_floor, 'cpu'):+.0%}",
                f"{result.overhead_of_fastest(fastest_floor):+.0%}",
                f"{ratio:.2f} ({_verdict(ratio, NAIVE_TARGET)})",
                _ms(result.median("function", "init"))
                + " + "
                + _ms(result.median("function", "event")),
                ("yes" if result.loads_opentok else "no")
                + ("" if result.calls_opentok else " (no call)"),
            ]
        )
    table = _table(
        "function | SDK floor ms | ours ms | naive ms | overhead over SDK floor (target ≤ 15%)"
        " | same, CPU time | same, fastest runs | ours / naive (≤ 0.8)"
        " | ours: init + first event ms | loads opentok",
        rows,
    )
    note = (
        f"Shared code and packages from {layer}. "
        f"Floor (`python -c pass`): {_ms(wall_floor)} ms. Whole-process wall time, median of "
        f"{rounds} runs per variant, the four variants interleaved. Overhead is (ours - SDK "
        "floor) / (SDK floor - floor) and the ratio ours / naive, each computed within a round"
        " (the variants of a round run back to back) and the median of the rounds taken; the"
        " CPU-time column is the same ratio from the processes'"
        " CPU time, which the machine's other load disturbs less, and the fastest-runs column"
        " the ratio of each variant's fastest run, as load only ever adds time."
        " Init is the import of app.py,"
        " first event the handler's first call, both measured inside the process."
    )
    if skipped:
        note += f" Not measured here (no event for them in the benchmark): {', '.join(skipped)}."
    return f"### 1. Cold start per function\n\n{table}\n\n{note}"


def warm(latencies: list[Latency], invocations: int) -> str:
    rows = [
        [
            one.route,
            f"{p50(one.durations) * 1000:.1f}",
            f"{percentile(one.durations, 0.99) * 1000:.1f}",
            f"{p50(one.round_trips) * 1000:.1f}",
            f"{percentile(one.round_trips, 0.99) * 1000:.1f}",
        ]
        for one in latencies
    ]
    head = "route | p50 ms (Lambda's duration) | p99 ms | p50 ms round trip | p99 ms"
    return (
        f"### 2. Warm latency per route\n\n{_table(head, rows)}\n\n{invocations} invocations"
        " per route, each function warm in its own worker, against moto and the emulator."
        " Duration is the handler's time in its worker, as Lambda's REPORT line gives it; the"
        " round trip adds the event's and the answer's way between the benchmark and the worker."
    )


def calls(steps: list[Step]) -> str:
    rows = [[step.what, step.requests, step.opentok_calls, step.signals] for step in steps]
    head = "step | requests to our API | OpenTok REST calls | of which the room's signal"
    table = _table(head, rows)
    counted = [step for step in steps if not step.what.startswith("status callbacks")]
    total = sum(step.opentok_calls for step in counted)
    waiting = next(step for step in steps if step.what.startswith("waiting page"))
    polled = waiting.opentok_calls - waiting.signals
    views = [step for step in steps if step.what.startswith("view ")]
    verdicts = [
        f"{total} OpenTok calls for the recording without callbacks",
        f"waiting, besides the room's signal: {polled} ({_verdict(polled, 0)})",
        f"views of the ready recording: {sum(s.opentok_calls for s in views)}"
        f" ({_verdict(sum(s.opentok_calls for s in views), 0)})",
    ]
    return f"### 3. OpenTok REST calls per recording\n\n{table}\n\n" + "; ".join(verdicts) + "."


def notice(notices: list[Notice]) -> str:
    rows = []
    for one in notices:
        calls_waiting = sum(wait.opentok_calls for wait in one.waits)
        requests = one.at_processing.requests
        rows.append(
            [
                f"{one.schedule.name}: {one.schedule.label()}",
                f"{requests} ({_verdict(requests, REQUESTS_TARGET)})",
                f"{one.at_processing.notice:.2f}",
                f"{one.median:.2f} ({_verdict(one.median, NOTICE_TARGET)})",
                f"{statistics.quantiles([w.notice for w in one.waits], n=10)[-1]:.2f}",
                f"{one.worst:.2f}",
                calls_waiting,
            ]
        )
    table = _table(
        f"polling schedule | requests, {PROCESSING_SECONDS:.0f} s processing (≤ {REQUESTS_TARGET})"
        f" | s to notice it | median s to notice (≤ {NOTICE_TARGET:g}) | p90 s | worst s"
        " | OpenTok calls while waiting, besides the room's signal",
        rows,
    )
    count = len(notices[0].waits)
    return (
        f"### 4. Time to notice ready\n\n{table}\n\nThe page's schedule is read from"
        " web/js/view.js and replayed on a controlled clock against the real functions; the"
        f" median, p90 and worst are over {count} recordings landing at random moments between"
        " 2 s and 2 min after the page opens (the same moments for every schedule). Time to"
        " notice runs from the object's creation in S3 to the answer that says ready; it"
        " includes the ready function handling S3's event, not S3's own delivery delay."
    )


def growth(reads: list[Reads]) -> str:
    rows = []
    for one in reads:
        rows.append(
            [
                one.what,
                f"{one.records:,}",
                f"{one.seed_seconds:.1f}",
                f"{statistics.median(one.total) * 1000:.1f}",
                f"{statistics.median(one.in_dynamodb) * 1000:.1f}",
                f"{one.ours * 1000:.2f}",
                f"{one.items_read:g}",
                f"{one.read_units:g}",
            ]
        )
    table = _table(
        "request | records | seeding s | p50 ms (Lambda's duration)"
        " | of which moto answering DynamoDB | p50 ms outside it | items read per request"
        " | read units per request",
        rows,
    )
    previous = [
        f"{one.records:,} archives: {one.previous_items:,}"
        for one in reads
        if one.previous_items is not None
    ]
    return (
        f"### 5. Growth\n\n{table}\n\nA reconciler run reads the sparse index of unfinished"
        " archives (here a fixed few still recording) where it read every archive of the last"
        f" three days before, items per run then: {'; '.join(previous)}. Items read are"
        " DynamoDB's ScannedCount, read units by DynamoDB's rules from the items returned;"
        " moto goes through every item for an index query, so its time grows where DynamoDB's"
        " does not."
    )


def copy(copies: list[Copy]) -> str:
    rows = [
        [
            f"{one.part_mib} MiB",
            f"{one.parts:,}",
            f"{one.seconds:.1f}",
            f"{one.mb_per_second:.0f}",
            f"{one.init_peak_mb:.0f}",
            f"{one.peak_mb:.0f}",
            "yes" if one.verified else "NO",
        ]
        for one in copies
    ]
    table = _table(
        "part size | parts | copy s | MB/s | peak memory after import, MB"
        " | peak memory after the copy, MB | size and multipart ETag match",
        rows,
    )
    size = copies[0].recording_bytes / 1024**3 if copies else 0
    return (
        f"### 6. Copy of a recording OpenTok kept\n\nA {size:g} GiB stand-in, served by the"
        " emulator from disk with Range, copied into moto's bucket by CopyRecordingFunction in a"
        f" process of its own (one SQS message, a 15-minute context).\n\n{table}\n\n"
        "Peak memory is the function process's peak resident set (VmHWM): the interpreter and"
        " its packages, plus the parts in flight. moto and the emulator share the benchmark's"
        " process and its cores, so MB/s is a floor, not Lambda's."
    )


def package(built: Build) -> str:
    rows = []
    for name, one in built.packages.items():
        size = bytes_to_mb(one.bytes)
        is_function = name.endswith("Function")
        rows.append(
            [
                name,
                f"{size:.3f}" + (f" ({_verdict(size, PACKAGE_TARGET_MB)})" if is_function else ""),
                ", ".join(one.layers),
                ", ".join(
                    f"{entry} {bytes_to_mb(bytes_):.1f}" for entry, bytes_ in one.contents[:6]
                ),
            ]
        )
    table = _table("package | unzipped MB | layers | largest entries (MB)", rows)
    return f"### 7. Package size\n\n{table}\n\nBuilt with: {built.method}."


def signal(figures: dict[str, Any]) -> str:
    delay = figures["seconds_from_s3_object_to_signal"]
    target, asked = figures["target"], figures["api_requests_meanwhile"]
    rows = [
        [
            figures["recordings"],
            figures["pages"],
            f"{delay['p50']:.3f} ({_verdict(delay['p50'], target['p50_seconds'])})",
            f"{delay['p95']:.3f}",
            f"{delay['max']:.3f}",
            f"{asked} ({_verdict(asked, 0)})",
        ]
    ]
    head = (
        f"recordings | pages | p50 s from the S3 object to the signal (≤ {target['p50_seconds']:g})"
        " | p95 s | worst s | API requests meanwhile (0)"
    )
    return (
        f"### 8. The room hears its recording is ready\n\n{_table(head, rows)}\n\nmake dev's"
        " stack with a host's and a participant's page in chromium: from the emulator's upload"
        " to the page's 'Recording ready' link, and the API requests either page made meanwhile."
    )
