"""Cold start per function: whole-process times of fresh interpreters, side by side.

For each function, each round runs four interpreters in a rotating order: the floor
(`python -c pass`), the SDK floor, the function itself and the naive baseline (see child.py).
Every run gets its own records (a new room, a new recording to stop, ...), prepared before
the clock starts, so that every run takes the same path through the function.

Where the shared code and its packages come from is a choice (`Layer`): the layer as it is
built for Lambda (functions/shared/Makefile, what `sam build` runs), first on the path of every
variant and with no bytecode written, as /opt is read-only in Lambda; or functions/shared with
the packages of the virtual environment.
"""

import json
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.bench.stack import BenchHarness, event
from local.template import ACCOUNT_ID, ROOT

CHILD = ROOT / "local" / "bench" / "child.py"
VARIANTS = ("floor", "sdk", "function", "naive")


# What the functions that do not answer HTTP report when they did their work.
NOT_HTTP = {
    "MarkReadyFunction": {None},
    "ReconcileArchivesFunction": {"reconciled"},
    "CopyRecordingFunction": {"handled"},
}


@dataclass
class Layer:
    """The shared layer the runs load: `built` holds what Lambda would get (its python/)."""

    description: str
    built: Path | None = None


@dataclass
class Run:
    wall: float
    cpu: float
    report: dict[str, Any]


@dataclass
class ColdResult:
    function: str
    runs: dict[str, list[Run]] = field(default_factory=dict)
    calls_opentok: bool = False  # for the event it is given here

    def median(self, variant: str, what: str = "wall") -> float:
        runs = self.runs.get(variant, [])
        if what in ("wall", "cpu"):
            return statistics.median(getattr(run, what) for run in runs)
        return statistics.median(run.report[what] for run in runs)

    def _rounds(self, variant: str, what: str) -> list[float]:
        return [getattr(run, what) for run in self.runs[variant]]

    def overhead(self, floor: float, what: str = "wall") -> float:
        """(function - SDK floor) / (SDK floor - floor): what we add to what must be paid.

        Computed round by round and then the median taken: the variants of a round ran back
        to back, so what the rest of the machine was doing then weighs on both alike.
        """
        pairs = zip(self._rounds("function", what), self._rounds("sdk", what), strict=True)
        return statistics.median((ours - sdk) / (sdk - floor) for ours, sdk in pairs)

    def overhead_of_fastest(self, floor: float) -> float:
        """The same ratio from the fastest run of each variant: load only ever adds time."""
        fastest = {variant: min(self._rounds(variant, "wall")) for variant in ("function", "sdk")}
        return (fastest["function"] - fastest["sdk"]) / (fastest["sdk"] - floor)

    def to_naive(self, what: str = "wall") -> float:
        """ours / naive, round by round, then the median."""
        pairs = zip(self._rounds("function", what), self._rounds("naive", what), strict=True)
        return statistics.median(ours / naive for ours, naive in pairs)

    @property
    def loads_opentok(self) -> bool:
        return any(run.report.get("opentok_loaded") for run in self.runs["function"])


Job = dict[str, Any]


def _room(stack: BenchHarness) -> Job:
    # A room of its own for every run: its first request, which creates its session.
    room = f"bench-{uuid.uuid4()}"
    return {"event": event("room", room=room), "room": room}


def _start(stack: BenchHarness) -> Job:
    session_id = stack.connected_session()
    token = stack.moderator_token(session_id)
    return {
        "event": event("start_archive_json", session_id=session_id, token=token),
        "session_id": session_id,
    }


def _stop(stack: BenchHarness) -> Job:
    session_id, archive_id = stack.started_archive()
    token = stack.moderator_token(session_id)
    ids = {"archive_id": archive_id, "session_id": session_id}
    return {"event": event("stop_archive", **ids, token=token), **ids}


def _callback(stack: BenchHarness) -> Job:
    session_id, archive_id = stack.started_archive()
    ids = {"archive_id": archive_id, "session_id": session_id}
    return {"event": event("archive_callback", **ids), **ids}


def _mark_ready(stack: BenchHarness) -> Job:
    # A stopped recording we know of, landing in the bucket, its room told: the common case.
    archive_id = stack.put_archive(session_id=stack.connected_session(), ready=False)
    return {"event": stack.s3_event(archive_id), "archive_id": archive_id}


def _delete(stack: BenchHarness) -> Job:
    # A recording OpenTok has finished with, ready in our bucket: what a person deletes.
    session_id, archive_id = stack.finished_archive()
    stack.put_archive(archive_id, session_id)
    ids = {"archive_id": archive_id, "session_id": session_id}
    return {"event": event("delete_archive", **ids, host_key=stack.host_key), **ids}


def _reconcile(stack: BenchHarness) -> Job:
    # One archive stopped, not ready, not in the bucket: the reconciler asks OpenTok. What
    # earlier runs left unfinished is deleted first, so that every run finds one alone.
    from backend import archives

    for archive in archives.unfinished(0):
        archives.mark_deleted(archive["id"])
    session_id, archive_id = stack.started_archive()
    stack.sdk.stop_archive(archive_id)
    stack.put_archive(archive_id, session_id, ready=False)
    return {
        "event": event("scheduled_reconcile"),
        "archive_id": archive_id,
        "session_id": session_id,
    }


# The event and ids of one run, by function; records it needs are made off the clock.
JOBS: dict[str, Callable[[BenchHarness], Job]] = {
    "SessionFunction": lambda stack: {"event": event("session")},
    "RoomFunction": _room,
    "StartArchiveFunction": _start,
    "StopArchiveFunction": _stop,
    "GetArchiveFunction": lambda stack: {
        "event": event("get_archive", archive_id=stack.ready_archive)
    },
    "ListArchivesFunction": lambda stack: {
        "event": event("list_archives", host_key=stack.host_key)
    },
    "ViewArchiveFunction": lambda stack: {
        "event": event("view_archive", archive_id=stack.ready_archive)
    },
    "ArchiveCallbackFunction": _callback,
    "MarkReadyFunction": _mark_ready,
    "DeleteArchiveFunction": _delete,
    "ReconcileArchivesFunction": _reconcile,
}
# The ids of a job that the requests of its run name.
IDS = ("room", "session_id", "archive_id")


@dataclass
class Requests:
    """What a function asked of AWS and OpenTok for one job: the SDK floor makes the same."""

    job: Job
    aws: list[dict[str, Any]]
    opentok: list[tuple[str, str]]

    def for_job(self, job: Job) -> dict[str, Any]:
        text = json.dumps({"aws": self.aws, "opentok": self.opentok})
        for name in IDS:
            if name in self.job:
                text = text.replace(self.job[name], job[name])
        return json.loads(text)


def run_child(
    stack: BenchHarness,
    function: str,
    variant: str,
    job: Job,
    layer: Layer,
    requests: Requests | None = None,
) -> Run:
    spec = stack.template.functions()[function]
    environment = {
        **stack.environment(function),
        "BENCH_JOB": json.dumps(
            {
                **job,
                **(requests.for_job(job) if requests else {}),
                "variant": variant,
                "name": function,
                "account_id": ACCOUNT_ID,
                "timeout": spec.timeout,
                "root": str(ROOT),
                "code_dir": str(spec.code_dir),
                "layer_dir": str(layer.built or spec.layer_dirs[0]),
                # In Lambda every variant would find its packages in the layer.
                "layer_first": layer.built is not None,
            }
        ),
    }
    if layer.built:
        # Lambda cannot write bytecode under /opt: a layer has what it ships, nothing more.
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
    command = [sys.executable, "-c", "pass"] if variant == "floor" else [sys.executable, str(CHILD)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    finished = subprocess.run(  # noqa: S603 - this interpreter and our own script
        command, env=environment, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if finished.returncode != 0:
        raise RuntimeError(f"{function} ({variant}) failed:\n{finished.stderr[-3000:]}")
    report: dict[str, Any] = {}
    for line in finished.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            report = json.loads(line.removeprefix("BENCH_RESULT "))
    if variant != "floor":
        _check(function, variant, report)
    return Run(wall, cpu, report)


def _recorded(stack: BenchHarness, function: str, layer: Layer) -> Requests:
    """The function's requests for a job, on its second run: the first made what every later
    run finds (the sample's one room)."""
    run_child(stack, function, "function", JOBS[function](stack), layer)
    job = JOBS[function](stack)
    aws, opentok = len(stack.moto.calls), len(stack.opentok.calls)
    run_child(stack, function, "function", job, layer)
    calls = [
        # S3's requests are known by their method and path; the JSON APIs' by their body.
        {"method": call.method, "path": call.path, "target": call.target, "request": call.request}
        if call.target
        else {"method": call.method, "path": call.path, "target": ""}
        for call in stack.aws_calls(since=aws)
    ]
    return Requests(job, calls, stack.opentok.calls[opentok:])


def _check(function: str, variant: str, report: dict[str, Any]) -> None:
    # A run that failed fast would look like a fast run: refuse it.
    status = report.get("status")
    expected = {
        "function": NOT_HTTP.get(function, {200, 302}),
        "sdk": {"ok"},
        "naive": {"ok"},
    }[variant]
    if status not in expected:
        raise RuntimeError(f"{function} ({variant}) answered {status!r}: {report}")


def floor(results: dict[str, ColdResult], what: str = "wall", fastest: bool = False) -> float:
    """The median (or the fastest) of every `python -c pass` run, in whichever round."""
    times = [getattr(run, what) for result in results.values() for run in result.runs["floor"]]
    return min(times) if fastest else statistics.median(times)


def measure(
    functions: list[str], rounds: int, progress: Callable[[str], None], layer: Layer
) -> dict[str, ColdResult]:
    """Each function's runs: `rounds` runs of every variant, interleaved."""
    results = {name: ColdResult(name) for name in functions}
    source = Layer("functions/shared and the virtual environment")
    with BenchHarness(StuckAfterMinutes="0") as stack:
        stack.ready_archive = stack.put_archive()
        for offset in range(10):
            stack.put_archive(created_ms=1_700_000_000_000 + offset * 1000)
        # One run of each, not counted, from the sources first, which writes the bytecode
        # caches of what is not in a built layer (the runtime's stand-ins: Python's own
        # modules, boto3), then from the layer measured; both warm the page cache. The
        # function's first run gives the requests its SDK floor makes.
        requests = {function: _recorded(stack, function, source) for function in functions}
        for function, made in requests.items():
            results[function].calls_opentok = bool(made.opentok)
        for function in functions:
            for variant in VARIANTS:
                for each in (source, layer) if layer.built else (source,):
                    job = JOBS[function](stack)
                    run_child(stack, function, variant, job, each, requests[function])
        for round_number in range(rounds):
            progress(f"cold starts: round {round_number + 1} of {rounds}")
            for index, function in enumerate(functions):
                shift = (round_number + index) % len(VARIANTS)
                for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                    job = JOBS[function](stack)
                    run = run_child(stack, function, variant, job, layer, requests[function])
                    results[function].runs.setdefault(variant, []).append(run)
    return results
