"""The harness the benchmark runs on, the events it sends, its runs in fresh interpreters
(child.py), and the records it makes as the product does: recordings through the emulator, by
the SDK; our records of them by backend.archives, run here with the functions' table."""

import json
import resource
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import opentok

from local.aws.template import ACCOUNT_ID, ROOT
from local.tools.harness import EVENT_PLACEHOLDERS, Harness

CHILD = Path(__file__).with_name("child.py")
# What OpenTok says of a stopped recording, besides its ids.
ARCHIVE = {"status": "stopped", "name": "Weekly standup", "duration": 42, "size": 0}
ARCHIVE |= {"outputMode": "composed", "resolution": "640x480", "reason": None}
ARCHIVE |= {"hasAudio": True, "hasVideo": True}
NEVER = 24 * 3600.0  # OpenTok's timers never fire in a run: the benchmark lands recordings
RECORDING_BYTES = 1234567


@dataclass
class Run:
    wall: float  # seconds, the whole process
    cpu: float  # seconds, the process's user and system time
    report: dict[str, Any]  # what child.py printed


class BenchHarness(Harness):
    """The harness, with OpenTok's processing left to the benchmark and reconciling at once."""

    ready_archive = ""  # an archive whose recording is in the bucket, once made

    def __init__(self, **parameters: str) -> None:
        super().__init__(
            # Archives stopped a moment ago are the reconciler's: its runs here have work.
            parameters={"StuckAfterMinutes": "0", **parameters},
            emulator_options={"processing_delay": NEVER, "time_scale": 60 / NEVER},
            stack_name="bench",
        )

    def start(self) -> "BenchHarness":
        super().start()
        # The product's modules, run here, write to the functions' table (read at each call).
        from backend import config

        config.TABLE_NAME = self.table
        return self

    def run_child(
        self, function: str, variant: str, job: dict[str, Any], layer: Path | None = None
    ) -> Run:
        """One fresh interpreter with the function's environment: `python -c pass` for the
        floor, child.py otherwise. `layer`: a built layer's python/ folder, with no bytecode
        written (Lambda cannot write under /opt); functions/shared when None."""
        spec = self.template.functions()[function]
        job = job | {"variant": variant, "name": function, "timeout": spec.timeout}
        job |= {"account_id": ACCOUNT_ID, "root": str(ROOT), "code_dir": str(spec.code_dir)}
        job |= {"layer_dir": str(layer or spec.layer_dirs[0]), "layer_first": layer is not None}
        environment = self.environment(function) | {"BENCH_JOB": json.dumps(job)}
        if layer:
            environment["PYTHONDONTWRITEBYTECODE"] = "1"
        command = ["-c", "pass"] if variant == "floor" else [str(CHILD)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - this interpreter and our own script
            [sys.executable, *command], env=environment, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        found = [line for line in done.stdout.splitlines() if line.startswith("BENCH_RESULT ")]
        report = json.loads(found[-1].removeprefix("BENCH_RESULT ")) if found else {}
        if done.returncode or report.get("failed") or (variant != "floor" and not found):
            raise RuntimeError(f"{function} ({variant}) failed: {report}\n{done.stderr[-3000:]}")
        return Run(wall, cpu, report)

    def connected_session(self) -> str:
        """A new routed session with one client in it, so that it can be recorded."""
        sdk = self.sdk()
        session_id = sdk.create_session(media_mode=opentok.MediaModes.routed).session_id
        self.opentok.connect(session_id, sdk.generate_token(session_id))
        return session_id

    def started_archive(self) -> tuple[str, str]:
        """(session id, archive id) of a recording under way, started outside our functions."""
        session_id = self.connected_session()
        return session_id, self.sdk().start_archive(session_id, name="Weekly standup").id

    def put_archive(
        self, archive_id: str = "", session_id: str = "", ready: bool = True, **fields: Any
    ) -> str:
        """Our record of an archive, written by backend.archives from OpenTok's fields."""
        from backend import archives

        archive_id, session_id = (
            archive_id or str(uuid.uuid4()),
            session_id or EVENT_PLACEHOLDERS["session_id"],
        )
        ids = {"id": archive_id, "sessionId": session_id, "createdAt": int(time.time() * 1000)}
        archives.record(ARCHIVE | ids | fields)
        if ready:
            archives.mark_ready(archive_id, self.recording_key(archive_id), RECORDING_BYTES)
        return archive_id

    def recording_key(self, archive_id: str, name: str = "archive.mp4") -> str:
        assert self.emulator is not None
        return f"{self.emulator.api_key}/{archive_id}/{name}"
