"""One run in a fresh interpreter, as a cold start is: `python local/tools/bench/child.py`, its
job in BENCH_JOB (JSON); it prints `BENCH_RESULT {...}`, its own timings and peak memory. Variants:
function: app.py imported as Lambda does (its folder, then the layer's, first on the path), its
  handler given the event and a context of the function's timeout;
sdk: only what the function cannot avoid: the requests it made for such an event (recorded by
  moto's server and the emulator) made again by boto3 and the OpenTok SDK, no code of ours;
naive: the same after importing boto3, the OpenTok SDK and Powertools' utilities eagerly;
strategies: an entry copied by a ranged GET and a PUT, against one UploadPartCopy.
What this imports, every variant imports alike (local/aws/lambda_context.py, the function's
context: os, time and uuid, which boto3 loads anyway)."""

import json
import os
import sys
import time

STARTED = time.perf_counter()
del sys.path[0]  # this script's folder, where copy.py would stand in for Python's own
JOB = json.loads(os.environ["BENCH_JOB"])
# The JSON APIs' X-Amz-Target prefixes, by boto3's service name.
SERVICES = {"DynamoDB_20120810": "dynamodb", "secretsmanager": "secretsmanager", "AmazonSQS": "sqs"}
S3_OPERATIONS = {"HEAD": "head_object", "GET": "get_object", "DELETE": "delete_object"}
MIB = 1024 * 1024
CLIENTS: dict = {}
SECRETS: dict = {}


def peak_kb() -> int:
    """The process's peak resident set since exec (Linux's VmHWM), in KiB. Not ru_maxrss:
    Linux carries the parent's peak into it across exec."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def run_function(job: dict) -> dict:
    # Lambda puts the function's folder first and the layer's python/ folder after it.
    sys.path[:0] = [job["code_dir"], job["layer_dir"]]
    sys.path.append(job["root"])  # for the context only: after everything a function sees
    import app  # type: ignore[import-not-found]

    from local.aws.lambda_context import LambdaContext

    imported, init_peak_kb = time.perf_counter(), peak_kb()
    context = LambdaContext(job["name"], job["account_id"], job["timeout"])
    answer = app.lambda_handler(job["event"], context)
    # A run that failed fast would look like a fast run: the parent refuses it.
    failed = isinstance(answer, dict) and (
        answer.get("statusCode", 200) >= 400 or bool(answer.get("batchItemFailures"))
    )
    return {"failed": failed, "imported": imported, "init_peak_kb": init_peak_kb}


def run_requests(job: dict) -> dict:
    if job["layer_first"]:
        # A built layer: the OpenTok SDK and Powertools come from it, as they would in Lambda.
        sys.path.insert(0, job["layer_dir"])
    if job["variant"] == "naive":
        import boto3  # noqa: F401
        import opentok  # noqa: F401
        from aws_lambda_powertools import Logger, Metrics, Tracer
        from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
        from aws_lambda_powertools.utilities import parameters  # noqa: F401
        from aws_lambda_powertools.utilities.data_classes import S3Event  # noqa: F401

        Logger(), Tracer(), Metrics(), APIGatewayHttpResolver()
    imported = time.perf_counter()
    for call in job["aws"]:
        replay(call)
    for method, path in job["opentok"]:
        ask_opentok(method, path)
    return {"imported": imported}


def client(service: str) -> object:
    if service not in CLIENTS:
        import boto3

        CLIENTS[service] = boto3.client(service)
    return CLIENTS[service]


def replay(call: dict) -> None:
    """The AWS request again. Refused this time (a conditional write whose record has moved
    on since it was recorded), it cost the same round trip: that is all the floor needs."""
    from botocore import xform_name
    from botocore.exceptions import ClientError

    if call["target"]:
        prefix, operation = call["target"].rsplit(".", 1)
        method, request = getattr(client(SERVICES[prefix]), xform_name(operation)), call["request"]
    else:  # S3, path style: /bucket/key
        bucket, key = call["path"].lstrip("/").split("/", 1)
        operation = S3_OPERATIONS[call["method"]]
        method, request = getattr(client("s3"), operation), {"Bucket": bucket, "Key": key}
    try:
        answer = method(**request)
    except ClientError:
        return
    if operation == "GetSecretValue":
        SECRETS[request["SecretId"]] = answer["SecretString"]


def ask_opentok(method: str, path: str) -> None:
    """The OpenTok request the function made, by the SDK's method for it; OpenTok's refusal
    (the recording has moved on) cost the same round trip."""
    import opentok

    if "opentok" not in CLIENTS:
        secret = json.loads(SECRETS[os.environ["OPENTOK_SECRET_ARN"]])
        url = os.environ["OPENTOK_API_URL"]
        CLIENTS["opentok"] = opentok.Client(secret["apiKey"], secret["apiSecret"], api_url=url)
    sdk, parts = CLIENTS["opentok"], path.strip("/").split("/")
    try:
        if path.endswith("/session/create"):
            sdk.create_session(media_mode=opentok.MediaModes.routed)
        elif method == "POST" and parts[-1] == "archive":
            sdk.start_archive(JOB["session_id"], name="Weekly standup")
        elif parts[-1] == "stop":
            sdk.stop_archive(parts[-2])
        elif parts[-2] == "archive":
            {"GET": sdk.get_archive, "DELETE": sdk.delete_archive}[method](parts[-1])
        elif parts[-1] == "signal":
            sdk.send_signal(parts[-2], {"type": "archive", "data": "{}"})
        else:
            raise RuntimeError(f"no SDK method for OpenTok's {method} {path}")
    except opentok.exceptions.OpenTokException:
        pass


def strategies(job: dict) -> dict:
    """For each entry size, the median ms of a ranged GET and a PUT (the bytes pass through
    this process) and of a multipart upload of one UploadPartCopy (create, copy, complete)."""
    import statistics

    s3, bucket, found = client("s3"), job["bucket"], {}
    for mib in job["sizes"]:
        source = {"Bucket": bucket, "Key": job["source"]}
        ranged = {**source, "Range": f"bytes=0-{mib * MIB - 1}"}
        through, inside = [], []
        for number in range(job["rounds"]):
            key = f"{job['source']}-{mib}-{number}"
            began = time.perf_counter()
            s3.put_object(Bucket=bucket, Key=key, Body=s3.get_object(**ranged)["Body"].read())
            through.append(time.perf_counter() - began)
            began = time.perf_counter()
            upload = {"Bucket": bucket, "Key": f"{key}-copy"}
            upload["UploadId"] = s3.create_multipart_upload(**upload)["UploadId"]
            copied = s3.upload_part_copy(
                **upload, PartNumber=1, CopySource=source, CopySourceRange=ranged["Range"]
            )
            etag = copied["CopyPartResult"]["ETag"]
            parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
            s3.complete_multipart_upload(**upload, MultipartUpload=parts)
            inside.append(time.perf_counter() - began)
        found[mib] = [statistics.median(through) * 1000, statistics.median(inside) * 1000]
    return {"sizes": found}


def main() -> None:
    run = {"function": run_function, "strategies": strategies}.get(JOB["variant"], run_requests)
    result = run(JOB)
    done = time.perf_counter()
    imported = result.pop("imported", STARTED)
    result |= {"init": imported - STARTED, "event": done - imported, "peak_kb": peak_kb()}
    result["opentok_loaded"] = "opentok" in sys.modules
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


main()
# Lambda keeps the process for the next event: tearing the interpreter down is no part of a
# cold start, and would weigh more the more modules were loaded. Every variant leaves so.
os._exit(0)
