"""Copy: a 1 GB stand-in recording that OpenTok kept (`available`) copied into the bucket by
the real copy function, in a process of its own, for each part size.

moto serves S3 over HTTP and the emulator serves the recording from a file on disk, streamed,
with Range. The function runs as a cold start does (child.py: a fresh interpreter imports
app.py as Lambda does) and handles one SQS message with its 15-minute context; it reports the
handler's time and the process's peak resident memory after the import and after the copy.
The copy is checked: the object's size, and its multipart ETag computed from the file with
the same part size.
"""

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from local.bench.cold import Layer, run_child
from local.bench.stack import BenchHarness, event

FUNCTION = "CopyRecordingFunction"
RECORDING_BYTES = 1024**3
PART_SIZES_MIB = (16, 32, 64)


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


def _kept_by_opentok(stack: BenchHarness, recording: Path) -> str:
    """A recording whose upload failed, so that OpenTok keeps it, served from `recording`."""
    stack.point_storage_at("no-such-bucket", fallback="opentok")
    session_id, archive_id = stack.finished_archive()
    if stack.sdk.get_archive(archive_id).status != "available":
        raise RuntimeError("the emulator did not keep the recording")
    stack.opentok.state.serve_from_disk(archive_id, recording)
    stack.put_archive(archive_id, session_id, ready=False)
    return archive_id


def _copy_once(stack: BenchHarness, recording: Path, part_mib: int) -> Copy:
    import boto3

    archive_id = _kept_by_opentok(stack, recording)
    stack.configure_functions(COPY_PART_SIZE_MIB=str(part_mib))
    message = event("sqs_copy_recording", archive_id=archive_id)
    started = time.perf_counter()
    run = run_child(stack, FUNCTION, "function", {"event": message}, Layer("source"))
    process_seconds = time.perf_counter() - started
    head = boto3.client("s3").head_object(Bucket=stack.bucket, Key=stack.recording_key(archive_id))
    part_bytes = part_mib * 1024 * 1024
    size = recording.stat().st_size
    return Copy(
        part_mib=part_mib,
        recording_bytes=size,
        seconds=run.report["event"],
        process_seconds=process_seconds,
        init_peak_mb=run.report["init_peak_kb"] / 1024,
        peak_mb=run.report["peak_kb"] / 1024,
        parts=-(-size // part_bytes),
        verified=head["ContentLength"] == size
        and head["ETag"] == _multipart_etag(recording, part_bytes),
    )


def measure(
    progress: Callable[[str], None],
    part_sizes: tuple[int, ...] = PART_SIZES_MIB,
    recording_bytes: int = RECORDING_BYTES,
) -> list[Copy]:
    copies = []
    with tempfile.TemporaryDirectory(prefix="bench-copy-") as workdir:
        progress(f"copy: writing a {recording_bytes / 1024**3:g} GiB stand-in recording")
        recording = _stand_in(Path(workdir), recording_bytes)
        with BenchHarness() as stack:
            for part_mib in part_sizes:
                progress(f"copy: {part_mib} MiB parts")
                copies.append(_copy_once(stack, recording, part_mib))
    return copies
