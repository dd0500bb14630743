"""Large recordings, each handled by the real function in a process of its own, started as a
cold start is (child.py), which reports the handler's time and its peak memory."""

import argparse
import hashlib
import io
import json
import os
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import boto3

from local.tools.bench import progress, section, table
from local.tools.bench.stack import BenchHarness
from local.tools.harness import load_event

MIB = 1024 * 1024
RECORDING_BYTES = 1024**3
ENTRIES_MIB = (1, 4, 8, 16, 64)  # the sizes of entry whose copies are timed both ways


def _md5(chunks: Any) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def _copy_once(stack: BenchHarness, recording: Path, part_mib: int) -> dict[str, Any]:
    # A recording whose upload failed, so that OpenTok keeps it, served from the file.
    stack.point_storage_at("no-such-bucket", fallback="opentok")
    session_id, archive_id = stack.started_archive()
    stack.sdk().stop_archive(archive_id)
    stack.opentok.state._process(archive_id)
    if stack.sdk().get_archive(archive_id).status != "available":
        raise RuntimeError("the emulator did not keep the recording")
    stack.opentok.state.serve_from_disk(archive_id, recording)
    stack.put_archive(archive_id, session_id, ready=False)
    stack.configure_functions(COPY_PART_SIZE_MIB=str(part_mib))
    message = load_event("sqs_copy_recording", archive_id=archive_id)
    run = stack.run_child("CopyRecordingFunction", "function", {"event": message})
    key = stack.recording_key(archive_id)
    head = boto3.client("s3").head_object(Bucket=stack.bucket, Key=key)
    with recording.open("rb") as file:
        parts = iter(lambda: file.read(part_mib * MIB), b"")
        digests = [hashlib.md5(part, usedforsecurity=False).digest() for part in parts]
    etag = f'"{_md5(digests)}-{len(digests)}"'
    verified = head["ContentLength"] == RECORDING_BYTES and head["ETag"] == etag
    figures = {"part_mib": part_mib, "parts": len(digests), "seconds": run.report["event"]}
    return figures | {"process_seconds": run.wall, **run.report, "verified": verified}


def copy(options: argparse.Namespace) -> tuple[Any, str]:
    """A 1 GiB stand-in recording that OpenTok kept, served by the emulator from disk with Range,
    copied into moto's bucket by CopyRecordingFunction in a process of its own (child.py: a fresh
    interpreter imports app.py as Lambda does, one SQS message, a 15-minute context), checked by
    the object's size and its multipart ETag computed from the file. Peak memory is that
    process's peak resident set (VmHWM): the interpreter and its packages, plus the parts in
    flight. moto and the emulator share the benchmark's process and its cores, so MB/s is a
    floor, not Lambda's."""
    copies, rows = [], []
    with tempfile.TemporaryDirectory(prefix="bench-copy-") as workdir, BenchHarness() as stack:
        progress("copy: writing a 1 GiB stand-in recording")
        recording, block = Path(workdir) / "archive.mp4", os.urandom(MIB)
        with recording.open("wb") as file:
            for _ in range(RECORDING_BYTES // MIB):
                file.write(block)
        for part_mib in options.copy_part_mib or [16, 32, 64]:
            progress(f"copy: {part_mib} MiB parts")
            one = _copy_once(stack, recording, part_mib)
            row = [f"{part_mib} MiB", f"{one['parts']:,}", f"{one['seconds']:.1f}"]
            row += [f"{RECORDING_BYTES / 1e6 / one['seconds']:.0f}", _mb(one["init_peak_kb"])]
            rows.append([*row, _mb(one["peak_kb"]), "yes" if one["verified"] else "NO"])
            copies.append(one)
    head = (
        "part size | parts | copy s | MB/s | peak memory after import, MB | peak memory after"
        " the copy, MB | size and multipart ETag match"
    )
    return copies, section("6. Copy of a recording OpenTok kept", table(head, rows), copy)


def _mb(kib: float) -> str:
    return f"{kib / 1024:.0f}"


class _Stream(io.FileIO):
    """A file that cannot seek, as OpenTok's zips are written: entries with data descriptors."""

    def seek(self, *_: Any) -> int:
        raise OSError("a stream")


def _write_zip(path: Path, archive_id: str, streams: int, mib: int) -> dict[str, str]:
    """An individual archive of `streams` stored entries of `mib` MiB each: each's MD5."""
    block, files, digests = os.urandom(MIB), [], {}
    with _Stream(path, "w") as file, zipfile.ZipFile(file, "w") as bundle:
        for number in range(streams):
            stream_id = str(uuid.uuid4())
            chunk, digest = block[number:] + block[:number], hashlib.md5(usedforsecurity=False)
            with bundle.open(f"{stream_id}.webm", "w", force_zip64=True) as entry:
                for _ in range(mib):  # each stream its own bytes
                    entry.write(chunk)
                    digest.update(chunk)
            digests[stream_id] = digest.hexdigest()
            files.append(
                {"filename": f"{stream_id}.webm", "size": mib * MIB, "streamId": stream_id}
                | {"startTimeOffset": 1000 * number, "stopTimeOffset": 3_600_000}
                | {"connectionData": f"name=person {number + 1}", "videoType": "camera"}
            )
        manifest = {"id": archive_id, "name": "bench", "sessionId": "2_bench", "files": files}
        bundle.writestr(f"{archive_id}.json", json.dumps(manifest))
    return digests


def streams(options: argparse.Namespace) -> tuple[Any, str]:
    """A stand-in individual archive (stored entries of random bytes and a manifest, written as
    a stream, as OpenTok makes them), uploaded into moto and split by ExtractStreamsFunction in a
    process of its own (child.py, one SQS message, a 15-minute context); every stream object is
    checked byte for byte (MD5) against its entry. Peak memory is that process's resident set
    (VmHWM). The second table is the choice the function makes by entry size: a ranged GET and
    a PUT (through the function) against one UploadPartCopy (inside S3), the median of 5 of
    each, against moto, which is not S3: the times say what the requests cost here, the memory
    what passes through."""
    count, mib, function = options.streams, options.stream_mib, "ExtractStreamsFunction"
    with tempfile.TemporaryDirectory(prefix="bench-streams-") as workdir, BenchHarness() as stack:
        from backend import archives  # once the harness has set AWS up

        s3, zipped = boto3.client("s3"), Path(workdir) / "archive.zip"
        archive_id = stack.put_archive(ready=False, outputMode="individual")
        key = stack.recording_key(archive_id, "archive.zip")
        progress(f"streams: a zip of {count} streams of {mib} MiB, split")
        began = time.perf_counter()
        digests = _write_zip(zipped, archive_id, count, mib)
        s3.upload_file(str(zipped), stack.bucket, key)
        written, size = time.perf_counter() - began, zipped.stat().st_size
        archives.mark_zip_uploaded(archive_id, key, size)
        message = load_event("sqs_extract_streams", archive_id=archive_id)
        split = stack.run_child(function, "function", {"event": message}).report
        if not (archives.get(archive_id) or {}).get("ready"):
            raise RuntimeError("the archive is not ready after the split")
        for stream_id, digest in digests.items():
            stream = stack.recording_key(archive_id, f"streams/{stream_id}.webm")
            if _md5(s3.get_object(Bucket=stack.bucket, Key=stream)["Body"]) != digest:
                raise RuntimeError(f"stream {stream_id} differs from its entry in the zip")
        progress("streams: ranged GET and PUT against UploadPartCopy")
        # A source of its own, as large as the largest entry tried: moto reads the whole source
        # object for every ranged request, which the zip would make the only cost.
        source = stack.recording_key(archive_id, "strategy-source")
        s3.put_object(Bucket=stack.bucket, Key=source, Body=os.urandom(max(ENTRIES_MIB) * MIB))
        job = {"bucket": stack.bucket, "source": source, "sizes": ENTRIES_MIB, "rounds": 5}
        chosen = stack.run_child(function, "strategies", job).report
        part_mib = stack.environment(function)["STREAM_PART_SIZE_MIB"]
    init, peak = split["init_peak_kb"], split["peak_kb"]
    row = [count, mib, f"{size / 1e6:.0f}", f"{written:.1f}", f"{split['event']:.1f}", part_mib]
    row += [_mb(init), f"{_mb(peak)} (+{_mb(peak - init)})", len(digests)]
    head = (
        "streams | MiB each | zip MB | written and uploaded s | split s | parts copied inside"
        " S3, MiB | peak memory after import, MB | after the split, MB | streams checked"
    )
    sizes = [[entry, *(f"{ms:.0f}" for ms in both)] for entry, both in chosen["sizes"].items()]
    sizes_head = "entry MiB | ranged GET and PUT ms | UploadPartCopy ms"
    tables = f"{table(head, [row])}\n\n{table(sizes_head, sizes)}"
    fact = f"The second table's process peaked at {_mb(chosen['peak_kb'])} MB (its largest GET"
    fact += f" and PUT held {max(ENTRIES_MIB)} MiB)."
    figures = {"zip_bytes": size, "written_seconds": written, "split": split, "strategies": chosen}
    return figures, section("9. Streams of an individual archive", tables, streams, fact)
