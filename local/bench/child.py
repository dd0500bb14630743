"""One cold start, run as a script by a fresh interpreter: `python local/bench/child.py`.

The job comes in the BENCH_JOB environment variable (JSON). The script prints one line,
`BENCH_RESULT {...}`, with its own timings; the parent times the whole process.

Variants (with a built layer, every one finds its packages there first, as in Lambda):
  function  imports the function's app.py with the layer folder on the path, as Lambda
            does, and hands its handler the event;
  sdk       only what the function cannot avoid: the same requests to AWS, by boto3, and to
            OpenTok, by its SDK, as the function made for the same kind of event (recorded
            by moto's server and the emulator), with no code of ours;
  naive     the same requests after importing boto3, the OpenTok SDK and the Powertools
            utilities eagerly, as a function written without care for cold starts would.

Deliberately small: everything imported here is imported by every variant alike, but for the
context the function is handed (local/lambda_context.py: os, time and uuid, which boto3 loads
anyway).
"""

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


def run_function(job: dict) -> dict:
    # Lambda puts the function's folder first and the layer's python/ folder after it.
    sys.path[:0] = [job["code_dir"], job["layer_dir"]]
    sys.path.append(job["root"])  # for the context only: after everything a function sees
    import app  # type: ignore[import-not-found]

    from local.lambda_context import LambdaContext

    imported = time.perf_counter()
    init_peak_kb = _peak_kb()
    context = LambdaContext(job["name"], job["account_id"], job["timeout"])
    answer = app.lambda_handler(job["event"], context)
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    if isinstance(answer, dict) and answer.get("checked"):  # the reconciler's summary
        status = "reconciled"
    if answer == {"batchItemFailures": []}:  # a queue's messages, all handled
        status = "handled"
    return {"status": status, "imported": imported, "init_peak_kb": init_peak_kb}


def _peak_kb() -> int:
    """The process's peak resident set since exec (Linux's VmHWM), in KiB. Not ru_maxrss:
    Linux carries the parent's peak into it across exec."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def run_requests(job: dict, naive: bool) -> dict:
    if job["layer_first"]:
        # A built layer: the OpenTok SDK and Powertools come from it, as they would in Lambda.
        sys.path.insert(0, job["layer_dir"])
    if naive:
        import boto3  # noqa: F401
        import opentok  # noqa: F401
        from aws_lambda_powertools import Logger, Metrics, Tracer
        from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
        from aws_lambda_powertools.utilities import parameters  # noqa: F401
        from aws_lambda_powertools.utilities.data_classes import S3Event  # noqa: F401

        Logger()
        Tracer()
        Metrics()
        APIGatewayHttpResolver()
    imported = time.perf_counter()
    for call in job["aws"]:
        _replay(call)
    for method, path in job["opentok"]:
        _ask_opentok(method, path)
    return {"status": "ok", "imported": imported}


_CLIENTS: dict = {}
_SECRETS: dict = {}


def _client(service: str) -> object:
    if service not in _CLIENTS:
        import boto3

        _CLIENTS[service] = boto3.client(service)
    return _CLIENTS[service]


def _replay(call: dict) -> None:
    """The AWS request again. Refused this time (a conditional write whose record has moved
    on since it was recorded), it cost the same round trip: that is all the floor needs."""
    from botocore import xform_name
    from botocore.exceptions import ClientError

    if call["target"]:
        prefix, operation = call["target"].rsplit(".", 1)
        method = getattr(_client(SERVICES[prefix]), xform_name(operation))
        request = call["request"]
    else:  # S3, path style: /bucket/key
        bucket, key = call["path"].lstrip("/").split("/", 1)
        operation = S3_OPERATIONS[call["method"]]
        method = getattr(_client("s3"), operation)
        request = {"Bucket": bucket, "Key": key}
    try:
        answer = method(**request)
    except ClientError:
        return
    if operation == "GetSecretValue":
        _SECRETS[request["SecretId"]] = answer["SecretString"]


def _ask_opentok(method: str, path: str) -> None:
    """The OpenTok request the function made, by the SDK's method for it; OpenTok's refusal
    (the recording has moved on) cost the same round trip."""
    import opentok

    if "opentok" not in _CLIENTS:
        credentials = json.loads(_SECRETS[os.environ["OPENTOK_SECRET_ARN"]])
        _CLIENTS["opentok"] = opentok.Client(
            credentials["apiKey"], credentials["apiSecret"], api_url=os.environ["OPENTOK_API_URL"]
        )
    client = _CLIENTS["opentok"]
    parts = path.strip("/").split("/")
    try:
        if path.endswith("/session/create"):
            client.create_session(media_mode=opentok.MediaModes.routed)
        elif method == "POST" and parts[-1] == "archive":
            client.start_archive(JOB["session_id"], name="Weekly standup")
        elif parts[-1] == "stop":
            client.stop_archive(parts[-2])
        elif parts[-2] == "archive":
            {"GET": client.get_archive, "DELETE": client.delete_archive}[method](parts[-1])
        elif parts[-1] == "signal":
            client.send_signal(parts[-2], {"type": "archive", "data": "{}"})
        else:
            raise RuntimeError(f"no SDK method for OpenTok's {method} {path}")
    except opentok.exceptions.OpenTokException:
        pass


def main() -> None:
    if JOB["variant"] == "function":
        result = run_function(JOB)
    else:
        result = run_requests(JOB, naive=JOB["variant"] == "naive")
    done = time.perf_counter()
    imported = result.pop("imported")
    report = {
        **result,
        "init": imported - STARTED,
        "event": done - imported,
        "peak_kb": _peak_kb(),
        "opentok_loaded": "opentok" in sys.modules,
        "modules": len(sys.modules),
    }
    sys.stdout.write("BENCH_RESULT " + json.dumps(report) + "\n")
    sys.stdout.flush()


main()
# Lambda keeps the process for the next event: tearing the interpreter down is no part of a
# cold start, and would weigh more the more modules were loaded. Every variant leaves so.
os._exit(0)
