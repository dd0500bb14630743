"""The stack under test: local/tools/harness.py's, with a client of its API that acts as a host,
and the fixtures that make one per test (tests/conftest.py gives them to every test)."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
import requests
from moto import mock_aws

from local.aws.gateway import ApiResponse
from local.aws.resources import share_session
from local.opentok import OpenTokEmulator
from local.tools.harness import EVENTS, Harness, load_event  # noqa: F401 - the tests' too
from tests.support.waiting import eventually, free_port  # noqa: F401 - the tests' too

API_KEY = "47000000"
SITE_URL = "https://site.example"
# One project secret for the whole run: the stack's template is rendered once per distinct
# set of parameters (local/aws/template.py), and the secret is one of them.
API_SECRET = secrets.token_hex(20)


class Stack(Harness):
    """The deployed stack, and a client of its API that acts as the host of the rooms it joins.

    Requests to start or stop carry the moderator token of the archive's session, and those
    to list or delete the host key, unless a test gives headers of its own (or none: `{}`).
    """

    def __init__(
        self,
        emulator: OpenTokEmulator | None = None,
        parameters: dict[str, str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            parameters={"SiteUrl": SITE_URL, **(parameters or {})},
            emulator=emulator,
            mock=False,
            **options,
        )
        self.moderator_tokens: dict[str, str] = {}

    def get(self, path: str, query: dict[str, str] | None = None, **headers: str) -> ApiResponse:
        as_host = not headers and (path == "/archive" or path.startswith("/room/"))
        if as_host:
            headers = {"x-host-key": self.host_key}
        answer = self.api.request("GET", path, query=urlencode(query or {}), headers=headers)
        if as_host and path.startswith("/room/") and answer.status == 200:
            joined = answer.json()
            self.moderator_tokens[joined["sessionId"]] = joined["token"]
        return answer

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        fields = form if form is not None else body
        if headers is None:
            headers = self._host_credentials(path, fields)
        if form is not None:
            return self.api.request(
                "POST",
                path,
                headers={"content-type": "application/x-www-form-urlencoded", **headers},
                body=urlencode(form),
            )
        payload = b"" if body is None else json.dumps(body).encode()
        return self.api.request(
            "POST", path, headers={"content-type": "application/json", **headers}, body=payload
        )

    def delete(self, path: str, headers: dict[str, str] | None = None) -> ApiResponse:
        if headers is None:
            headers = {"x-host-key": self.host_key}
        return self.api.request("DELETE", path, headers=headers)

    def event_for(self, name: str, archive: dict[str, Any]) -> dict[str, Any]:
        """An events/ file about this archive, sent by its room's host."""
        return load_event(
            name,
            session_id=archive["sessionId"],
            archive_id=archive["id"],
            token=self.moderator_tokens[archive["sessionId"]],
            host_key=self.host_key,
        )

    def host_headers(self, session_id: str) -> dict[str, str]:
        """A host's credential for the session: a moderator token, as the room route issues."""
        return {"authorization": f"Bearer {self.moderator_token(session_id)}"}

    def _host_credentials(self, path: str, fields: Any) -> dict[str, str]:
        session_id = None
        if path == "/archive/start" and isinstance(fields, dict):
            session_id = fields.get("sessionId")
        elif path.startswith("/archive/") and path.endswith("/stop"):
            archive = self.opentok.state.archives.get(path.split("/")[2].lower())
            session_id = archive.session_id if archive else None
        token = self.moderator_tokens.get(session_id) if isinstance(session_id, str) else None
        return {"authorization": f"Bearer {token}"} if token else {}

    def publish(self, connection_id: str, name: str = "camera") -> str:
        """Publishes a stream from a connection, as OpenTok.js does."""
        answer = requests.post(
            f"{self.opentok.url}/_emulator/connections/{connection_id}/streams",
            json={"name": name, "hasAudio": True, "hasVideo": True},
            timeout=5,
        )
        answer.raise_for_status()
        return answer.json()["streamId"]

    def participant_name(self, room: str = "standup") -> str:
        """What the room's participant link names: the invite the host's join answers with
        (which makes the room, as the host's page does), or the room's name in `open` control."""
        joined = self.get(f"/room/{room}")
        assert joined.status == 200, joined.body
        return joined.json().get("invite", room)

    def join(
        self, room: str = "standup", *, host: bool = True, publish: bool = True
    ) -> dict[str, Any]:
        """Joins a room like a page does: its session, a token, a connection to OpenTok, and
        the camera published (an archive records, rather than pauses, while someone publishes).

        As the host (with the host key) unless `host=False`, as a participant then, by the
        link the host hands out; with the camera not yet published if `publish=False`.
        """
        if host:
            joined = self.get(f"/room/{room}")
        else:
            joined = self.api.request("GET", f"/room/{self.participant_name(room)}")
        assert joined.status == 200, joined.body
        session = joined.json()
        session["connectionId"] = self.opentok.connect(session["sessionId"], session["token"])
        if publish:
            session["streamId"] = self.publish(session["connectionId"])
        return session

    def record(self, room: str = "standup", **options: Any) -> dict[str, Any]:
        session = self.join(room)
        started = self.post("/archive/start", {"sessionId": session["sessionId"], **options})
        assert started.status == 200, started.body
        return started.json()

    def deliver_s3_events(self) -> int:
        """Hands the S3 events the bucket has sent to the ready function, as AWS would."""
        return self.deliver("MarkReadyFunction")

    def recording_whose_s3_event_was_lost(self) -> dict[str, Any]:
        """A stopped recording that OpenTok uploaded, whose S3 notification never came."""
        archive = self.record()
        self.post(f"/archive/{archive['id']}/stop")
        self.opentok.faults.drop_s3_notifications()
        self.wait_until_uploaded(archive["id"])
        assert self.deliver_s3_events() == 0
        return archive

    def failed_recording(self, room: str = "standup") -> dict[str, Any]:
        """A recording whose upload failed, with fallback none: OpenTok says `failed`.

        Its storage target becomes a bucket that does not exist, as a typo in it would make it.
        """
        self.point_storage_at("no-such-bucket")
        archive = self.record(room)
        assert self.post(f"/archive/{archive['id']}/stop").status == 200
        sdk = self.sdk()
        eventually(lambda: sdk.get_archive(archive["id"]).status == "failed")
        return archive

    def deliver_copy_requests(self, invoke: Callable[[dict[str, Any]], Any] | None = None) -> int:
        """Hands the copy requests waiting in their queue to the copy function, as Lambda's
        event source mapping would; returns how many were handled (not failed)."""
        return self.deliver("CopyRecordingFunction", invoke)

    def deliver_stream_requests(self) -> int:
        """Hands the requests to split individual archives' zips into streams to their
        function, as Lambda's event source mapping would; returns how many were handled."""
        return self.deliver("ExtractStreamsFunction")

    def stored(self, archive_id: str) -> dict[str, Any] | None:
        item = boto3.client("dynamodb").get_item(
            TableName=self.table, Key={"pk": {"S": f"archive#{archive_id}"}}, ConsistentRead=True
        )
        return item.get("Item")

    def wait_until_uploaded(self, archive_id: str, prefix: str = API_KEY) -> None:
        """Until OpenTok's upload is done: the object listed, and the emulator past its PUT, so
        that S3's event for it is queued too (an object is listed before moto sends it)."""
        s3 = boto3.client("s3")
        folder = f"{prefix}/{archive_id}/"

        def uploaded() -> bool:
            listed = s3.list_objects_v2(Bucket=self.bucket, Prefix=folder).get("KeyCount", 0)
            return listed > 0 and self.opentok.state.archives[archive_id].status == "uploaded"

        eventually(uploaded)


class CallbackRoute:
    """The callback route on a loopback URL: what API Gateway is to OpenTok's callbacks."""

    def __init__(self, stack: Stack) -> None:
        self.answers: list[tuple[dict, int]] = []
        route = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = stack.api.request(
                    "POST", "/archive/callback", headers=dict(self.headers.items()), body=body
                )
                route.answers.append((json.loads(body), answer.status))
                self.send_response(answer.status)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/archive/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[OpenTokEmulator]:
    """The OpenTok project; parametrize indirectly with `{api_key, api_secret, time_scale}`."""
    credentials = getattr(request, "param", {})
    with OpenTokEmulator(
        api_key=credentials.get("api_key", API_KEY),
        api_secret=credentials.get("api_secret") or API_SECRET,
        processing_delay=0.05,
        time_scale=credentials.get(
            "time_scale", 300
        ),  # OpenTok's 60 s after the last client leaves take 0.2 s
    ) as emulator:
        yield emulator


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        share_session()  # the services' descriptions read once per process, not per test
        yield


@pytest.fixture
def stack_parameters(request: pytest.FixtureRequest) -> dict[str, str]:
    """Template parameters on top of the defaults; parametrize indirectly to change them."""
    return getattr(request, "param", {})


@pytest.fixture
def stack(
    aws: None, emulator: OpenTokEmulator, stack_parameters: dict[str, str]
) -> Iterator[Stack]:
    stack = Stack(emulator, stack_parameters).start()
    emulator.calls.clear()  # tests count the calls our functions make
    yield stack
    stack.stop()
