"""`make dev`'s stack, started as a process the way a person starts it, for the tests."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from tests.conftest import eventually

ROOT = Path(__file__).resolve().parent.parent


class RunningStack:
    def __init__(self, processing_delay: float = 0.3, archive_mode: str = "manual") -> None:
        environment = {
            name: value for name, value in os.environ.items() if not name.startswith("AWS_")
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local.dev",
                "--port",
                "0",
                "--processing-delay",
                str(processing_delay),
                "--archive-mode",
                archive_mode,
            ],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        # One reader for the whole life of the stack: a full pipe would stall it at its next
        # log line, and select() on a buffered pipe misses lines already read into the buffer.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self.url = self._wait_for_url(timeout=60)
        self.host_link = self._printed(r"Host link[^:]*:\s+(\S+)")
        self.participant_link = self._printed(r"Participant link[^:]*:\s+(\S+)")
        self.host_key = self.host_link.split("#host=", 1)[1]

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def _wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.output):
                found = re.search(r"Open (http://127\.0\.0\.1:\d+)", line)
                if found:
                    return found.group(1)
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError("the local stack did not start:\n" + "".join(self.output))

    def start(self, session_id: str, headers: dict[str, str]) -> requests.Response:
        """POST /archive/start for the session, with the given (host's) headers."""
        return requests.post(
            f"{self.url}/archive/start", json={"sessionId": session_id}, headers=headers, timeout=20
        )

    def wait_until_ready(self, archive_id: str, timeout: float = 30) -> dict[str, Any]:
        """The archive once the bucket's notification has made it ready."""

        def ready() -> dict[str, Any] | None:
            body = requests.get(f"{self.url}/archive/{archive_id}", timeout=10).json()
            return body if body["ready"] else None

        return eventually(ready, timeout=timeout)

    def _printed(self, pattern: str) -> str:
        for line in self.output:
            found = re.search(pattern, line)
            if found:
                return found.group(1)
        raise AssertionError(f"make dev did not print {pattern!r}:\n" + "".join(self.output))

    def stop(self) -> int:
        """Ctrl-C, as a person would; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.join(timeout=10)
        return self.process.returncode
