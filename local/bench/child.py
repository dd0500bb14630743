"""One cold start, run as a script by a fresh interpreter: `python local/bench/child.py`.

The job comes in the BENCH_JOB environment variable (JSON): which variant to run, the
function, its event and the ids the SDK-only programs need. The script prints one line,
`BENCH_RESULT {...}`, with its own timings; the parent times the whole process.

Variants (with a built layer, every one finds its packages there first, as in Lambda):
  function  imports the function's app.py with the layer folder on the path, as Lambda
            does, and hands its handler the event;
  sdk       only what the function cannot avoid: boto3 and the clients it really uses, plus
            the OpenTok SDK when the event makes it call OpenTok, and the same calls;
  naive     the same calls after importing boto3, the OpenTok SDK and the Powertools
            utilities eagerly, as a function written without care for cold starts would.

Deliberately small: everything imported here is imported by every variant alike.
"""

import json
import os
import sys
import time

STARTED = time.perf_counter()
JOB = json.loads(os.environ["BENCH_JOB"])


class Context:
    """The attributes of Lambda's context object that Powertools reads."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = "00000000-0000-4000-8000-000000000000"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


def run_function(job: dict) -> dict:
    # Lambda puts the function's folder first and the layer's python/ folder after it.
    sys.path[:0] = [job["code_dir"], job["layer_dir"]]
    import app  # type: ignore[import-not-found]

    imported = time.perf_counter()
    answer = app.lambda_handler(job["event"], Context(job["name"]))
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    if isinstance(answer, dict) and answer.get("checked"):  # the reconciler's summary
        status = "reconciled"
    return {"status": status, "imported": imported}


def run_sdk(job: dict, naive: bool) -> dict:
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
    program = PROGRAMS[job["name"]]
    imported = time.perf_counter()
    return {"status": program(job), "imported": imported}


# --- The SDK-only programs: the calls each function makes for its event -----------------


def _boto3_clients(*services: str) -> list:
    import boto3
    from botocore.config import Config

    return [
        boto3.client(name, config=Config(signature_version="s3v4"))
        if name == "s3"
        else boto3.client(name)
        for name in services
    ]


def _opentok(secrets_client: object, moderator_token: str | None = None) -> object:
    import opentok

    secret = json.loads(
        secrets_client.get_secret_value(SecretId=os.environ["OPENTOK_SECRET_ARN"])["SecretString"]
    )
    if moderator_token is not None:
        # Only hosts start and stop (ArchiveControl host): their token is checked first.
        import jwt

        claims = jwt.decode(moderator_token, secret["apiSecret"], algorithms=["HS256"])
        assert claims["role"] == "moderator"
    return opentok.Client(
        secret["apiKey"], secret["apiSecret"], api_url=os.environ["OPENTOK_API_URL"], timeout=6
    )


def _check_host_key(secrets_client: object, presented: str) -> None:
    import hmac

    key = secrets_client.get_secret_value(SecretId=os.environ["HOST_KEY_SECRET_ARN"])
    assert hmac.compare_digest(presented.encode(), key["SecretString"].encode())


def _key(pk: str) -> dict:
    return {"pk": {"S": pk}}


# The writes carry the same expressions as backend.archives sends: moto's cost depends on
# them, and the floor must pay for the same requests as the function.
_FIELDS = (
    "id", "status", "name", "sessionId", "createdAt", "duration", "size", "outputMode",
    "resolution", "hasAudio", "hasVideo", "reason",
)  # fmt: skip


def _store(dynamodb: object, archive: object) -> None:
    """The conditional write of what OpenTok said of an archive, as the function makes it."""
    created = int(archive.created_at.timestamp()) * 1000
    values = {
        ":id": {"S": archive.id},
        ":status": {"S": archive.status},
        ":name": {"S": archive.name} if archive.name else {"NULL": True},
        ":sessionId": {"S": archive.session_id},
        ":createdAt": {"N": str(created)},
        ":duration": {"N": str(archive.duration or 0)},
        ":size": {"N": str(archive.size or 0)},
        ":outputMode": {"S": "composed"},
        ":resolution": {"S": archive.resolution or "640x480"},
        ":hasAudio": {"BOOL": True},
        ":hasVideo": {"BOOL": True},
        ":reason": {"NULL": True},
        ":rank": {"N": "1" if archive.status == "started" else "2"},
        ":kind": {"S": "archive"},
        ":sort": {"S": f"{created:015d}#{archive.id}"},
        ":now": {"N": str(int(time.time() * 1000))},
        ":false": {"BOOL": False},
    }
    assignments = [f"#{name} = :{name}" for name in _FIELDS]
    assignments += [
        "statusRank = :rank",
        "kind = :kind",
        "createdSort = :sort",
        "updatedAt = :now",
        "ready = if_not_exists(ready, :false)",
    ]
    if archive.status != "started":
        assignments.append("stoppedAt = if_not_exists(stoppedAt, :now)")
    dynamodb.update_item(
        TableName=os.environ["TABLE_NAME"],
        Key=_key(f"archive#{archive.id}"),
        UpdateExpression="SET " + ", ".join(assignments),
        ConditionExpression="attribute_not_exists(pk) OR statusRank <= :rank",
        ExpressionAttributeNames={f"#{name}": name for name in _FIELDS},
        ExpressionAttributeValues=values,
        ReturnValues="ALL_NEW",
    )


def _room(job: dict) -> str:
    import opentok

    dynamodb, secrets = _boto3_clients("dynamodb", "secretsmanager")
    client = _opentok(secrets)
    pk = f"room#{job['room']}"
    found = dynamodb.get_item(TableName=os.environ["TABLE_NAME"], Key=_key(pk), ConsistentRead=True)
    if "Item" in found:
        session_id = found["Item"]["sessionId"]["S"]
    else:
        session_id = client.create_session(
            media_mode=opentok.MediaModes.routed, archive_mode=opentok.ArchiveModes.manual
        ).session_id
        dynamodb.put_item(
            TableName=os.environ["TABLE_NAME"],
            Item={
                "pk": {"S": pk},
                "room": {"S": job["room"]},
                "sessionId": {"S": session_id},
                "createdAt": {"N": str(int(time.time() * 1000))},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
    token = client.generate_token(
        session_id, role=opentok.Roles.publisher, expire_time=int(time.time()) + 3600
    )
    return "200" if token else "500"


def _start(job: dict) -> str:
    import opentok

    dynamodb, secrets = _boto3_clients("dynamodb", "secretsmanager")
    archive = _opentok(secrets, job["token"]).start_archive(
        job["session_id"], name="Weekly standup", output_mode=opentok.OutputModes.composed
    )
    _store(dynamodb, archive)
    return "200"


def _stop(job: dict) -> str:
    dynamodb, secrets = _boto3_clients("dynamodb", "secretsmanager")
    pk = f"archive#{job['archive_id']}"
    dynamodb.get_item(TableName=os.environ["TABLE_NAME"], Key=_key(pk), ConsistentRead=True)
    archive = _opentok(secrets, job["token"]).stop_archive(job["archive_id"])
    _store(dynamodb, archive)
    return "200"


def _callback(job: dict) -> str:
    dynamodb, secrets = _boto3_clients("dynamodb", "secretsmanager")
    archive = _opentok(secrets).get_archive(job["archive_id"])
    _store(dynamodb, archive)
    return "200"


def _read_ready(job: dict) -> str:
    dynamodb, s3 = _boto3_clients("dynamodb", "s3")
    item = dynamodb.get_item(
        TableName=os.environ["TABLE_NAME"],
        Key=_key(f"archive#{job['archive_id']}"),
        ConsistentRead=True,
    )["Item"]
    url = s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": os.environ["ARCHIVE_BUCKET"], "Key": item["s3Key"]["S"]},
        ExpiresIn=300,
    )
    return "200" if url else "500"


def _list(job: dict) -> str:
    dynamodb, secrets = _boto3_clients("dynamodb", "secretsmanager")
    _check_host_key(secrets, job["host_key"])
    answer = dynamodb.query(
        TableName=os.environ["TABLE_NAME"],
        IndexName="ArchivesByTime",
        KeyConditionExpression="#k = :v",
        ExpressionAttributeNames={"#k": "kind"},
        ExpressionAttributeValues={":v": {"S": "archive"}},
        ScanIndexForward=False,
        Limit=10,
    )
    return "200" if answer["Items"] else "404"


def _mark_ready(job: dict) -> str:
    (dynamodb,) = _boto3_clients("dynamodb")
    now = {"N": str(int(time.time() * 1000))}
    dynamodb.update_item(
        TableName=os.environ["TABLE_NAME"],
        Key=_key(f"archive#{job['archive_id']}"),
        UpdateExpression="SET ready = :true, s3Key = :key, #size = :size, readyAt = :now,"
        " updatedAt = :now, #status = :uploaded, statusRank = :rank,"
        " stoppedAt = if_not_exists(stoppedAt, :now)",
        ConditionExpression="attribute_exists(pk) AND ready <> :true AND statusRank <= :rank",
        ExpressionAttributeNames={"#size": "size", "#status": "status"},
        ExpressionAttributeValues={
            ":true": {"BOOL": True},
            ":key": {"S": job["key"]},
            ":size": {"N": "1234567"},
            ":now": now,
            ":uploaded": {"S": "uploaded"},
            ":rank": {"N": "3"},
        },
        ReturnValues="ALL_NEW",
    )
    return "ok"


def _delete(job: dict) -> str:
    dynamodb, s3, secrets = _boto3_clients("dynamodb", "s3", "secretsmanager")
    _check_host_key(secrets, job["host_key"])
    pk = _key(f"archive#{job['archive_id']}")
    item = dynamodb.get_item(TableName=os.environ["TABLE_NAME"], Key=pk, ConsistentRead=True)
    _opentok(secrets).delete_archive(job["archive_id"])
    s3.delete_object(Bucket=os.environ["ARCHIVE_BUCKET"], Key=item["Item"]["s3Key"]["S"])
    dynamodb.update_item(
        TableName=os.environ["TABLE_NAME"],
        Key=pk,
        UpdateExpression="SET #status = :deleted, statusRank = :rank, ready = :false,"
        " deletedAt = :now, updatedAt = :now REMOVE s3Key",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={
            ":deleted": {"S": "deleted"},
            ":rank": {"N": "5"},
            ":false": {"BOOL": False},
            ":now": {"N": str(int(time.time() * 1000))},
        },
        ReturnValues="ALL_NEW",
    )
    return "200"


def _reconcile(job: dict) -> str:
    dynamodb, s3, secrets = _boto3_clients("dynamodb", "s3", "secretsmanager")
    since = int(time.time() * 1000) - 3 * 24 * 3600 * 1000
    items, start = [], None
    while True:  # every page, as the function reads them
        request = {
            "TableName": os.environ["TABLE_NAME"],
            "IndexName": "ArchivesByTime",
            "KeyConditionExpression": "#key = :value AND createdSort > :after",
            "ExpressionAttributeNames": {"#key": "kind"},
            "ExpressionAttributeValues": {
                ":value": {"S": "archive"},
                ":after": {"S": f"{since:015d}#"},
            },
            "ScanIndexForward": False,
            "Limit": 100,
        }
        if start:
            request["ExclusiveStartKey"] = start
        answer = dynamodb.query(**request)
        items += answer["Items"]
        start = answer.get("LastEvaluatedKey")
        if not start:
            break
    now = int(time.time() * 1000)
    overdue = [
        item
        for item in items
        if not item["ready"]["BOOL"]
        and item["status"]["S"] in ("stopped", "uploaded", "available")
        and int(item.get("stoppedAt", {"N": str(now)})["N"]) <= now - 15 * 60 * 1000
    ]
    # Recordings we still think run are looked for in S3 too (their stop may have gone unheard).
    recording = [
        item
        for item in items
        if not item["ready"]["BOOL"]
        and item["status"]["S"] in ("started", "paused")
        and int(item["createdAt"]["N"]) <= now - 15 * 60 * 1000
    ]
    for item in recording:
        _look_in_bucket(s3, item["id"]["S"])
    for item in overdue:
        _look_in_bucket(s3, item["id"]["S"])
        _store(dynamodb, _opentok(secrets).get_archive(item["id"]["S"]))
    return "ok" if overdue else "none"


def _look_in_bucket(s3: object, archive_id: str) -> None:
    for extension in ("mp4", "zip"):
        key = f"{os.environ['OPENTOK_API_KEY']}/{archive_id}/archive.{extension}"
        try:
            s3.head_object(Bucket=os.environ["ARCHIVE_BUCKET"], Key=key)
        except s3.exceptions.ClientError:
            continue


PROGRAMS = {
    "SessionFunction": _room,
    "RoomFunction": _room,
    "StartArchiveFunction": _start,
    "StopArchiveFunction": _stop,
    "GetArchiveFunction": _read_ready,
    "ListArchivesFunction": _list,
    "ViewArchiveFunction": _read_ready,
    "ArchiveCallbackFunction": _callback,
    "MarkReadyFunction": _mark_ready,
    "DeleteArchiveFunction": _delete,
    "ReconcileArchivesFunction": _reconcile,
}


def main() -> None:
    if JOB["variant"] == "function":
        result = run_function(JOB)
    else:
        result = run_sdk(JOB, naive=JOB["variant"] == "naive")
    done = time.perf_counter()
    report = {
        "status": result["status"],
        "init": result["imported"] - STARTED,
        "event": done - result["imported"],
        "opentok_loaded": "opentok" in sys.modules,
        "modules": len(sys.modules),
    }
    sys.stdout.write("BENCH_RESULT " + json.dumps(report) + "\n")
    sys.stdout.flush()


main()
# Lambda keeps the process for the next event: tearing the interpreter down is no part of a
# cold start, and would weigh more the more modules were loaded. Every variant leaves so.
os._exit(0)
