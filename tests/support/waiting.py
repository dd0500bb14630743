"""Waiting on a condition with a deadline, and a free port: never a sleep that hopes."""

import socket
import time
from collections.abc import Callable
from typing import Any


def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Waits until `check()` returns something truthy, and returns it; fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {check}")
        time.sleep(interval)


def free_port() -> int:
    """A port of loopback that nothing listens on now, for a process the test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
