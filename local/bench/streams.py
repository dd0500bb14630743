"""Streams: a large stand-in individual archive split by the real ExtractStreamsFunction, and
what each way of copying an entry costs. `python -m local.bench.streams` prints the figures.

moto serves S3, DynamoDB and SQS over HTTP (its threaded server, in this process), with the
template's resources. The zip is written straight into the bucket as a multipart upload,
streamed (stored entries of random bytes and a manifest, as OpenTok makes them), never whole
in memory or on disk. The function runs in a fresh interpreter that imports app.py as Lambda
does and handles one SQS message with a 15-minute context; it reports its time and its peak
resident memory (VmHWM of /proc/self/status, the whole process), after importing app.py and
after the split. Not ru_maxrss: Linux carries a parent's peak into it across exec, and this
process holds moto's copy of the zip. Every stream object is then checked byte for byte
against its entry (the MD5 of the bytes written, of the object read back).

Then the choice for each entry size: a ranged GET and a PUT through the function, against
a multipart upload of one UploadPartCopy (create, copy, complete), timed against moto. moto
is not S3: the times say what the requests cost here, the memory what passes through.
"""

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from local.template import ROOT, Template

FUNCTION = "ExtractStreamsFunction"
API_KEY = "47000000"
MIB = 1024 * 1024
CONTEXT_SECONDS = 900
UPLOAD_PART_BYTES = 16 * MIB
STRATEGY_SIZES_MIB = (1, 4, 8, 16, 64)
STRATEGY_ROUNDS = 5


# --- The stand-in zip, streamed into the bucket ------------------------------------------


class _MultipartWriter(io.RawIOBase):
    """A write-only, unseekable file whose bytes become parts of a multipart upload."""

    def __init__(self, s3: Any, bucket: str, key: str) -> None:
        self.s3, self.bucket, self.key = s3, bucket, key
        self.upload_id = s3.create_multipart_upload(
            Bucket=bucket, Key=key, ContentType="application/zip"
        )["UploadId"]
        self.buffer = bytearray()
        self.parts: list[dict[str, Any]] = []
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.buffer += data
        self.written += len(data)
        while len(self.buffer) >= UPLOAD_PART_BYTES:
            self._upload(bytes(self.buffer[:UPLOAD_PART_BYTES]))
            del self.buffer[:UPLOAD_PART_BYTES]
        return len(data)

    def tell(self) -> int:
        return self.written

    def _upload(self, body: bytes) -> None:
        number = len(self.parts) + 1
        answer = self.s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def finish(self) -> None:
        if self.buffer or not self.parts:
            self._upload(bytes(self.buffer))
        self.s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )


def _write_zip(
    s3: Any, bucket: str, key: str, archive_id: str, streams: int, mib: int
) -> tuple[int, dict[str, str]]:
    """An individual archive's zip of `streams` stored entries of `mib` MiB each: its size,
    and the MD5 of each stream's bytes."""
    writer = _MultipartWriter(s3, bucket, key)
    block = os.urandom(MIB)
    files = []
    digests = {}
    with zipfile.ZipFile(writer, "w", compression=zipfile.ZIP_STORED) as bundle:
        for number in range(streams):
            stream_id = str(uuid.uuid4())
            digest = hashlib.md5(usedforsecurity=False)
            with bundle.open(f"{stream_id}.webm", "w", force_zip64=True) as entry:
                chunk = block[number:] + block[:number]  # each stream its own bytes
                for _ in range(mib):
                    entry.write(chunk)
                    digest.update(chunk)
            digests[stream_id] = digest.hexdigest()
            files.append(
                {
                    "filename": f"{stream_id}.webm",
                    "size": mib * MIB,
                    "startTimeOffset": 1000 * number,
                    "stopTimeOffset": 3_600_000,
                    "streamId": stream_id,
                    "connectionData": f"name=person {number + 1}",
                    "videoType": "camera",
                }
            )
        manifest = {"id": archive_id, "name": "bench", "sessionId": "2_bench", "files": files}
        bundle.writestr(f"{archive_id}.json", json.dumps(manifest))
    writer.finish()
    return writer.written, digests


def _put_archive(dynamodb: Any, table: str, archive_id: str, key: str, size: int) -> None:
    """The archive's record as the ready function leaves it: uploaded, not ready. Without a
    session: there is no room to tell once it is ready, and no OpenTok to tell it through."""
    now = int(time.time() * 1000)
    item = {
        "pk": {"S": f"archive#{archive_id}"},
        "id": {"S": archive_id},
        "status": {"S": "uploaded"},
        "statusRank": {"N": "3"},
        "outputMode": {"S": "individual"},
        "createdAt": {"N": str(now)},
        "stoppedAt": {"N": str(now)},
        "kind": {"S": "archive"},
        "createdSort": {"S": f"{now:015d}#{archive_id}"},
        "s3Key": {"S": key},
        "size": {"N": str(size)},
        "ready": {"BOOL": False},
    }
    dynamodb.put_item(TableName=table, Item=item)


def _md5(s3: Any, bucket: str, key: str) -> str:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    digest = hashlib.md5(usedforsecurity=False)
    for chunk in body.iter_chunks(8 * MIB):
        digest.update(chunk)
    return digest.hexdigest()


def _verify(s3: Any, bucket: str, prefix: str, expected: dict[str, str]) -> int:
    """Checks every stream object against the MD5 of the entry written; returns how many."""
    for stream_id, digest in expected.items():
        if _md5(s3, bucket, f"{prefix}/streams/{stream_id}.webm") != digest:
            raise RuntimeError(f"stream {stream_id} differs from its entry in the zip")
    return len(expected)


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
    raise RuntimeError("no VmHWM in /proc/self/status: this benchmark needs Linux")


def _child_split(job: dict[str, Any]) -> dict[str, Any]:
    sys.path[:0] = [job["code_dir"], job["layer_dir"]]
    import app  # type: ignore[import-not-found]

    init_peak = _peak_kb()
    event = {
        "Records": [
            {
                "messageId": "bench",
                "receiptHandle": "bench",
                "body": json.dumps({"archiveId": job["archive_id"]}),
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
        ]
    }
    started = time.perf_counter()
    answer = app.lambda_handler(event, _Context())
    return {
        "answer": answer,
        "seconds": time.perf_counter() - started,
        "init_peak_kb": init_peak,
        "peak_kb": _peak_kb(),
    }


def _child_strategies(job: dict[str, Any]) -> dict[str, Any]:
    """For each entry size: a ranged GET and a PUT, against one UploadPartCopy."""
    import boto3

    s3 = boto3.client("s3")
    bucket, source = job["bucket"], job["source"]
    found: dict[str, Any] = {}
    for mib in STRATEGY_SIZES_MIB:
        last = mib * MIB - 1
        through, inside = [], []
        for round_number in range(STRATEGY_ROUNDS):
            key = f"{API_KEY}/bench/strategy-{mib}-{round_number}"
            began = time.perf_counter()
            body = s3.get_object(Bucket=bucket, Key=source, Range=f"bytes=0-{last}")["Body"].read()
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            through.append(time.perf_counter() - began)
            del body
            began = time.perf_counter()
            upload = s3.create_multipart_upload(Bucket=bucket, Key=key + "-copy")["UploadId"]
            part = s3.upload_part_copy(
                Bucket=bucket,
                Key=key + "-copy",
                UploadId=upload,
                PartNumber=1,
                CopySource={"Bucket": bucket, "Key": source},
                CopySourceRange=f"bytes=0-{last}",
            )
            s3.complete_multipart_upload(
                Bucket=bucket,
                Key=key + "-copy",
                UploadId=upload,
                MultipartUpload={
                    "Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]
                },
            )
            inside.append(time.perf_counter() - began)
        found[str(mib)] = {
            "get_put_ms": statistics.median(through) * 1000,
            "part_copy_ms": statistics.median(inside) * 1000,
        }
    return {"sizes": found, "peak_kb": _peak_kb()}


def _run_child(mode: str, job: dict[str, Any], environment: dict[str, str]) -> dict[str, Any]:
    finished = subprocess.run(  # noqa: S603 - this very module, in a fresh interpreter
        [sys.executable, "-m", "local.bench.streams", "--child", mode],
        cwd=ROOT,
        env={**environment, "BENCH_STREAMS_JOB": json.dumps(job)},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in finished.stdout.splitlines() if line.startswith("BENCH_STREAMS ")]
    if finished.returncode or not lines:
        raise RuntimeError(
            f"the {mode} child failed:\n{finished.stdout[-3000:]}\n{finished.stderr[-3000:]}"
        )
    return json.loads(lines[-1].removeprefix("BENCH_STREAMS ")) | {"log": finished.stdout}


# --- The whole run ------------------------------------------------------------------------


def measure(streams: int, stream_mib: int) -> dict[str, Any]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").disabled = True
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - moto takes any credentials
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_NAMESPACE="OpenTokArchiving",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    try:
        import boto3

        from local.resources import deploy

        template = Template()
        deployment = deploy(
            template, {"OpenTokApiKey": API_KEY, "OpenTokApiSecret": "bench-secret"}
        )
        s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
        bucket = deployment.physical("ArchiveBucket")
        archive_id = str(uuid.uuid4())
        prefix = f"{API_KEY}/{archive_id}"
        zip_key = f"{prefix}/archive.zip"
        began = time.perf_counter()
        zip_bytes, digests = _write_zip(s3, bucket, zip_key, archive_id, streams, stream_mib)
        written_seconds = time.perf_counter() - began
        _put_archive(dynamodb, deployment.physical("ArchiveTable"), archive_id, zip_key, zip_bytes)

        function = template.functions()[FUNCTION]
        # The template declares AWS_ENDPOINT_URL empty (for sam local): moto's, here.
        environment = {
            **os.environ,
            **deployment.environment(FUNCTION),
            "AWS_ENDPOINT_URL": endpoint,
            "OPENTOK_API_URL": "http://127.0.0.1:9",  # never the real OpenTok, were it called
        }
        job = {
            "code_dir": str(function.code_dir),
            "layer_dir": str(function.layer_dirs[0]),
            "archive_id": archive_id,
        }
        split = _run_child("split", job, environment)
        if split["answer"] != {"batchItemFailures": []}:
            raise RuntimeError(f"the split function failed: {split['log'][-3000:]}")
        stored = dynamodb.get_item(
            TableName=deployment.physical("ArchiveTable"),
            Key={"pk": {"S": f"archive#{archive_id}"}},
            ConsistentRead=True,
        )["Item"]
        if not stored["ready"]["BOOL"]:
            raise RuntimeError("the archive is not ready after the split")
        checked = _verify(s3, bucket, prefix, digests)
        # A source of its own, as large as the largest entry tried: moto reads the whole
        # source object for every ranged request, which the zip would make the only cost.
        source = f"{API_KEY}/bench/strategy-source"
        s3.put_object(Bucket=bucket, Key=source, Body=os.urandom(max(STRATEGY_SIZES_MIB) * MIB))
        strategies = _run_child("strategies", {"bucket": bucket, "source": source}, environment)
        return {
            "zip_bytes": zip_bytes,
            "streams": streams,
            "stream_bytes": stream_mib * MIB,
            "written_seconds": written_seconds,
            "split": split,
            "checked": checked,
            "part_mib": deployment.environment(FUNCTION)["STREAM_PART_SIZE_MIB"],
            "strategies": strategies,
        }
    finally:
        server.stop()


def report(found: dict[str, Any]) -> str:
    split = found["split"]
    lines = [
        f"Stand-in individual archive: {found['streams']} stored streams of"
        f" {found['stream_bytes'] / MIB:.0f} MiB, zip {found['zip_bytes'] / 1e6:.0f} MB"
        f" (written into moto in {found['written_seconds']:.1f} s)",
        f"Split by {FUNCTION} (parts of {found['part_mib']} MiB copied inside S3):"
        f" {split['seconds']:.1f} s against moto",
        f"  peak resident memory after importing app.py: {split['init_peak_kb'] / 1024:.0f} MB",
        f"  peak resident memory after the split:        {split['peak_kb'] / 1024:.0f} MB"
        f"  (+{(split['peak_kb'] - split['init_peak_kb']) / 1024:.0f} MB for a"
        f" {found['zip_bytes'] / 1e6:.0f} MB zip)",
        f"  streams checked byte for byte against their entries: {found['checked']}",
        "",
        "An entry copied by a ranged GET and a PUT (through the function) or by one"
        " UploadPartCopy (inside S3), median of"
        f" {STRATEGY_ROUNDS}, against moto:",
        "  entry MiB   GET+PUT ms   UploadPartCopy ms",
    ]
    for mib, times in found["strategies"]["sizes"].items():
        lines.append(f"  {mib:>9}   {times['get_put_ms']:>10.0f}   {times['part_copy_ms']:>17.0f}")
    lines.append(
        f"  peak resident memory of that process: {found['strategies']['peak_kb'] / 1024:.0f} MB"
        f" (the largest GET+PUT held {max(STRATEGY_SIZES_MIB)} MiB)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--stream-mib", type=int, default=160)
    parser.add_argument("--child", choices=("split", "strategies"))
    options = parser.parse_args()
    if options.child:
        job = json.loads(os.environ["BENCH_STREAMS_JOB"])
        measured = _child_split(job) if options.child == "split" else _child_strategies(job)
        print("BENCH_STREAMS " + json.dumps(measured), flush=True)
        return
    print(report(measure(options.streams, options.stream_mib)), flush=True)


if __name__ == "__main__":
    main()
