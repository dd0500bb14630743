"""Background work: delayed jobs (processing, OpenTok's timers) and status callbacks."""

from __future__ import annotations

import http.client
import json
import logging
import queue
import threading
import time
import urllib.request
from collections.abc import Callable

log = logging.getLogger(__name__)

CALLBACK_TIMEOUT = 3.0
# Callback receivers are local services; an HTTP(S)_PROXY from the environment would hide them.
_CALLBACK_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Scheduler:
    """Timers that can all be cancelled at once when the emulator stops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._timers: set[threading.Timer] = set()
        self._closed = False

    def call_later(self, delay: float, job: Callable[[], None]) -> threading.Timer | None:
        """Run `job` on its own thread after `delay` seconds, unless closed (or cancelled) first.

        Returns the timer, for `cancel`; None once closed.
        """

        def run() -> None:
            try:
                job()
            except Exception:
                # A failing job must not take the emulator down; it is a bug worth seeing.
                log.exception("background job failed")
            finally:
                with self._lock:
                    self._timers.discard(timer)

        timer = threading.Timer(max(delay, 0.0), run)
        timer.daemon = True
        with self._lock:
            if self._closed:
                return None
            self._timers.add(timer)
            timer.start()
        return timer

    def cancel(self, timer: threading.Timer | None) -> None:
        """Forget a job that is no longer wanted, so its thread ends now instead of at its time."""
        if timer is None:
            return
        timer.cancel()
        with self._lock:
            self._timers.discard(timer)

    def close(self, timeout: float = 2.0) -> None:
        """Cancel pending jobs and give running ones a short while to finish."""
        with self._lock:
            self._closed = True
            timers = list(self._timers)
        for timer in timers:
            timer.cancel()
        deadline = time.monotonic() + timeout
        for timer in timers:
            if timer is not threading.current_thread():
                timer.join(max(deadline - time.monotonic(), 0.0))


class CallbackSender:
    """Posts JSON to callback URLs in order, on one worker thread, never raising."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, dict] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="opentok-callbacks", daemon=True)
        self._worker.start()

    def send(self, url: str, payload: dict) -> None:
        """Queue one POST; the payload should be a snapshot, it is sent later."""
        self._queue.put((url, payload))

    def close(self, timeout: float = 1.0) -> None:
        """Stop after the callbacks already queued, waiting at most `timeout`."""
        self._queue.put(None)
        self._worker.join(timeout)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            self._post(*item)

    @staticmethod
    def _post(url: str, payload: dict) -> None:
        if not url.startswith(("http://", "https://")):
            log.warning("callback URL %s is not http(s); not sending", url)
            return
        request = urllib.request.Request(  # noqa: S310 - scheme checked just above
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with _CALLBACK_OPENER.open(request, timeout=CALLBACK_TIMEOUT) as response:
                response.read()
        except (OSError, ValueError, http.client.HTTPException) as error:
            # Like OpenTok, an unreachable callback URL is the receiver's problem.
            log.warning("callback to %s failed: %s", url, error)
