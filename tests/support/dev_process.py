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

from local.tools.parameters import format_overrides
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


class DevProcess:
    def __init__(
        self, processing_delay: float = 0.3, parameters: dict[str, str] | None = None
    ) -> None:
        """`parameters`: template parameters, given as `make dev PARAMETER_OVERRIDES=...`."""
        environment = {
            name: value for name, value in os.environ.items() if not name.startswith("AWS_")
        }
        # Only these: not whatever the shell that runs the tests has in PARAMETER_OVERRIDES.
        environment["PARAMETER_OVERRIDES"] = format_overrides(parameters or {})
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local.tools.dev",
                "--port",
                "0",
                "--processing-delay",
                str(processing_delay),
            ],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a group of its own, as a terminal's foreground job
        )
        self.output: list[str] = []
        # One reader for the whole life of the stack: a full pipe would stall it at its next
        # log line, and select() on a buffered pipe misses lines already read into the buffer.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self.url = self._wait_for_url(timeout=60)
        if (parameters or {}).get("ArchiveControl") == "open":  # one link: nobody is the host
            self.participant_link = self._printed(r"Room link[^:]*:\s+(\S+)")
            self.host_link = self.host_key = ""
        else:
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

    def printed_parameters(self) -> dict[str, tuple[str, str]]:
        """The template parameters make dev printed: name -> (value as shown, where it came
        from; "" for the template's default)."""
        printed: dict[str, tuple[str, str]] = {}
        lines = iter(self.output)
        for line in lines:
            if line.startswith("Template parameters"):
                break
        for line in lines:
            found = re.fullmatch(r"  (\w+) +(.*?)(?:  \((.+)\))?", line.rstrip("\n"))
            if not found:
                break
            printed[found.group(1)] = (found.group(2), found.group(3) or "")
        return printed

    def _printed(self, pattern: str) -> str:
        for line in self.output:
            found = re.search(pattern, line)
            if found:
                return found.group(1)
        raise AssertionError(f"make dev did not print {pattern!r}:\n" + "".join(self.output))

    def stop(self) -> int:
        """Ctrl-C, as a person would: the terminal sends SIGINT to every process of the job
        (the stack's function workers too); returns the exit code."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.join(timeout=10)
        return self.process.returncode


def make_dev(parameter_overrides: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`make dev PARAMETER_OVERRIDES=...` as a person types it, until it ends (for overrides it
    must refuse; one it takes is stopped at `timeout` with Ctrl-C). `-o` keeps make from
    reinstalling the virtual environment the tests run in."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AWS_") and name not in ("PARAMETER_OVERRIDES", "MAKEFLAGS")
    }
    process = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.installed",
            "dev",
            "PORT=0",
            f"BIN={Path(sys.executable).parent}",
            f"PARAMETER_OVERRIDES={parameter_overrides}",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, which Ctrl-C reaches as a whole
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
