"""What every section of `make bench` shares: its Markdown tables, its verdicts on targets."""

import shutil
import statistics
import sys
from typing import Any

# The sections that open pages: Debian's chromium, its fake camera, and sound that plays.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--use-fake-device-for-media-stream"]
CHROMIUM_ARGS += ["--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"]


def table(head: str, rows: list[list[Any]]) -> str:
    """A Markdown table: its head is the columns' names, ` | ` between them."""
    lines = [f"| {head} |", "|" + "---|" * len(head.split(" | "))]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows])


def verdict(value: float, limit: float) -> str:
    return "met" if value <= limit else f"missed by {value - limit:.2f}"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def median(samples: Any) -> float:
    return statistics.median(samples)


def progress(text: str) -> None:
    print(f"  ... {text}", file=sys.stderr, flush=True)


def section(title: str, body: str, measured_by: Any, *facts: str) -> str:
    """A section of the page: its title, its tables, then how they were measured (facts of this
    run, and the docstring of the function that measured them, which says why they are fair)."""
    return f"### {title}\n\n{body}\n\n" + " ".join([*facts, *measured_by.__doc__.split()])
