"""The local stack, assembled once for `make dev`, the tests, `make sam-stack` and `make bench`.

- AWS is moto: one server per process on loopback (or the host given), which the functions'
  workers reach over HTTP, while this process reaches the same state through `mock_aws`.
  The server records what the functions ask of AWS (`Moto.calls`), and can refuse a request.
- OpenTok is the emulator, with its archive storage pointed at the archive bucket, as
  `make configure-opentok` does for a real project.
- The resources are those of template.yaml rendered for the parameters given (local/aws/template.py
  and local/aws/resources.py), the buckets' notifications queued for their functions
  (local/aws/notifications.py), and the functions run in workers of their own
  (local/aws/functions.py) behind the HTTP API (local/aws/gateway.py).
"""

import base64
import functools
import io
import json
import logging
import os
import secrets
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import requests

# Before any boto3 session is made (local/aws/resources.py keeps one): moto's hook joins each
# session's clients as the session is made.
from moto import mock_aws  # isort: skip

from local.aws import notifications
from local.aws.functions import RUNTIME_VARIABLES, Functions
from local.aws.gateway import HttpApi
from local.aws.resources import Deployment, deploy, share_session
from local.aws.template import ACCOUNT_ID, ROOT, Schedule, Template
from local.opentok import OpenTokEmulator

# The product's own modules, for what the harness does as the product would (an SDK client).
sys.path.append(str(ROOT / "functions" / "shared"))

REGION = "us-east-1"
API_KEY = "47000000"
# What every process of the stack needs to speak to moto: any credentials do.
AWS_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}
INTERNAL_ERROR = b"<Error><Code>InternalError</Code><Message>refused</Message></Error>"
EVENTS = ROOT / "events"
# What events/*.json (the events of `sam local invoke -e`) write where ids and a host's
# credentials go: load_event swaps in those given.
EVENT_PLACEHOLDERS = {
    "session_id": "1_MX40NzAwMDAwMH5-MTc2NDE1ODQwMDAwMH5leGFtcGxlLXNlc3Npb24tMDAwMX5-",
    "archive_id": "b40ef09b-3811-4726-b508-e41a0f96c68f",
    "bucket": "archives-123456789012-example",
    "token": "MODERATOR_TOKEN",
    "host_key": "HOST_KEY",
}
# Lambda runs an X-Ray daemon; here there is none.
LOCAL_ONLY = {"POWERTOOLS_TRACE_DISABLED": "true"}


@dataclass
class AwsCall:
    """One request a function made of AWS, as moto's server saw it, with its answer."""

    method: str
    path: str
    query: dict[str, list[str]]
    target: str  # X-Amz-Target, for the JSON APIs (DynamoDB, SQS, Secrets Manager)
    request: Any  # the body, decoded when JSON
    status: int
    answer: Any  # the answer's body, decoded when JSON
    seconds: float = 0.0  # moto's time to answer

    @property
    def operation(self) -> str:
        """The API operation: from X-Amz-Target, or for S3 the few the functions make."""
        if self.target:
            return self.target.rsplit(".", 1)[-1]
        if self.method == "PUT" and "partNumber" in self.query:
            return "UploadPart"
        if self.method == "POST" and "uploads" in self.query:
            return "CreateMultipartUpload"
        return f"{self.method} {self.path}"


class Moto:
    """moto's server, started once per process: its state is that of `mock_aws` here."""

    def __init__(self, host: str, port: int) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").disabled = True  # a line per request otherwise
        self.server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.server.start()
        self.port = self.server.get_host_and_port()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # The latest requests only: make dev runs for hours.
        self.calls: deque[AwsCall] = deque(maxlen=10_000)
        self._refusals: list[_Refusal] = []
        self._lock = threading.Lock()
        # DynamoDB changes an item atomically; moto writes a new item's key first and its
        # attributes after, so a read in another thread could see half an item. One DynamoDB
        # request at a time here, as each item is in DynamoDB.
        self._dynamodb = threading.Lock()
        wsgi = self.server._server  # where moto keeps its WSGI server
        assert wsgi is not None
        wsgi.app = self._recording(wsgi.app)

    def refuse(
        self,
        matches: Callable[[AwsCall], bool],
        times: int = 1,
        error: tuple[int, str, bytes] = (500, "application/xml", INTERNAL_ERROR),
    ) -> None:
        """Answers the next `times` requests that match with `error` (status, content type,
        body) instead of moto's answer; S3's InternalError unless told otherwise."""
        with self._lock:
            self._refusals.append(_Refusal(matches, times, error))

    def stop_refusing(self) -> None:
        with self._lock:
            self._refusals.clear()

    def _refusal(self, call: AwsCall) -> tuple[int, str, bytes] | None:
        with self._lock:
            for refusal in self._refusals:
                if refusal.matches(call):
                    refusal.times -= 1
                    if refusal.times <= 0:
                        self._refusals.remove(refusal)
                    return refusal.error
        return None

    def _recording(self, app: Any) -> Any:
        def recorded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            call = AwsCall(
                method=environ["REQUEST_METHOD"],
                path=environ.get("PATH_INFO", ""),
                query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
                target=environ.get("HTTP_X_AMZ_TARGET", ""),
                request=_decoded(body),
                status=0,
                answer=None,
            )
            refused = self._refusal(call)
            if refused:
                call.status, content_type, body = refused
                self.calls.append(call)
                start_response(f"{call.status} Refused", [("Content-Type", content_type)])
                return [body]
            status: list[str] = []

            def start(line: str, headers: list[Any], *rest: Any) -> Any:
                status.append(line)
                return start_response(line, headers, *rest)

            started = time.perf_counter()
            if call.target.startswith("DynamoDB_"):
                with self._dynamodb:
                    answer = b"".join(app(environ, start))
            else:
                answer = b"".join(app(environ, start))
            call.seconds = time.perf_counter() - started
            call.status = int(status[0].split()[0])
            call.answer = _decoded(answer)
            self.calls.append(call)
            return [answer]

        return recorded

    def stop(self) -> None:
        self.server.stop()


@dataclass
class _Refusal:
    matches: Callable[[AwsCall], bool]
    times: int
    error: tuple[int, str, bytes]


def _decoded(body: bytes) -> Any:
    if body[:1] in (b"{", b"["):
        try:
            return json.loads(body)
        except ValueError:
            pass
    return body if len(body) <= 4096 else None  # a recording's bytes are not kept


@functools.cache
def moto(host: str = "127.0.0.1", port: int = 0) -> Moto:
    """The process's moto server at that address (port 0: any), started at the first call.
    Servers of one process share their state, that of `mock_aws`."""
    return Moto(host, port)


class Harness:
    """One deployment of template.yaml on this machine, and the means to drive it.

    `parameters` are the template's (the OpenTok key and secret come from the emulator);
    `emulator` an OpenTok emulator of the caller's (one is made with `emulator_options`
    otherwise); `mock` starts `mock_aws` for the stack's life (the tests start their own).
    """

    def __init__(
        self,
        *,
        parameters: dict[str, str] | None = None,
        template: Template | None = None,
        emulator: OpenTokEmulator | None = None,
        emulator_options: dict[str, Any] | None = None,
        mock: bool = True,
        moto_host: str = "127.0.0.1",
        moto_port: int = 0,
        stack_name: str = "local",
    ) -> None:
        self.template = template or Template()
        self.parameters = dict(parameters or {})
        self.emulator = emulator
        self._own_emulator = emulator is None
        self._emulator_options = emulator_options or {}
        self._mock = mock
        self._moto_address = (moto_host, moto_port)
        self.stack_name = stack_name
        self.function_variables: dict[str, str] = {}

    def start(self) -> "Harness":
        self.moto = moto(*self._moto_address)
        self.moto.calls.clear()
        self.moto.stop_refusing()  # the server outlives stacks: nothing of an earlier one's
        self._saved = {
            name: os.environ.get(name) for name in [*AWS_ENVIRONMENT, "AWS_ENDPOINT_URL"]
        }
        os.environ.update(AWS_ENVIRONMENT)
        os.environ.pop("AWS_ENDPOINT_URL", None)  # this process speaks to moto through mock_aws
        if self._mock:
            self._mocked = mock_aws()
            self._mocked.start()
            share_session()
        if self.emulator is None:
            options = {"api_key": API_KEY, "api_secret": secrets.token_hex(20)}
            self.emulator = OpenTokEmulator(**{**options, **self._emulator_options})
            self.emulator.start()
        self.deployment: Deployment = deploy(
            self.template,
            {
                "OpenTokApiKey": self.emulator.api_key,
                # A PEM key goes into the secret's JSON with its line breaks escaped, as
                # users pass it.
                "OpenTokApiSecret": self.emulator.api_secret.replace("\n", "\\n"),
                **self.parameters,
            },
            stack_name=self.stack_name,
            region=REGION,
        )
        self.queues = notifications.connect(self.deployment, region=REGION)
        if "ArchiveBucket" in self.deployment.names:
            self.point_storage_at(self.bucket)
        self.functions = Functions(self.template.functions(), self.environment)
        self.api = HttpApi(self.template, self.functions, self.deployment.cors())
        return self

    def __enter__(self) -> "Harness":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if hasattr(self, "functions"):
            self.functions.restart()
        if hasattr(self, "moto"):
            self.moto.stop_refusing()
        if self._own_emulator and self.emulator is not None:
            self.emulator.stop()
        if hasattr(self, "_mocked"):
            self._mocked.stop()
        for name, value in getattr(self, "_saved", {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    @property
    def bucket(self) -> str:
        return self.deployment.physical("ArchiveBucket")

    @property
    def table(self) -> str:
        return self.deployment.physical("ArchiveTable")

    @property
    def host_key(self) -> str:
        # Read each time: it may have been rotated.
        return self.deployment.secret_value("HostKeySecret")

    def environment(self, function: str) -> dict[str, str]:
        """The function's variables as deployed, and Lambda's own, pointed at moto and the
        emulator: nothing of another function's."""
        assert self.emulator is not None
        return {
            **{name: os.environ[name] for name in RUNTIME_VARIABLES if name in os.environ},
            **AWS_ENVIRONMENT,
            "AWS_LAMBDA_FUNCTION_NAME": f"{self.stack_name}-{function}",
            **LOCAL_ONLY,
            **self.deployment.environment(function),
            "AWS_ENDPOINT_URL": self.moto.url,
            "OPENTOK_API_URL": self.emulator.url,
            **self.function_variables,
        }

    def configure_functions(self, **variables: str) -> None:
        """Sets variables of every function, as `aws lambda update-function-configuration`
        would: the next events start new environments with them."""
        self.function_variables.update(variables)
        self.functions.restart()

    def restart_functions(self) -> None:
        """New environments for every function from the next event on (a new deployment)."""
        self.functions.restart()

    def aws_calls(self, service: str = "", since: int = 0) -> list[AwsCall]:
        """The functions' requests to AWS since the stack started (or from the `since`-th on):
        of one API (`dynamodb`, `s3`) or all."""
        calls = list(self.moto.calls)[since:]
        if service == "dynamodb":
            return [call for call in calls if call.target.startswith("DynamoDB_")]
        if service == "s3":
            return [call for call in calls if not call.target]
        return calls

    @property
    def opentok(self) -> OpenTokEmulator:
        assert self.emulator is not None
        return self.emulator

    def sdk(self) -> Any:
        """The real OpenTok SDK, pointed at the emulator: what OpenTok itself holds."""
        from backend.opentok_client import build_client

        return build_client(self.opentok.api_key, self.opentok.api_secret, self.opentok.url)

    def moderator_token(self, session_id: str) -> str:
        """What the room route gives a host: start and stop want it (ArchiveControl host)."""
        import opentok

        return self.sdk().generate_token(session_id, role=opentok.Roles.moderator)

    def invoke(self, function: str, event: Any, **options: Any) -> Any:
        return self.functions.invoke(function, event, **options)

    def point_storage_at(self, bucket: str, fallback: str = "none") -> None:
        """OpenTok's archive storage set to `bucket`, as `make configure-opentok` sets it (here
        with moto's any-credentials; fallback none by default, so that a failed upload shows)."""
        requests.put(
            f"{self.opentok.url}/v2/project/{self.opentok.api_key}/archive/storage",
            json={
                "type": "s3",
                "config": {"accessKey": "local", "secretKey": "local", "bucket": bucket},
                "fallback": fallback,
            },
            headers=self.sdk().get_json_headers(),
            timeout=5,
        ).raise_for_status()

    def deliver(
        self,
        function: str,
        invoke: Callable[[dict[str, Any]], Any] | None = None,
        wait_seconds: int = 0,
    ) -> int:
        """Hands `function` what its queue holds: the S3 events of its bucket, or the messages
        of the template's queue it reads, as AWS would; returns how many it handled."""
        assert self.emulator is not None
        return notifications.deliver(
            self.queues[function],
            invoke or (lambda event: self.invoke(function, event)),
            region=REGION,
            wait_seconds=wait_seconds,
            faults=self.emulator.faults,
            batch_size=notifications.sqs_triggered(self.deployment).get(function, 0),
        )

    def deliver_until(
        self, stopped: threading.Event, on_error: Callable[[str, Exception], None]
    ) -> list[threading.Thread]:
        """Delivers to every queue-fed function, a thread each, until `stopped` is set; the
        threads, to join before the stack stops (they use its AWS)."""

        def loop(function: str) -> None:
            while not stopped.is_set():
                try:
                    self.deliver(function, wait_seconds=1)
                except Exception as error:  # noqa: BLE001 - like Lambda: logged, retried
                    if not stopped.is_set():
                        on_error(function, error)
                        stopped.wait(1)

        threads = [
            threading.Thread(target=loop, args=(function,), name=function, daemon=True)
            for function in self.queues
        ]
        for thread in threads:
            thread.start()
        return threads

    def run_schedules(
        self,
        stopped: threading.Event,
        on_error: Callable[[str, Exception], None],
        every: Callable[[Schedule], float] | None = None,
    ) -> list[threading.Thread]:
        """Invokes each function the template schedules, a thread each, at the schedule's rate
        (or `every` seconds of its own), first one rate after the start, as EventBridge does,
        with the event EventBridge sends; until `stopped` is set."""

        def loop(schedule: Schedule) -> None:
            seconds = every(schedule) if every else schedule.seconds
            while not stopped.wait(seconds):
                event = {
                    "version": "0",
                    "id": str(uuid.uuid4()),
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "account": ACCOUNT_ID,
                    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "region": REGION,
                    "resources": [schedule.rule],
                    "detail": {},
                }
                try:
                    self.invoke(schedule.function, event)
                except Exception as error:  # noqa: BLE001 - like Lambda: logged, run again
                    if not stopped.is_set():
                        on_error(schedule.function, error)

        threads = [
            threading.Thread(target=loop, args=(schedule,), name=schedule.function, daemon=True)
            for schedule in self.deployment.schedules()
        ]
        for thread in threads:
            thread.start()
        return threads


def load_event(name: str, **replace: str) -> dict[str, Any]:
    """An event of events/ with its example ids (session_id, archive_id, bucket, room) and a
    host's credentials (token, host_key) replaced by those given, in a base64 body too."""
    event = json.loads(_replaced((EVENTS / f"{name}.json").read_text(), replace))
    if event.get("isBase64Encoded"):
        body = base64.b64decode(event["body"]).decode()
        event["body"] = base64.b64encode(_replaced(body, replace).encode()).decode()
    return event


def _replaced(text: str, replace: dict[str, str]) -> str:
    for given, value in replace.items():
        if given == "room":  # the example's room, standup, by path and by name
            text = text.replace("/room/standup", f"/room/{value}")
            text = text.replace('"name": "standup"', f'"name": "{value}"')
        else:
            text = text.replace(EVENT_PLACEHOLDERS[given], value)
    return text
