"""The stacks the benchmark runs against, and the records it seeds into them.

Two kinds: `ServerStack` serves moto over HTTP so that fresh interpreters (cold starts) can
reach it, `InProcessStack` keeps moto in this process (warm latency, growth), like the tests.
Both deploy the resources of template.yaml and start the OpenTok emulator.
"""

import functools
import json
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local.template import ROOT, Template

API_KEY = "47000000"
REGION = "us-east-1"
EVENTS = ROOT / "events"
# The ids written in events/*.json, swapped for the ids of what the benchmark created.
EVENT_SESSION_ID = "1_MX40NzAwMDAwMH5-MTc2NDE1ODQwMDAwMH5leGFtcGxlLXNlc3Npb24tMDAwMX5-"
EVENT_ARCHIVE_ID = "b40ef09b-3811-4726-b508-e41a0f96c68f"
EVENT_ROOM = "standup"
# Long enough that the emulator never uploads by itself: the benchmark lands recordings.
NEVER = 24 * 3600.0

BASE_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    # As in the tests and make dev: there is no X-Ray daemon here.
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def event(name: str, **ids: str) -> dict[str, Any]:
    """An event of events/ with its example ids replaced (session_id, archive_id, room), and
    a host's credentials where the event has their placeholders (token, host_key)."""
    text = (EVENTS / f"{name}.json").read_text()
    if "token" in ids:
        text = text.replace("MODERATOR_TOKEN", ids["token"])
    if "host_key" in ids:
        text = text.replace("HOST_KEY", ids["host_key"])
    if "session_id" in ids:
        text = text.replace(EVENT_SESSION_ID, ids["session_id"])
    if "archive_id" in ids:
        text = text.replace(EVENT_ARCHIVE_ID, ids["archive_id"])
    if "room" in ids:
        text = text.replace(f"/room/{EVENT_ROOM}", f"/room/{ids['room']}")
        text = text.replace(f'"name": "{EVENT_ROOM}"', f'"name": "{ids["room"]}"')
    return json.loads(text)


def s3_event(bucket: str, key: str, size: int = 1234567) -> dict[str, Any]:
    answer = event("s3_recording_uploaded")
    record = answer["Records"][0]["s3"]
    record["bucket"]["name"] = bucket
    record["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    record["object"]["key"] = key
    record["object"]["size"] = size
    return answer


def archive_item(
    archive_id: str,
    session_id: str,
    created_ms: int,
    *,
    status: str = "uploaded",
    ready: bool = True,
) -> dict[str, Any]:
    """An archive as backend.archives stores it, in DynamoDB's attribute-value form."""
    rank = {"started": 1, "stopped": 2, "uploaded": 3}[status]
    values: dict[str, Any] = {
        "pk": {"S": f"archive#{archive_id}"},
        "id": {"S": archive_id},
        "status": {"S": status},
        "statusRank": {"N": str(rank)},
        "name": {"S": "Weekly standup"},
        "sessionId": {"S": session_id},
        "createdAt": {"N": str(created_ms)},
        "createdSort": {"S": f"{created_ms:015d}#{archive_id}"},
        "kind": {"S": "archive"},
        "duration": {"N": "42"},
        "size": {"N": "1234567"},
        "outputMode": {"S": "composed"},
        "resolution": {"S": "640x480"},
        "hasAudio": {"BOOL": True},
        "hasVideo": {"BOOL": True},
        "reason": {"NULL": True},
        "ready": {"BOOL": ready},
        "updatedAt": {"N": str(created_ms)},
    }
    if ready:
        values["s3Key"] = {"S": f"{API_KEY}/{archive_id}/archive.mp4"}
        values["readyAt"] = {"N": str(created_ms + 60_000)}
    if status != "started":
        values["stoppedAt"] = {"N": str(created_ms + 30_000)}
    if not ready:  # in the sparse index of what the reconciler has left to do
        values["unfinished"] = {"S": "archive"}
    return values


def room_item(room: str, session_id: str) -> dict[str, Any]:
    return {
        "pk": {"S": f"room#{room}"},
        "room": {"S": room},
        "sessionId": {"S": session_id},
        "createdAt": {"N": str(int(time.time() * 1000))},
    }


def batch_put(dynamodb: Any, table: str, items: list[dict[str, Any]]) -> None:
    """Writes items 25 at a time, as BatchWriteItem allows, retrying what was left over."""
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        while requests:
            answer = dynamodb.batch_write_item(RequestItems={table: requests})
            requests = answer.get("UnprocessedItems", {}).get(table, [])


class BenchStack:
    """What both kinds share: the deployment, the emulator and ways to make recordings."""

    def __init__(self) -> None:
        self.template = Template()
        self.ready_archive = ""  # an archive whose recording is in the bucket, once seeded
        self.overdue: list[str] = []  # archives the reconciler has to look into
        self.api_secret = secrets.token_hex(20)

    def _deploy(self, stack_name: str) -> None:
        from local import notifications
        from local.emulator import OpenTokEmulator
        from local.resources import deploy

        self.deployment = deploy(
            self.template,
            {"OpenTokApiKey": API_KEY, "OpenTokApiSecret": self.api_secret},
            stack_name=stack_name,
        )
        self.queues = notifications.connect(self.deployment, region=REGION)
        self.opentok = OpenTokEmulator(
            api_key=API_KEY,
            api_secret=self.api_secret,
            processing_delay=NEVER,
            time_scale=60 / NEVER,  # OpenTok's timers, the 60 s ones first, never fire in a run
            s3_endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
        ).start()
        import opentok

        self.sdk = opentok.Client(API_KEY, self.api_secret, api_url=self.opentok.url)

    @property
    def table(self) -> str:
        return self.deployment.physical("ArchiveTable")

    @property
    def bucket(self) -> str:
        return self.deployment.physical("ArchiveBucket")

    def environment(self, function: str) -> dict[str, str]:
        """The function's environment as deployed, pointed at moto and the emulator."""
        return {
            **self.deployment.environment(function),
            "OPENTOK_API_URL": self.opentok.url,
        }

    @functools.cached_property
    def host_key(self) -> str:
        return self.deployment.secret_value("HostKeySecret")

    def moderator_token(self, session_id: str) -> str:
        """What the room route gives the host: start and stop want it (ArchiveControl host)."""
        import opentok

        return self.sdk.generate_token(session_id, role=opentok.Roles.moderator)

    def dynamodb(self) -> Any:
        import boto3

        return boto3.client("dynamodb", region_name=REGION)

    def connected_session(self) -> str:
        """A new routed session with one client in it, so that it can be recorded."""
        import opentok

        session_id = self.sdk.create_session(media_mode=opentok.MediaModes.routed).session_id
        self.opentok.connect(session_id, self.sdk.generate_token(session_id))
        return session_id

    def started_archive(self) -> tuple[str, str]:
        """(session id, archive id) of a recording under way, started outside our functions."""
        session_id = self.connected_session()
        return session_id, self.sdk.start_archive(session_id, name="Weekly standup").id

    def finish_processing(self, archive_id: str) -> None:
        """Ends OpenTok's processing of a stopped recording now (the bench's delay is never)."""
        self.opentok.state._process(archive_id)

    def put_archive(self, **fields: Any) -> str:
        archive_id = fields.pop("archive_id", None) or str(uuid.uuid4())
        session_id = fields.pop("session_id", EVENT_SESSION_ID)
        created = fields.pop("created_ms", int(time.time() * 1000))
        item = archive_item(archive_id, session_id, created, **fields)
        self.dynamodb().put_item(TableName=self.table, Item=item)
        return archive_id

    def stop(self) -> None:
        self.opentok.stop()


class ServerStack(BenchStack):
    """moto's server on a free loopback port, for functions that run in other processes."""

    def __enter__(self) -> "ServerStack":
        import logging

        from moto.server import ThreadedMotoServer

        from local.dev import free_port

        logging.getLogger("werkzeug").disabled = True
        port = free_port()
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.moto.start()
        self.moto_url = f"http://127.0.0.1:{port}"
        self._saved = {
            name: os.environ.get(name) for name in [*BASE_ENVIRONMENT, "AWS_ENDPOINT_URL"]
        }
        os.environ.update(BASE_ENVIRONMENT, AWS_ENDPOINT_URL=self.moto_url)
        self._deploy("bench-cold")
        return self

    def environment(self, function: str) -> dict[str, str]:
        # After the template's variables, which declare AWS_ENDPOINT_URL empty for sam local.
        return {
            **BASE_ENVIRONMENT,
            **super().environment(function),
            "AWS_ENDPOINT_URL": self.moto_url,
        }

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.moto.stop()
        _restore(self._saved)


class InProcessStack(BenchStack):
    """moto's `mock_aws` in this process, and the template's functions loaded in it too."""

    def __enter__(self) -> "InProcessStack":
        from moto import mock_aws

        from local.gateway import Functions

        names = [*BASE_ENVIRONMENT, "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"]
        self._saved = {name: os.environ.get(name) for name in names}
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
            os.environ.pop(name, None)
        os.environ.update(BASE_ENVIRONMENT)
        self._mock = mock_aws()
        self._mock.start()
        self._deploy("bench")
        self._point_storage_at_bucket()
        environment: dict[str, str] = {}
        for function in self.template.functions():
            environment |= self.environment(function)
        self._saved |= {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)
        forget_loaded_functions()
        self.functions = Functions(self.template)
        return self

    def _point_storage_at_bucket(self) -> None:
        import requests

        requests.put(
            f"{self.opentok.url}/v2/project/{API_KEY}/archive/storage",
            json={
                "type": "s3",
                "config": {"accessKey": "bench", "secretKey": "bench", "bucket": self.bucket},
                "fallback": "none",
            },
            headers=self.sdk.get_json_headers(),
            timeout=5,
        ).raise_for_status()

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        from local.gateway import LambdaContext

        return self.functions.handler(function)(event, LambdaContext(function))

    def deliver_s3_events(self) -> int:
        from local import notifications

        return notifications.deliver(
            self.queues["MarkReadyFunction"],
            lambda s3_event: self.invoke("MarkReadyFunction", s3_event),
        )

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._mock.stop()
        forget_loaded_functions()
        _restore(self._saved)


def forget_loaded_functions() -> None:
    """Drops the functions' modules, so that each stack loads them with its own settings."""
    import sys

    for name in list(sys.modules):
        if name.split(".")[0] in ("backend", "functions"):
            del sys.modules[name]


def _restore(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """Sends what the functions print (logs, metrics) nowhere while they are timed."""
    import sys

    class _Null:
        def write(self, text: str) -> int:
            return len(text)

        def flush(self) -> None:
            pass

    saved = sys.stdout
    sys.stdout = _Null()  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout = saved


def layer_dir(template: Template, function: str) -> Path:
    return template.functions()[function].layer_dirs[0]
