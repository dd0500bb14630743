"""Copy: a 1 GB stand-in recording that OpenTok kept (`available`) copied into the bucket by
the real copy function, in a process of its own, for each part size.

moto serves S3 over HTTP (its threaded server, in the benchmark's process) and the emulator
serves the recording from a file on disk, streamed, with Range. The function's process is a
fresh interpreter that imports app.py as Lambda does and handles one SQS message with a
15-minute context; it reports its elapsed time and its peak resident memory (VmHWM of
/proc/self/status: the whole process, interpreter, boto3, the OpenTok SDK and the parts in
flight), before and after the copy. Not ru_maxrss: Linux carries the parent's peak into it
across exec, and the parent holds moto's copies of every gigabyte. The copy is checked: the
object's size, and its multipart ETag computed from the file with the same part size.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.template import ROOT

FUNCTION = "CopyRecordingFunction"
RECORDING_BYTES = 1024**3
PART_SIZES_MIB = (16, 32, 64)
CONTEXT_SECONDS = 900


@dataclass
class Copy:
    part_mib: int
    recording_bytes: int
    seconds: float  # the handler's, in its process
    process_seconds: float  # the whole child process, interpreter start included
    init_peak_mb: float  # VmHWM after importing app.py
    peak_mb: float  # VmHWM after the copy
    parts: int
    verified: bool

    @property
    def mb_per_second(self) -> float:
        return self.recording_bytes / 1e6 / self.seconds


def _stand_in(directory: Path, size: int) -> Path:
    """A recording-sized file of random bytes (a 1 MiB random block, repeated)."""
    path = directory / "archive.mp4"
    block = os.urandom(1024 * 1024)
    with path.open("wb") as file:
        for _ in range(size // len(block)):
            file.write(block)
        file.write(block[: size % len(block)])
    return path


def _multipart_etag(path: Path, part_bytes: int) -> str:
    digests = []
    with path.open("rb") as file:
        while chunk := file.read(part_bytes):
            digests.append(hashlib.md5(chunk, usedforsecurity=False).digest())
    combined = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest()
    return f'"{combined}-{len(digests)}"'


def _kept_by_opentok(stack: Any, recording: Path) -> str:
    """A recording whose upload failed, so that OpenTok keeps it, served from `recording`."""
    import requests

    requests.put(
        f"{stack.opentok.url}/v2/project/{stack.deployment.names['OpenTokApiKey']}/archive/storage",
        json={
            "type": "s3",
            "config": {"accessKey": "bench", "secretKey": "bench", "bucket": "no-such-bucket"},
            "fallback": "opentok",
        },
        headers=stack.sdk.get_json_headers(),
        timeout=5,
    ).raise_for_status()
    session_id, archive_id = stack.started_archive()
    stack.sdk.stop_archive(archive_id)
    stack.finish_processing(archive_id)
    if stack.sdk.get_archive(archive_id).status != "available":
        raise RuntimeError("the emulator did not keep the recording")
    stack.opentok.state.serve_from_disk(archive_id, recording)
    stack.put_archive(archive_id=archive_id, session_id=session_id, status="stopped", ready=False)
    return archive_id


def _copy_once(stack: Any, recording: Path, part_mib: int) -> Copy:
    import boto3

    archive_id = _kept_by_opentok(stack, recording)
    function = stack.template.functions()[FUNCTION]
    job = {
        "code_dir": str(function.code_dir),
        "layer_dir": str(function.layer_dirs[0]),
        "archive_id": archive_id,
    }
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("AWS_")},
        **stack.environment(FUNCTION),
        "COPY_PART_SIZE_MIB": str(part_mib),
        "BENCH_COPY_JOB": json.dumps(job),
    }
    started = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-m", "local.bench.copy"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    process_seconds = time.perf_counter() - started
    lines = [line for line in finished.stdout.splitlines() if line.startswith("BENCH_COPY ")]
    if finished.returncode or not lines:
        raise RuntimeError(
            f"the copy failed:\n{finished.stdout[-3000:]}\n{finished.stderr[-3000:]}"
        )
    measured = json.loads(lines[-1].removeprefix("BENCH_COPY "))
    if measured["answer"] != {"batchItemFailures": []}:
        raise RuntimeError(f"the copy function answered {measured['answer']}")
    key = f"{stack.deployment.names['OpenTokApiKey']}/{archive_id}/archive.mp4"
    head = boto3.client("s3").head_object(Bucket=stack.bucket, Key=key)
    part_bytes = part_mib * 1024 * 1024
    verified = head["ContentLength"] == recording.stat().st_size and head[
        "ETag"
    ] == _multipart_etag(recording, part_bytes)
    return Copy(
        part_mib=part_mib,
        recording_bytes=recording.stat().st_size,
        seconds=measured["seconds"],
        process_seconds=process_seconds,
        init_peak_mb=measured["init_peak_kb"] / 1024,
        peak_mb=measured["peak_kb"] / 1024,
        parts=-(-recording.stat().st_size // part_bytes),
        verified=verified,
    )


def measure(
    progress: Callable[[str], None],
    part_sizes: tuple[int, ...] = PART_SIZES_MIB,
    recording_bytes: int = RECORDING_BYTES,
) -> list[Copy]:
    from local.bench.stack import ServerStack, quiet_stdout

    copies = []
    with tempfile.TemporaryDirectory(prefix="bench-copy-") as workdir:
        progress(f"copy: writing a {recording_bytes / 1024**3:g} GiB stand-in recording")
        recording = _stand_in(Path(workdir), recording_bytes)
        with ServerStack() as stack, quiet_stdout():
            for part_mib in part_sizes:
                progress(f"copy: {part_mib} MiB parts")
                copies.append(_copy_once(stack, recording, part_mib))
    return copies


# --- The function's process ---------------------------------------------------------------


class _Context:
    """The attributes of Lambda's context object that Powertools reads; 15 minutes to run."""

    def __init__(self) -> None:
        self.function_name = FUNCTION
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"
        self.aws_request_id = "00000000-0000-4000-8000-000000000000"
        self.log_group_name = f"/aws/lambda/{FUNCTION}"
        self.log_stream_name = "bench"
        self._deadline = time.monotonic() + CONTEXT_SECONDS

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def _peak_kb() -> int:
    """The process's peak resident set since exec (Linux's VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status: the copy benchmark needs Linux")


def _child() -> None:
    job = json.loads(os.environ["BENCH_COPY_JOB"])
    sys.path[:0] = [job["code_dir"], job["layer_dir"]]
    import app  # type: ignore[import-not-found]

    init_peak = _peak_kb()
    event = {
        "Records": [
            {
                "messageId": "00000000-0000-4000-8000-000000000001",
                "body": json.dumps({"archiveId": job["archive_id"]}),
                "eventSource": "aws:sqs",
            }
        ]
    }
    started = time.perf_counter()
    answer = app.lambda_handler(event, _Context())
    seconds = time.perf_counter() - started
    measured = {
        "answer": answer,
        "seconds": seconds,
        "init_peak_kb": init_peak,
        "peak_kb": _peak_kb(),
    }
    print("BENCH_COPY " + json.dumps(measured), flush=True)


if __name__ == "__main__":
    _child()
