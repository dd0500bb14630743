"""Cold start per function, fresh interpreters (child.py) side by side; warm latency per route,
each function warm in its own worker of the harness."""

import argparse
import itertools
import json
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.tools.bench import median, percentile, progress, section, table, verdict
from local.tools.bench.stack import BenchHarness, Run
from local.tools.harness import load_event

VARIANTS = ("floor", "sdk", "function", "naive")
# The functions with a cold-start job, in the template's order.
# Not Session: in host control, as deployed by default, GET /session answers 404 by design (a
# room opens by its invite), so its runs would time a refusal; Room is how pages join.
FUNCTIONS = ("Room", "StartArchive", "StopArchive", "GetArchive", "ListArchives")
FUNCTIONS += ("ViewArchive", "DeleteArchive", "ArchiveCallback", "ReconcileArchives", "MarkReady")
Job = dict[str, Any]
KEPT = ("method", "path", "target")  # of the functions' requests to AWS


def job(stack: BenchHarness, function: str) -> Job:
    """The event of one run of the function and the ids it names, with what it needs made."""
    from backend import archives

    match function:
        case "Room":  # a room of its own: its first request creates its session
            room = f"bench-{uuid.uuid4()}"
            return {"event": load_event("room", room=room, host_key=stack.host_key), "room": room}
        case "GetArchive" | "ViewArchive":
            name = f"{function[:-7].lower()}_archive"
            return {"event": load_event(name, archive_id=stack.ready_archive)}
        case "ListArchives":
            return {"event": load_event("list_archives", host_key=stack.host_key)}
        case "StartArchive":
            ids = {"session_id": stack.connected_session()}
            token = stack.moderator_token(ids["session_id"])
            return {"event": load_event("start_archive_json", **ids, token=token), **ids}
        case "MarkReady":  # a stopped recording we know of lands, its room told: the usual
            archive_id = stack.put_archive(session_id=stack.connected_session(), ready=False)
            landed = load_event("s3_recording_uploaded", archive_id=archive_id, bucket=stack.bucket)
            return {"event": landed, "archive_id": archive_id}
        case "ReconcileArchives":  # the only unfinished one: stopped, not ready, not in S3
            for archive in archives.unfinished(0):
                archives.mark_deleted(archive["id"])
    session_id, archive_id = stack.started_archive()
    ids = {"archive_id": archive_id, "session_id": session_id}
    match function:
        case "StopArchive":
            token = stack.moderator_token(session_id)
            return {"event": load_event("stop_archive", **ids, token=token), **ids}
        case "ArchiveCallback":
            return {"event": load_event("archive_callback", **ids), **ids}
    stack.sdk().stop_archive(archive_id)
    if function == "DeleteArchive":  # finished by OpenTok, ready in our bucket
        stack.opentok.state._process(archive_id)
        stack.put_archive(archive_id, session_id)
        return {"event": load_event("delete_archive", **ids, host_key=stack.host_key), **ids}
    stack.put_archive(archive_id, session_id, ready=False)
    return {"event": load_event("scheduled_reconcile"), **ids}


def _recorded(stack: BenchHarness, function: str) -> tuple[Callable[[Job], Job], bool]:
    """The SDK floor's requests for a job: the function's own on its second run (the first made
    what every later run finds, the sample's one room), and whether it called OpenTok."""
    name = f"{function}Function"
    stack.run_child(name, "function", job(stack, function))
    recorded = job(stack, function)
    aws, calls = len(stack.moto.calls), len(stack.opentok.calls)
    stack.run_child(name, "function", recorded)
    # S3's requests are known by their method and path; the JSON APIs' by their body too.
    made = {"opentok": stack.opentok.calls[calls:], "aws": []}
    for call in stack.aws_calls(since=aws):
        request = call.request if call.target else None
        made["aws"].append({"request": request} | {key: getattr(call, key) for key in KEPT})
    text = json.dumps(made)

    def for_job(one: Job) -> Job:
        """The requests with the ids of this job."""
        replaced = text
        for name in ("room", "session_id", "archive_id"):
            if name in recorded:
                replaced = replaced.replace(recorded[name], one[name])
        return one | json.loads(replaced)

    return for_job, bool(made["opentok"])


def _layer(choice: str, workdir: Path) -> tuple[Path | None, str]:
    from local.tools.bench import package

    if choice == "source":
        return None, "functions/shared, with the packages of the virtual environment"
    if choice != "built":
        return Path(choice), f"the layer in {choice}"
    architecture = package.host_architecture()
    progress(f"building the layer for {architecture} (functions/shared/Makefile)")
    try:
        built = package.build_layer(workdir / "SharedLayer", architecture)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
        # No index to install from, say: the figures from the sources still mean something.
        progress(f"no layer built, measuring from the sources: {getattr(error, 'stderr', error)}")
        return None, "functions/shared and the virtual environment (no layer could be built)"
    return built, (
        f"the layer as built for Lambda (functions/shared/Makefile, {architecture}, the sam"
        " build recipe), no bytecode written; boto3 and botocore, which the runtime provides,"
        " from the virtual environment"
    )


def _measure(stack: BenchHarness, rounds: int, layer: Path | None) -> dict[str, Any]:
    stack.ready_archive = stack.put_archive()
    for offset in range(10):
        stack.put_archive(createdAt=1_700_000_000_000 + offset * 1000)
    recorded = {function: _recorded(stack, function) for function in FUNCTIONS}

    def run(function: str, variant: str, layer: Path | None) -> Run:
        one = recorded[function][0](job(stack, function))
        return stack.run_child(f"{function}Function", variant, one, layer)

    # Not counted, each variant once from the sources, which writes the bytecode caches of
    # what a built layer lacks (Python's own modules, boto3), then from the layer measured:
    # both warm the page cache.
    for function, variant, each in itertools.product(FUNCTIONS, VARIANTS, {None: 0, layer: 0}):
        run(function, variant, each)
    runs: dict[str, dict[str, list[Run]]] = {name: {v: [] for v in VARIANTS} for name in FUNCTIONS}
    for number in range(rounds):
        progress(f"cold starts: round {number + 1} of {rounds}")
        for index, function in enumerate(FUNCTIONS):
            shift = (number + index) % len(VARIANTS)
            for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                runs[function][variant].append(run(function, variant, layer))
    return {"runs": runs, "calls_opentok": {name: made for name, (_, made) in recorded.items()}}


def _row(name: str, runs: dict[str, list[Run]], floors: dict[str, float], calls: bool) -> list:
    def of(variant: str, what: str = "wall") -> list[float]:
        return [getattr(run, what) for run in runs[variant]]

    def overhead(what: str) -> float:
        """(ours - SDK floor) / (SDK floor - floor), round by round, then the median: the
        variants of a round ran back to back, so the machine's other load weighs on both."""
        pairs = zip(of("function", what), of("sdk", what), strict=True)
        return median((ours - sdk) / (sdk - floors[what]) for ours, sdk in pairs)

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.0f}"

    def inside(what: str) -> str:
        return ms(median(run.report[what] for run in runs["function"]))

    wall, ratio = overhead("wall"), median(map(float.__truediv__, of("function"), of("naive")))
    # The same ratio from each variant's fastest run: load only ever adds time.
    fastest = (min(of("function")) - min(of("sdk"))) / (min(of("sdk")) - floors["fastest"])
    loads = any(run.report["opentok_loaded"] for run in runs["function"])
    return [
        name,
        *(ms(median(of(variant))) for variant in ("sdk", "function", "naive")),
        f"{wall:+.0%} ({verdict(wall, 0.15)})",
        f"{overhead('cpu'):+.0%}",
        f"{fastest:+.0%}",
        f"{ratio:.2f} ({verdict(ratio, 0.8)})",
        f"{inside('init')} + {inside('event')}",
        ("yes" if loads else "no") + ("" if calls else " (no call)"),
    ]


def cold(options: argparse.Namespace) -> tuple[Any, str]:
    """Whole-process wall time, median of the runs of each variant, the four variants of a
    function run back to back in a rotating order, each round. Every run gets records of its own
    (a new room, a recording to stop...), made before its clock starts, so that it takes the same
    path through the function. Overhead is (ours - SDK floor) / (SDK floor - floor) and the ratio
    ours / naive, each computed within a round and the median of the rounds taken; the CPU-time
    column is the same ratio from the processes' CPU time, which the machine's other load
    disturbs less, and the fastest-runs column the ratio of each variant's fastest run, as load
    only ever adds time. Init is the import of app.py, first event the handler's first call,
    both measured inside the process."""
    with tempfile.TemporaryDirectory(prefix="bench-layer-") as workdir:
        layer, described = _layer(options.layer, Path(workdir))
        with BenchHarness() as stack:
            measured = _measure(stack, options.rounds, layer)
            names = {f"{function}Function" for function in FUNCTIONS}
            skipped = ", ".join(sorted(set(stack.template.functions()) - names))
    floors = [run for runs in measured["runs"].values() for run in runs["floor"]]
    floor = {what: median(getattr(run, what) for run in floors) for what in ("wall", "cpu")}
    floor["fastest"] = min(run.wall for run in floors)
    calls = measured["calls_opentok"]
    rows = [_row(name, runs, floor, calls[name]) for name, runs in measured["runs"].items()]
    head = (
        "function | SDK floor ms | ours ms | naive ms | overhead over SDK floor (target ≤ 15%)"
        " | same, CPU time | same, fastest runs | ours / naive (≤ 0.8) | ours: init + first"
        " event ms | loads opentok"
    )
    facts = f"Shared code and packages from {described}. Floor (`python -c pass`):"
    facts += f" {floor['wall'] * 1000:.0f} ms. {options.rounds} rounds. Not measured (no event"
    facts += f" for them in the benchmark): {skipped}."
    text = section("1. Cold start per function", table(head, rows), cold, facts)
    return {"layer": described, "runs": measured["runs"]}, text


WARM_UP = 5
# The routes timed warm: those of the cold starts, but delete's and the reconciler's.
ROUTES = ("GET /room/{name}", "POST /archive/start", "POST /archive/{id}/stop")
ROUTES += ("GET /archive/{id}", "GET /archive", "GET /archive/{id}/view")
ROUTES += ("POST /archive/callback", "S3 ObjectCreated")


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
        room = load_event("room", host_key=stack.host_key)
        stack.invoke("RoomFunction", room)
        functions = [f for f in FUNCTIONS if f not in ("DeleteArchive", "ReconcileArchives")]
        for route, function in zip(ROUTES, functions, strict=True):
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
