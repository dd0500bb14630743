"""How soon the room hears that its recording is ready, and what the room asks meanwhile."""

import argparse
import re
import time
from typing import Any

from local.tools.bench import (
    CHROMIUM,
    CHROMIUM_ARGS,
    median,
    percentile,
    progress,
    section,
    table,
    verdict,
)

TARGET_P50_SECONDS = 0.3
# In each page: when the watch link of each archive showed (epoch ms), and every API request
# with the epoch ms it started at, from the page's resource timings.
WATCH = """() => {
  performance.setResourceTimingBufferSize(100000);
  window.__ready = {};
  const news = document.getElementById('recording-news');
  const link = document.getElementById('watch-link');
  new MutationObserver(() => {
    const id = news.dataset.archiveId;
    if (id && !link.hidden && !(id in window.__ready)) window.__ready[id] = Date.now();
  }).observe(news, {attributes: true, subtree: true});
}"""
API_REQUESTS = """() => performance.getEntriesByType('resource')
  .filter((e) => /\\/(archive|room|session)(\\/|$)/.test(new URL(e.name).pathname))
  .map((e) => [new URL(e.name).pathname, performance.timeOrigin + e.startTime])"""


def _explains(archive: str) -> Any:
    """Whether an answer is to the page's look-up of why the archive stopped, and says why."""
    return lambda answer: (
        answer.url.endswith(f"/archive/{archive}")
        and answer.ok
        and bool(answer.json().get("reason"))
    )


def _measure(rounds: int) -> tuple[dict[str, float], list[dict], list[list]]:
    from playwright.sync_api import sync_playwright

    from local.tools.dev import DevStack

    # The emulator takes 0.3 s to make the file, as in the tests.
    stack = DevStack(port=0, processing_delay=0.3).start()
    uploaded: dict[str, float] = {}  # archive id: epoch seconds its upload returned
    forward = stack.opentok.state.on_archive_status

    def noted(payload: dict) -> None:
        if payload.get("status") == "uploaded":
            uploaded.setdefault(payload["id"], time.time())
        forward(payload)

    stack.opentok.state.on_archive_status = noted
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            room = f"{stack.url}/?room=bench-signal"
            host, guest = pages = [browser.new_context().new_page() for _ in range(2)]
            host.goto(f"{room}#host={stack.stack.host_key}")
            guest.goto(room)
            for page in pages:
                page.set_default_timeout(30_000)
                page.wait_for_selector("[data-testid=connection-status][data-state=connected]")
                page.evaluate(WATCH)
            for number in range(1, rounds + 1):
                host.wait_for_selector("#start:enabled")
                with host.expect_response(re.compile(r"/archive/start$")) as started:
                    host.click("#start")
                archive = started.value.json()["id"]
                host.wait_for_selector("#stop:enabled")
                # The next round waits for the room to settle, as between two real recordings:
                # the participant, who did not press Stop, has learnt why this one stopped.
                with guest.expect_response(_explains(archive)):
                    host.click("#stop")
                    for page in pages:
                        page.wait_for_function(f"Object.keys(window.__ready).length >= {number}")
            heard = [page.evaluate("window.__ready") for page in pages]
            asked = [page.evaluate(API_REQUESTS) for page in pages]
            browser.close()
    finally:
        stack.stop()
    return uploaded, heard, asked


def signal(options: argparse.Namespace) -> tuple[Any, str]:
    """make dev's stack (local.tools.dev.DevStack) with a host's and a participant's page in
    chromium in one room. The host records and stops, round after round, each once the room has
    settled from the last. From the S3 object's creation (the emulator's upload returning) to
    the page's 'Recording ready' link showing, read in the page on the same wall clock; the API
    requests either page started between the two, from the pages' resource timings."""
    progress(f"room signals: {options.signal_rounds} recordings, two pages in chromium")
    uploaded, heard, asked = _measure(options.signal_rounds)
    delays, meanwhile = [], 0
    for archive_id, landed in uploaded.items():
        for ready_at, requests in zip(heard, asked, strict=True):
            signal_at = ready_at[archive_id] / 1000
            delays.append(signal_at - landed)
            meanwhile += sum(1 for _, at in requests if landed <= at / 1000 <= signal_at)
    p50, target = median(delays), TARGET_P50_SECONDS
    row = [len(uploaded), len(heard), f"{p50:.3f} ({verdict(p50, target)})"]
    row += [f"{percentile(delays, 0.95):.3f}", f"{max(delays):.3f}"]
    head = (
        f"recordings | pages | p50 s from the S3 object to the signal (≤ {target:g}) | p95 s"
        " | worst s | API requests meanwhile (0)"
    )
    body = table(head, [[*row, f"{meanwhile} ({verdict(meanwhile, 0)})"]])
    figures = {"seconds_from_s3_object_to_signal": delays, "api_requests_meanwhile": meanwhile}
    return figures, section("8. The room hears its recording is ready", body, signal)
