"""How soon the room hears that its recording is ready, and what the room asks meanwhile.

`make dev`'s stack (local.dev.DevStack) runs in this process, with a host's page and a
participant's page in chromium (Playwright) in one room. The host records and stops ROUNDS
times; each time the S3 object's creation is the moment the OpenTok emulator's upload returns
(its own status change to `uploaded`), and the page's signal event the moment its
"Recording ready — watch" link shows, read in the page on the same wall clock. The API
requests either page started between the two are read from the pages' resource timings. A
round starts once the room has settled from the last, as between two real recordings.

`.venv/bin/python -m local.bench.signal` prints the figures as JSON.
"""

import json
import re
import shutil
import statistics
import time
from typing import Any

ROUNDS = 20
PROCESSING_DELAY = 0.3  # seconds the emulator takes to make the file, as in the tests
TARGET_P50_SECONDS = 0.3
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
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


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _explains(answer: Any, archive: str) -> bool:
    """An answer to the page's look-up of why the archive stopped, which says why."""
    if not (answer.ok and re.search(rf"/archive/{archive}$", answer.url)):
        return False
    return bool(answer.json().get("reason"))


def _watch_uploads(stack: Any) -> dict[str, float]:
    """Archive id -> epoch seconds its recording reached the bucket (the upload returned)."""
    uploaded: dict[str, float] = {}
    state = stack.opentok.state
    forward = state.on_archive_status

    def noted(payload: dict) -> None:
        if payload.get("status") == "uploaded":
            uploaded.setdefault(payload["id"], time.time())
        forward(payload)

    state.on_archive_status = noted
    return uploaded


def run(rounds: int = ROUNDS) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from local.dev import DevStack

    stack = DevStack(port=0, processing_delay=PROCESSING_DELAY).start()
    try:
        uploaded = _watch_uploads(stack)
        host_key = stack.stack.host_key
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            room = f"{stack.url}/?room=bench-signal"
            pages = [browser.new_context().new_page() for _ in range(2)]
            host, guest = pages
            host.goto(f"{room}#host={host_key}")
            guest.goto(room)
            for page in pages:
                page.set_default_timeout(30_000)
                page.wait_for_selector("[data-testid=connection-status][data-state=connected]")
                page.evaluate(WATCH)
            for number in range(1, rounds + 1):
                host.wait_for_selector("#start:enabled")
                with host.expect_response(re.compile(r"/archive/start$")) as started:
                    host.click("#start")
                archive = re.escape(started.value.json()["id"])
                host.wait_for_selector("#stop:enabled")
                # The next round waits for the room to settle, as between two real recordings:
                # the participant, who did not press Stop, has learnt why this one stopped.
                with guest.expect_response(
                    lambda answer, archive=archive: _explains(answer, archive)
                ):
                    host.click("#stop")
                    for page in pages:
                        page.wait_for_function(f"Object.keys(window.__ready).length >= {number}")
            heard = [page.evaluate("window.__ready") for page in pages]
            asked = [page.evaluate(API_REQUESTS) for page in pages]
            browser.close()
    finally:
        stack.stop()
    return _figures(uploaded, heard, asked)


def _figures(
    uploaded: dict[str, float], heard: list[dict[str, float]], asked: list[list[list]]
) -> dict[str, Any]:
    delays, meanwhile = [], 0
    for archive_id, landed in uploaded.items():
        for ready_at, requests in zip(heard, asked, strict=True):
            signal = ready_at[archive_id] / 1000
            delays.append(signal - landed)
            meanwhile += sum(1 for _, at in requests if landed <= at / 1000 <= signal)
    p50 = statistics.median(delays)
    return {
        "recordings": len(uploaded),
        "pages": len(heard),
        "seconds_from_s3_object_to_signal": {
            "p50": round(p50, 3),
            "p95": round(_percentile(delays, 0.95), 3),
            "max": round(max(delays), 3),
        },
        "api_requests_meanwhile": meanwhile,
        "target": {"p50_seconds": TARGET_P50_SECONDS, "api_requests": 0},
        "met": p50 <= TARGET_P50_SECONDS and meanwhile == 0,
    }


def main() -> None:
    print(json.dumps(run(), indent=2))


if __name__ == "__main__":
    main()
