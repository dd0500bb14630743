"""Faults the emulator injects on demand, to show what the backend does when OpenTok misbehaves.

Each fault applies to its next `times` occurrences, then is used up:

- `fail`: a REST call answers an error status (a 5xx, a 409...) without doing anything;
- `delay`: a REST call is done, but answered `seconds` late (past the SDK's timeout, a
  timeout: the client gives up, and OpenTok has done it all the same);
- `answer`: a REST call is done, and its success answered with `status` and `body` instead:
  for answers the contract leaves unverified (the storage target's), to show that every
  reading is taken;
- `drop_callbacks`: status callbacks that are never sent;
- `fail_recordings`: recordings that OpenTok fails once stopped: `failed`, reason `failure`
  (the one reason OpenTok gives a failed archive, contract §3), nothing uploaded or kept;
- `drop_s3_notifications` / `duplicate_s3_notifications`: S3's notifications of the uploads,
  lost or delivered twice (at the same time) by the local stack's delivery to MarkReady.

Tests use them in process (`emulator.faults`); `make dev` serves them at /_emulator/faults
(POST one as JSON, GET lists what is left, DELETE clears).
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass

KINDS = (
    "fail",
    "delay",
    "answer",
    "drop-callback",
    "fail-recording",
    "drop-s3-notification",
    "duplicate-s3-notification",
)


@dataclass
class Fault:
    kind: str
    method: str = "*"
    path: str = ""  # a regular expression searched in the REST path; empty matches any
    status: int = 0
    seconds: float = 0.0
    body: str = ""
    times: int = 1

    def matches(self, kind: str, method: str, path: str) -> bool:
        return (
            self.kind == kind
            and self.method in ("*", method)
            and (not self.path or re.search(self.path, path) is not None)
        )


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        if fault.kind not in KINDS:
            raise ValueError(f"unknown fault {fault.kind!r}; one of {', '.join(KINDS)}")
        if fault.times < 1:
            raise ValueError("times must be at least 1")
        if fault.kind == "fail" and not 400 <= fault.status <= 599:
            raise ValueError("a failure needs an error status, 400-599")
        if fault.kind == "answer" and not 200 <= fault.status <= 299:
            raise ValueError("an answer needs a success status, 200-299")
        if fault.kind == "delay" and not 0 < fault.seconds <= 120:
            raise ValueError("a delay needs seconds, more than 0 and at most 120")
        re.compile(fault.path)
        with self._lock:
            self._waiting.append(fault)
        return fault

    def fail(self, method: str, path: str, status: int, times: int = 1) -> Fault:
        return self.add(Fault("fail", method, path, status=status, times=times))

    def delay(self, method: str, path: str, seconds: float, times: int = 1) -> Fault:
        return self.add(Fault("delay", method, path, seconds=seconds, times=times))

    def answer(self, method: str, path: str, status: int, body: str = "", times: int = 1) -> Fault:
        return self.add(Fault("answer", method, path, status=status, body=body, times=times))

    def drop_callbacks(self, times: int = 1) -> Fault:
        return self.add(Fault("drop-callback", times=times))

    def fail_recordings(self, times: int = 1) -> Fault:
        return self.add(Fault("fail-recording", times=times))

    def drop_s3_notifications(self, times: int = 1) -> Fault:
        return self.add(Fault("drop-s3-notification", times=times))

    def duplicate_s3_notifications(self, times: int = 1) -> Fault:
        return self.add(Fault("duplicate-s3-notification", times=times))

    def take(self, kind: str, method: str = "*", path: str = "") -> Fault | None:
        """The first waiting fault for this occurrence, one of its times used up; or None."""
        with self._lock:
            for fault in self._waiting:
                if fault.matches(kind, method, path):
                    fault.times -= 1
                    if fault.times == 0:
                        self._waiting.remove(fault)
                    return fault
        return None

    def waiting(self) -> list[dict]:
        with self._lock:
            return [asdict(fault) for fault in self._waiting]

    def clear(self) -> None:
        with self._lock:
            self._waiting.clear()
