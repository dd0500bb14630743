"""`make bench`: figures on cold starts, warm latency, OpenTok calls, readiness, growth, the
copy of a large recording, package size and how soon the room hears of its recording, each
next to its references measured in the same run, all on the one harness (local/harness.py).

A benchmark, not a test: it prints what it measured and says which targets were met; it
fails only when something it runs fails. A run of every section also writes its figures to
docs/performance.md, keeping the page's hand-written part. `python -m local.bench --help`
lists the options.
"""

import argparse
import contextlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.bench import report
from local.template import ROOT, Template

if TYPE_CHECKING:
    from local.bench.cold import Layer

SECTIONS = ("cold", "warm", "calls", "growth", "copy", "package", "signal")
PAGE = ROOT / "docs" / "performance.md"


def _machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo")
    models = re.findall(
        r"^model name\s*:\s*(.+)$", cpuinfo.read_text() if cpuinfo.exists() else "", re.M
    )
    return {
        "cpu": models[0] if models else platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _commit() -> str:
    """The commit the figures are of, and whether the tree differed from it."""
    git = shutil.which("git")
    if git is None:
        return "unknown (no git here)"

    def ask(*args: str) -> str:
        return subprocess.run(  # noqa: S603 - git, on this checkout
            [git, *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = f"commit {ask('rev-parse', '--short', 'HEAD')}"
        return commit + (" with uncommitted changes" if ask("status", "--porcelain") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def _progress(text: str) -> None:
    print(f"  ... {text}", file=sys.stderr, flush=True)


def _cold(options: argparse.Namespace, results: dict[str, Any]) -> str:
    from local.bench import cold

    everything = list(Template().functions())
    functions = [name for name in everything if name in cold.JOBS]
    with tempfile.TemporaryDirectory(prefix="bench-layer-") as workdir:
        layer = _layer(options.layer, Path(workdir))
        measured = cold.measure(functions, options.rounds, _progress, layer)
    results["cold"] = {
        name: {variant: [asdict(run) for run in runs] for variant, runs in result.runs.items()}
        for name, result in measured.items()
    }
    results["cold_layer"] = layer.description
    skipped = sorted(set(everything) - set(functions))
    return report.cold(measured, options.rounds, skipped, layer.description)


def _layer(choice: str, workdir: Path) -> "Layer":
    from local.bench import cold, package

    if choice == "source":
        return cold.Layer("functions/shared, with the packages of the virtual environment")
    if choice != "built":
        return cold.Layer(f"the layer in {choice}", Path(choice))
    architecture = package.host_architecture()
    _progress(f"building the layer for {architecture} (functions/shared/Makefile)")
    try:
        built = package.build_layer(workdir / "SharedLayer", architecture)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
        # No index to install from, say: the figures from the sources still mean something.
        detail = getattr(error, "stderr", None) or error
        _progress(f"the layer could not be built, measuring from the sources: {detail}")
        return cold.Layer(
            "functions/shared, with the packages of the virtual environment (the layer could"
            " not be built here)"
        )
    return cold.Layer(
        f"the layer as built for Lambda (functions/shared/Makefile, {architecture}, the"
        " sam build recipe), no bytecode written; boto3 and botocore, which the runtime"
        " provides, from the virtual environment",
        built,
    )


def _warm(options: argparse.Namespace, results: dict[str, Any]) -> str:
    from local.bench import warm

    latencies = warm.measure(options.invocations, _progress)
    results["warm"] = [asdict(one) for one in latencies]
    return report.warm(latencies, options.invocations)


def _calls(options: argparse.Namespace, results: dict[str, Any]) -> str:
    from local.bench import waiting
    from local.bench.stack import BenchHarness

    with BenchHarness() as stack:
        _progress("OpenTok calls per recording")
        steps = waiting.calls_per_recording(stack)
        _progress("time to notice ready")
        page = waiting.Schedule.of_page()
        # The page's own schedule next to a higher and a lower ceiling: why it is the one.
        schedules = [
            page,
            waiting.Schedule("ceiling 4 s", page.first, page.growth, 4.0),
            waiting.Schedule("ceiling 3 s", page.first, page.growth, 3.0),
        ]
        notices = waiting.notice(stack, schedules, options.landings)
    results["calls"] = [asdict(step) for step in steps]
    results["notice"] = [asdict(one) for one in notices]
    return report.calls(steps) + "\n\n" + report.notice(notices)


def _growth(options: argparse.Namespace, results: dict[str, Any]) -> str:
    from local.bench import growth

    reads = growth.measure(
        options.reads, _progress, tuple(options.archives or growth.ARCHIVE_COUNTS)
    )
    results["growth"] = [asdict(one) for one in reads]
    return report.growth(reads)


def _copy(options: argparse.Namespace, results: dict[str, Any]) -> str:
    from local.bench import copy

    copies = copy.measure(_progress, tuple(options.copy_part_mib or copy.PART_SIZES_MIB))
    results["copy"] = [asdict(one) for one in copies]
    return report.copy(copies)


def _package(options: argparse.Namespace, results: dict[str, Any]) -> str:
    from local.bench import package

    _progress("package sizes")
    built = package.measure()
    results["package"] = asdict(built)
    return report.package(built)


def _signal(options: argparse.Namespace, results: dict[str, Any]) -> str:
    from local.bench import signal

    _progress(f"room signals: {options.signal_rounds} recordings, two pages in chromium")
    results["signal"] = signal.run(options.signal_rounds)
    return report.signal(results["signal"])


RUNNERS = {
    "cold": _cold,
    "warm": _warm,
    "calls": _calls,
    "growth": _growth,
    "copy": _copy,
    "package": _package,
    "signal": _signal,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=11, help="cold starts of each variant")
    parser.add_argument("--invocations", type=int, default=300, help="warm calls per route")
    parser.add_argument("--reads", type=int, default=5, help="timed reads per growth step")
    parser.add_argument(
        "--archives",
        type=int,
        action="append",
        help="archives stored at a growth step (repeatable; default 100, 10,000 and 100,000;"
        " rooms as many, up to 10,000)",
    )
    parser.add_argument(
        "--landings", type=int, default=100, help="recordings landing while a page waits"
    )
    parser.add_argument(
        "--signal-rounds", type=int, default=20, help="recordings the room hears of"
    )
    parser.add_argument(
        "--copy-part-mib",
        type=int,
        action="append",
        help="part size of the 1 GB copy, in MiB (repeatable; default 16, 32 and 64)",
    )
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only this section (repeatable)"
    )
    parser.add_argument(
        "--layer",
        default="built",
        help="cold starts load the shared code and packages from: `built` (the layer as"
        " functions/shared/Makefile builds it for this machine; the default), `source`"
        " (functions/shared and the virtual environment), or a built layer's python/ folder",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--page",
        type=Path,
        help="write the figures to this Markdown page, keeping its hand-written part (default:"
        " docs/performance.md when every section runs; none for a run with --only)",
    )
    parser.add_argument(
        "--no-page", action="store_true", help="print the figures only, write no page"
    )
    options = parser.parse_args(argv)
    started = time.perf_counter()
    args = sys.argv[1:] if argv is None else argv
    command = " ".join(["python -m local.bench", *map(shlex.quote, args)])
    results: dict[str, Any] = {"machine": _machine(), "commit": _commit(), "command": command}
    out = [report.header(results, options)]
    for section in SECTIONS:
        if section in (options.only or SECTIONS):
            # What the functions print (their logs, their metrics) goes nowhere: the figures
            # are what this prints.
            with open(os.devnull, "w") as nowhere, contextlib.redirect_stdout(nowhere):
                out.append(RUNNERS[section](options, results))
    out.append(f"Benchmark took {time.perf_counter() - started:.0f} s.")
    figures = "\n\n".join(out)
    print(figures)
    page = None if options.no_page else options.page or (None if options.only else PAGE)
    if page:
        if not report.write_page(page, figures):
            _progress(f"{page} had no hand-written part ({report.HAND_WRITTEN}): none kept")
        _progress(f"figures written to {page}")
    if options.json:
        options.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
