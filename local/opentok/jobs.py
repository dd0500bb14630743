"""Background work: delayed jobs (processing, OpenTok's timers) and status callbacks."""

from __future__ import annotations

import hashlib
import heapq
import http.client
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import jwt

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


# What an archive status callback carries (contract §9: CB's example, plus VPY's `event`).
CALLBACK_FIELDS = (
    "id",
    "status",
    "name",
    "reason",
    "sessionId",
    "projectId",
    "createdAt",
    "size",
    "duration",
    "outputMode",
    "hasAudio",
    "hasVideo",
    "certificate",
    "sha256sum",
    "password",
    "updatedAt",
    "event",
)
_EMPTY_BY_DEFAULT = ("certificate", "sha256sum", "password")


def archive_callback_body(archive: dict) -> dict:
    """The callback body for an archive as the REST API shows it (contract §9)."""
    body = {name: archive.get(name) for name in CALLBACK_FIELDS}
    for name in _EMPTY_BY_DEFAULT:
        body[name] = archive.get(name) or ""
    body["event"] = "archive"
    return body


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed callback is tried again, in OpenTok seconds (§9, SUP 6646236108700)."""

    name: str
    first_delay: float
    max_delay: float
    max_retries: int | None = None
    give_up_after: float | None = None

    def delays(self) -> Iterator[float]:
        """The wait before each retry, doubling from `first_delay` up to `max_delay`."""
        delay, waited, retries = self.first_delay, 0.0, 0
        while self.max_retries is None or retries < self.max_retries:
            if self.give_up_after is not None and waited + delay > self.give_up_after:
                return
            yield delay
            waited += delay
            retries += 1
            delay = min(delay * 2, self.max_delay)


# The TokBox sender: 4 retries per event; their spacing is not documented [unverified].
LEGACY_RETRIES = RetryPolicy("legacy", first_delay=5.0, max_delay=900.0, max_retries=4)
# The Vonage callback service (all callbacks since Jan 2024, and every signed one):
# exponential backoff from 5 s, at most 15 min apart, for up to 24 h.
VONAGE_RETRIES = RetryPolicy("vonage", first_delay=5.0, max_delay=900.0, give_up_after=86400.0)
RETRY_POLICIES = {policy.name: policy for policy in (LEGACY_RETRIES, VONAGE_RETRIES)}


def signature_token(body: bytes, secret: str, api_key: str, application_id: str | None) -> str:
    """The JWT a signed callback carries (SEC; claims and HS256 as Vonage's secure-callbacks
    announcement shows them): `iat`, `jti`, `iss`, `payload_hash` (SHA-256 of the body),
    `api_key`, and `application_id` for a Vonage application."""
    claims = {
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": api_key,
    }
    if application_id:
        claims["application_id"] = application_id
    return jwt.encode(claims, secret, algorithm="HS256", headers={"typ": "JWT"})


@dataclass
class _Delivery:
    url: str
    body: bytes
    delays: Iterator[float]
    attempt: int = 0


class CallbackSender:
    """Posts callbacks on one worker thread, retrying failed ones, never raising.

    A failed delivery (no answer, or not 2xx) waits for its retry without holding up the
    callbacks behind it. `time_scale` is OpenTok seconds per real second: at 100, the 5 s
    first retry comes after 50 ms. With a `signature_secret` every attempt is signed afresh.
    """

    def __init__(
        self,
        *,
        retry: RetryPolicy = VONAGE_RETRIES,
        time_scale: float = 1.0,
        signature_secret: str | None = None,
        api_key: str = "",
        application_id: str | None = None,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if signature_secret and retry is not VONAGE_RETRIES:
            raise ValueError("signed callbacks come from the Vonage callback service's retries")
        self.retry = retry
        self.time_scale = time_scale
        self._signature_secret = signature_secret
        self._api_key = api_key
        self._application_id = application_id
        self._due: list[tuple[float, int, _Delivery]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self._busy = False
        self._worker = threading.Thread(target=self._run, name="opentok-callbacks", daemon=True)
        self._worker.start()

    def send(self, url: str, payload: dict) -> None:
        """Queue one POST; the payload is serialized now, so later changes do not leak in."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._schedule(_Delivery(url, body, self.retry.delays()), 0.0)

    def idle(self) -> bool:
        """True when nothing is being sent and no retry is waiting."""
        with self._wake:
            return not self._due and not self._busy

    def close(self, timeout: float = 1.0) -> None:
        """Send what is due now, drop retries still waiting, and wait at most `timeout`."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        self._worker.join(timeout)

    def _schedule(self, delivery: _Delivery, delay: float) -> None:
        with self._wake:
            if self._closed and delay > 0:
                return
            due = time.monotonic() + delay / self.time_scale
            heapq.heappush(self._due, (due, next(self._order), delivery))
            self._wake.notify_all()

    def _next(self) -> _Delivery | None:
        with self._wake:
            while True:
                now = time.monotonic()
                if self._due and self._due[0][0] <= now:
                    self._busy = True
                    return heapq.heappop(self._due)[2]
                if self._closed:
                    return None
                wait = self._due[0][0] - now if self._due else None
                self._wake.wait(wait)

    def _run(self) -> None:
        while (delivery := self._next()) is not None:
            delivery.attempt += 1
            if not self._post(delivery):
                self._retry(delivery)
            with self._wake:
                self._busy = False

    def _retry(self, delivery: _Delivery) -> None:
        delay = next(delivery.delays, None)
        if delay is None:
            log.warning("callback to %s given up after %d attempts", delivery.url, delivery.attempt)
        else:
            self._schedule(delivery, delay)

    def _headers(self, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._signature_secret:
            token = signature_token(
                body, self._signature_secret, self._api_key, self._application_id
            )
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _post(self, delivery: _Delivery) -> bool:
        """One attempt; True when the receiver answered 2xx."""
        if not delivery.url.startswith(("http://", "https://")):
            log.warning("callback URL %s is not http(s); not sending", delivery.url)
            return True  # nothing a retry could change
        request = urllib.request.Request(  # noqa: S310 - scheme checked just above
            delivery.url, data=delivery.body, headers=self._headers(delivery.body), method="POST"
        )
        try:
            with _CALLBACK_OPENER.open(request, timeout=CALLBACK_TIMEOUT) as response:
                response.read()
                return 200 <= response.status < 300
        except urllib.error.HTTPError as error:
            log.info("callback to %s answered %s", delivery.url, error.code)
        except (OSError, ValueError, http.client.HTTPException) as error:
            log.info("callback to %s failed: %s", delivery.url, error)
        return False
