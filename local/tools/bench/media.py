"""What the local world's calls and recordings cost the emulator: CPU and memory per recorded
minute, with 2 and 4 pages publishing."""

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import opentok
import requests

from local.aws.template import ROOT
from local.opentok.server import wait_for
from local.tools.bench import CHROMIUM, CHROMIUM_ARGS, median, progress, section, table

KEY, SECRET = "46000001", "bench-media-secret-0123456789abcdef"
OPENTOK_JS = ROOT / "local" / "opentok" / "opentok.js"
TICKS = os.sysconf("SC_CLK_TCK")
# A page of the emulator's origin that joins the session, publishes its (fake) camera and
# subscribes to everyone else's, as the sample page does; the stand-in is served beside it.
PAGE = """<!doctype html><meta charset="utf-8"><title>bench</title><body>
<script src="/local/opentok.js"></script><script>
const session = OT.initSession(%(key)r, %(session)r);
session.on('streamCreated', (event) => session.subscribe(event.stream, document.body,
  {insertMode: 'append', width: 160, height: 120}));
session.connect(%(token)r, (error) => {
  if (error) { document.title = 'failed: ' + error.message; return; }
  const publisher = OT.initPublisher(document.body,
    {insertMode: 'append', width: 160, height: 120});
  session.publish(publisher, (failure) => { document.title = failure ? 'failed' : 'published'; });
});
</script>"""
PLAYING = """(count) => [...document.querySelectorAll('video')]
  .filter((video) => video.videoWidth > 0).length === count"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(body: str) -> Any:
    # Playwright hands a route handler (route, request) when it takes two parameters: one.
    kind = "text/javascript" if body.startswith("/*") else "text/html"
    return lambda route: route.fulfill(body=body, content_type=kind)


def _cpu_seconds(pid: int) -> float:
    """User and system time of the process so far (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _memory_kb(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (the peak since exec) of the process, in KiB."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))


def _measure(pages: int, output_mode: str, seconds: float) -> dict[str, float]:
    """One emulator process, `pages` pages in it, one archive recorded for `seconds`."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    emulator = subprocess.Popen(  # noqa: S603 - our own module, by this interpreter
        [
            *(sys.executable, "-m", "local.opentok", "--port", str(port), "--api-key", KEY),
            *("--api-secret", SECRET, "--processing-delay", "0.1", "--log-level", "WARNING"),
        ],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url), timeout=30, interval=0.05)
        client = opentok.Client(KEY, SECRET, api_url=url)
        session_id = client.create_session(media_mode=opentok.MediaModes.routed).session_id
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            opened = []
            for _ in range(pages):
                page = browser.new_context().new_page()
                token = client.generate_token(session_id)
                html = PAGE % {"key": KEY, "session": session_id, "token": token}
                page.route(f"{url}/bench.html", _serve(html))
                page.route(f"{url}/local/opentok.js", _serve(OPENTOK_JS.read_text()))
                page.goto(f"{url}/bench.html")
                opened.append(page)
            for page in opened:
                page.wait_for_function("() => document.title === 'published'", timeout=30_000)
                # Everyone else's video plays here: the call is up before the recording starts.
                page.wait_for_function(PLAYING, arg=pages, timeout=30_000)
            cpu_before, rss_before = _cpu_seconds(emulator.pid), _memory_kb(emulator.pid, "VmRSS")
            archive = client.start_archive(
                session_id, output_mode=getattr(opentok.OutputModes, output_mode)
            )
            started = time.monotonic()
            wait_for(lambda: time.monotonic() - started >= seconds, seconds + 5, interval=0.05)
            client.stop_archive(archive.id)
            cpu_stopped = _cpu_seconds(emulator.pid)
            done = wait_for(
                lambda: (a := client.get_archive(archive.id)).status == "available" and a,
                timeout=120,
                interval=0.05,
            )
            cpu_after = _cpu_seconds(emulator.pid)
            browser.close()
        minutes = done.duration / 60
        return {
            "pages": pages,
            "recorded_s": done.duration,
            "size_mib": done.size / 2**20,
            "cpu_recording_per_min": (cpu_stopped - cpu_before) / minutes,
            "cpu_making_per_min": (cpu_after - cpu_stopped) / minutes,
            "peak_mib": _memory_kb(emulator.pid, "VmHWM") / 1024,
            "rise_mib": (_memory_kb(emulator.pid, "VmHWM") - rss_before) / 1024,
        }
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


def _answers(url: str) -> bool:
    """Whether the emulator started in its process is listening yet."""
    try:
        return requests.get(f"{url}/_emulator/health", timeout=1).ok
    except requests.RequestException:
        return False


def media(options: argparse.Namespace) -> tuple[Any, str]:
    """The emulator alone in a process of its own (python -m local.opentok), chromium's pages
    with its fake camera (640x480) calling each other through it and publishing, as make dev's
    pages do. After the call is up, one archive records for the set time, then is made into its
    file. CPU seconds are the emulator process's user and system time (/proc/<pid>/stat) while
    it recorded (receiving the pages' chunks) and while it made the file, each divided by the
    minutes recorded; memory is its peak resident set (VmHWM), and how far that rose above what
    it held before the archive started. The pages' own cost (chromium) is not counted: it is the
    same with a real OpenTok."""
    seconds = options.media_seconds
    rows, figures = [], []
    for pages in (2, 4):
        for output_mode in ("composed", "individual"):
            progress(f"media: {pages} pages, {output_mode}, {seconds:g} s recorded")
            found = _measure(pages, output_mode, seconds)
            figures.append(found | {"output_mode": output_mode})
            rows.append(
                [
                    pages,
                    output_mode,
                    f"{found['recorded_s']:.0f}",
                    f"{found['size_mib']:.1f}",
                    f"{found['cpu_recording_per_min']:.2f}",
                    f"{found['cpu_making_per_min']:.2f}",
                    f"{found['cpu_recording_per_min'] + found['cpu_making_per_min']:.2f}",
                    f"{found['peak_mib']:.0f}",
                    f"{found['rise_mib']:.0f}",
                ]
            )
    head = (
        "pages | archive | recorded s | file MiB | CPU s per recorded min, recording"
        " | making the file | in all | peak MiB | rise MiB"
    )
    per_minute = median([f["cpu_recording_per_min"] + f["cpu_making_per_min"] for f in figures])
    fact = f"Median CPU per recorded minute over the four runs: {per_minute:.2f} s."
    return figures, section(
        "10. A call and its recordings in the emulator", table(head, rows), media, fact
    )
