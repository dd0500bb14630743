"""`make bench`: cold starts, warm latency, OpenTok calls, readiness, growth, copies of large
recordings, package size, how soon the room hears of its recording, what a call and its
recordings cost the emulator: each figure beside its
references, measured in the same run on the one harness (local/tools/harness.py). A benchmark, not a
test: it fails only when something it runs fails. A run of every section writes its figures to
docs/performance.md, keeping the page's hand-written part."""

import argparse
import contextlib
import dataclasses
import importlib
import json
import logging
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from local.aws.template import ROOT
from local.tools.bench import progress

# Each section, by the module that measures it (a function of the section's name there).
SECTIONS = dict(cold="cold", warm="cold", calls="waiting", growth="growth", copy="copy")
SECTIONS |= dict(package="package", signal="signal", streams="copy", media="media")
PAGE = ROOT / "docs" / "performance.md"
# Everything from this line on in docs/performance.md is written by hand and kept by the bench.
HAND_WRITTEN = "<!-- Written by hand from here on: make bench keeps it as it is. -->"


def run_section(name: str, options: argparse.Namespace) -> tuple[Any, str]:
    """The section's figures (for --json) and its Markdown."""
    return getattr(importlib.import_module(f"local.tools.bench.{SECTIONS[name]}"), name)(options)


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.M) or [platform.processor()]
    found = {"cpu": cpu[0], "cores": os.cpu_count(), "machine": platform.machine()}
    found["system"] = f"{platform.system()} {platform.release()}"
    found["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return found | {"python": platform.python_version()}


def commit() -> str:
    """The commit the figures are of, and whether the tree differed from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603, S607
        return done.stdout.strip()

    try:
        changed = " with uncommitted changes" if git("status", "--porcelain") else ""
        return f"commit {git('rev-parse', '--short', 'HEAD')}{changed}"
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def header(run: dict[str, Any], options: argparse.Namespace) -> str:
    """When, where, on which code and with which command: `run` holds machine, commit, command."""
    m = run["machine"]
    return (
        f"## make bench\n\n{m['date']} on {m['cpu']} ({m['cores']} cores, {m['machine']}),"
        f" {m['system']}, Python {m['python']}.\nCode: {run['commit']}. Command:"
        f" `{run['command']}`.\nCold starts: {options.rounds} rounds; warm:"
        f" {options.invocations} invocations per route; growth: {options.reads} reads per step."
    )


def page(figures: str, previous: str) -> str:
    """The performance page: this run's figures, then the previous page's hand-written part."""
    kept = previous[previous.find(HAND_WRITTEN) :] if HAND_WRITTEN in previous else HAND_WRITTEN
    return (
        "# Performance\n\n`make bench` (`local/tools/bench/`) wrote this page: the figures of its"
        " last run, as it printed them. Run it again rather than edit them; the part after them is"
        f" written by hand, and the bench keeps it.\n\n{figures.strip()}\n\n{kept.strip()}\n"
    )


def write_page(path: Path, figures: str) -> bool:
    """Writes the figures to the page at path; False when it had no hand-written part to keep."""
    previous = path.read_text() if path.exists() else ""
    path.write_text(page(figures, previous))
    return not previous or HAND_WRITTEN in previous


# Options: name, default (its type the option's, None a path, a list repeatable), help.
OPTIONS = [
    ("rounds", 11, "cold starts of each variant"),
    ("invocations", 300, "warm calls per route"),
    ("reads", 5, "timed reads per growth step"),
    ("archives", [], "archives at a growth step (default 100, 10,000, 100,000; rooms ≤ 10,000)"),
    ("landings", 100, "recordings landing while a page waits"),
    ("signal-rounds", 20, "recordings the room hears of"),
    ("copy-part-mib", [], "part size of the 1 GiB copy, in MiB (default 16, 32 and 64)"),
    ("streams", 4, "streams of the individual archive that is split"),
    ("stream-mib", 96, "MiB of each of those streams"),
    ("media-seconds", 20.0, "seconds each recording of a call lasts (media)"),
    ("only", [], "run only this section"),
    ("layer", "built", "the cold starts' shared code: built (the layer), source, or a python/"),
    ("json", None, "also write every figure to this file"),
    ("page", None, "write the figures to this page (default: docs/performance.md, if all run)"),
    ("no-page", False, "print the figures only, write no page"),
]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.tools.bench", description=__doc__)
    for name, default, explained in OPTIONS:
        if isinstance(default, list):
            how = {"choices": SECTIONS} if name == "only" else {"type": int}
            parser.add_argument(f"--{name}", action="append", help=explained, **how)
        elif default is False:
            parser.add_argument(f"--{name}", action="store_true", help=explained)
        else:
            kind = Path if default is None else type(default)
            parser.add_argument(f"--{name}", type=kind, default=default, help=explained)
    return parser.parse_args(argv)


def _plain(one: Any) -> Any:
    return dataclasses.asdict(one) if dataclasses.is_dataclass(one) else str(one)


def main(argv: list[str] | None = None) -> int:
    chosen, started = parse(argv), time.perf_counter()
    args = sys.argv[1:] if argv is None else argv
    command = " ".join(["python -m local.tools.bench", *map(shlex.quote, args)])
    results: dict[str, Any] = {"machine": machine(), "commit": commit(), "command": command}
    out, failed = [header(results, chosen)], []
    for name in SECTIONS:
        if name in (chosen.only or SECTIONS):
            # What the functions print (their logs, their metrics) goes nowhere: the figures
            # are what this prints.
            try:
                with open(os.devnull, "w") as nowhere, contextlib.redirect_stdout(nowhere):
                    results[name], text = run_section(name, chosen)
            except Exception:
                # One broken section must not hide the others' figures; the run still fails.
                failed.append(name)
                logging.getLogger("bench").exception("section %s failed", name)
                text = f"### {name}: failed (its error is above the figures)"
            out.append(text)
    out.append(f"Benchmark took {time.perf_counter() - started:.0f} s.")
    figures = "\n\n".join(out)
    print(figures)
    path = None if chosen.no_page else chosen.page or (None if chosen.only else PAGE)
    if failed:
        progress(f"failed: {', '.join(failed)}; no page written")
        return 1
    if path:
        if not write_page(path, figures):
            progress(f"{path} had no hand-written part ({HAND_WRITTEN}): none kept")
        progress(f"figures written to {path}")
    if chosen.json:
        chosen.json.write_text(json.dumps(results, indent=1, default=_plain))
    return 0


if __name__ == "__main__":
    sys.exit(main())
