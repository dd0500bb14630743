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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.bench.stack import API_KEY, EVENT_SESSION_ID, ServerStack, event, layer_dir, s3_event
from local.template import ROOT

CHILD = ROOT / "local" / "bench" / "child.py"
VARIANTS = ("floor", "sdk", "function", "naive")
# The functions that call OpenTok for the event they are given here.
CALLS_OPENTOK = {
    "SessionFunction",
    "RoomFunction",
    "StartArchiveFunction",
    "StopArchiveFunction",
    "ArchiveCallbackFunction",
    "DeleteArchiveFunction",
    "ReconcileArchivesFunction",
}


# What the functions that do not answer HTTP report when they did their work.
NOT_HTTP = {"MarkReadyFunction": {None}, "ReconcileArchivesFunction": {"reconciled"}}


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


def _session(stack: ServerStack, round_number: int) -> Job:
    return {"event": event("session"), "room": "session"}


def _room(stack: ServerStack, round_number: int) -> Job:
    # A room of its own for every run: its first request, which creates its session.
    room = f"bench-{round_number}-{time.monotonic_ns()}"
    return {"event": event("room", room=room), "room": room}


def _start(stack: ServerStack, round_number: int) -> Job:
    session_id = stack.connected_session()
    token = stack.moderator_token(session_id)
    return {
        "event": event("start_archive_json", session_id=session_id, token=token),
        "session_id": session_id,
        "token": token,
    }


def _stop(stack: ServerStack, round_number: int) -> Job:
    session_id, archive_id = stack.started_archive()
    token = stack.moderator_token(session_id)
    ids = {"archive_id": archive_id, "session_id": session_id}
    return {
        "event": event("stop_archive", **ids, token=token),
        "archive_id": archive_id,
        "token": token,
    }


def _get(stack: ServerStack, round_number: int) -> Job:
    archive_id = stack.ready_archive
    return {"event": event("get_archive", archive_id=archive_id), "archive_id": archive_id}


def _view(stack: ServerStack, round_number: int) -> Job:
    archive_id = stack.ready_archive
    return {"event": event("view_archive", archive_id=archive_id), "archive_id": archive_id}


def _list(stack: ServerStack, round_number: int) -> Job:
    return {"event": event("list_archives", host_key=stack.host_key), "host_key": stack.host_key}


def _callback(stack: ServerStack, round_number: int) -> Job:
    session_id, archive_id = stack.started_archive()
    ids = {"archive_id": archive_id, "session_id": session_id}
    return {"event": event("archive_callback", **ids), "archive_id": archive_id}


def _mark_ready(stack: ServerStack, round_number: int) -> Job:
    # A stopped recording we know of, landing in the bucket: the common case.
    archive_id = stack.put_archive(status="stopped", ready=False)
    key = f"{API_KEY}/{archive_id}/archive.mp4"
    return {"event": s3_event(stack.bucket, key), "archive_id": archive_id, "key": key}


def _delete(stack: ServerStack, round_number: int) -> Job:
    # A recording OpenTok has finished with, ready in our bucket: what a person deletes.
    session_id, archive_id = stack.started_archive()
    stack.sdk.stop_archive(archive_id)
    stack.finish_processing(archive_id)
    stack.put_archive(archive_id=archive_id, session_id=session_id)
    ids = {"archive_id": archive_id, "host_key": stack.host_key}
    return {"event": event("delete_archive", **ids), **ids}


def _reconcile(stack: ServerStack, round_number: int) -> Job:
    # One archive stopped an hour ago, not ready, not in the bucket: the reconciler asks
    # OpenTok. The previous run's is set ready first, so that every run finds one alone.
    for archive_id in stack.overdue:
        stack.put_archive(archive_id=archive_id, created_ms=int(time.time() * 1000) - 3_600_000)
    session_id, archive_id = stack.started_archive()
    stack.sdk.stop_archive(archive_id)
    created = int(time.time() * 1000) - 3_600_000
    stack.put_archive(
        archive_id=archive_id, session_id=session_id, status="stopped", ready=False,
        created_ms=created,
    )  # fmt: skip
    stack.overdue = [archive_id]
    return {"event": event("scheduled_reconcile"), "archive_id": archive_id}


# The event and ids of one run, by function; records it needs are made off the clock.
JOBS: dict[str, Callable[[ServerStack, int], Job]] = {
    "SessionFunction": _session,
    "RoomFunction": _room,
    "StartArchiveFunction": _start,
    "StopArchiveFunction": _stop,
    "GetArchiveFunction": _get,
    "ListArchivesFunction": _list,
    "ViewArchiveFunction": _view,
    "ArchiveCallbackFunction": _callback,
    "MarkReadyFunction": _mark_ready,
    "DeleteArchiveFunction": _delete,
    "ReconcileArchivesFunction": _reconcile,
}


def _run_child(
    stack: ServerStack, function: str, variant: str, job: dict[str, Any], layer: Layer
) -> Run:
    spec = stack.template.functions()[function]
    environment = {
        "PATH": "/usr/bin:/bin",
        **stack.environment(function),
        "BENCH_JOB": json.dumps(
            {
                **job,
                "variant": variant,
                "name": function,
                "code_dir": str(spec.code_dir),
                "layer_dir": str(layer.built or layer_dir(stack.template, function)),
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


def _check(function: str, variant: str, report: dict[str, Any]) -> None:
    # A run that failed fast would look like a fast run: refuse it.
    status = report.get("status")
    expected = {
        "function": NOT_HTTP.get(function, {200, 302}),
        "sdk": {"200", "ok"},
        "naive": {"200", "ok"},
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
    with ServerStack() as stack:
        stack.ready_archive = stack.put_archive(session_id=EVENT_SESSION_ID)
        for offset in range(10):
            stack.put_archive(created_ms=1_700_000_000_000 + offset * 1000)
        # One run of each, not counted: from the sources first, which writes the bytecode
        # caches of what is not in a built layer (the runtime's stand-ins: Python's own
        # modules, boto3), then from the layer measured; both warm the page cache.
        for function in functions:
            for variant in VARIANTS:
                for each in (source, layer) if layer.built else (source,):
                    _run_child(stack, function, variant, JOBS[function](stack, -1), each)
        for round_number in range(rounds):
            progress(f"cold starts: round {round_number + 1} of {rounds}")
            for index, function in enumerate(functions):
                shift = (round_number + index) % len(VARIANTS)
                for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                    job = JOBS[function](stack, round_number)
                    run = _run_child(stack, function, variant, job, layer)
                    results[function].runs.setdefault(variant, []).append(run)
    return results
