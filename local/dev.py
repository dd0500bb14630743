"""`make dev`: the whole recording flow on this machine, with no AWS or OpenTok account.

One origin serves the API (the template's functions, in this process, behind an API Gateway
stand-in), the static site, a stand-in for OpenTok.js and the emulator's client endpoints.
Behind it run moto's server (S3, DynamoDB, SQS, Secrets Manager) with the template's
resources, and the OpenTok emulator, which uploads finished recordings to the bucket.

Template parameters come as for `sam deploy --parameter-overrides`, from PARAMETER_OVERRIDES
(`make dev PARAMETER_OVERRIDES="ArchiveControl=open"`, local/parameters.py), and are printed
at start; make dev sets the OpenTok key and secrets and SiteUrl itself, and always allows its
own origin besides any AllowedOrigins given.
"""

import argparse
import http.client
import json
import mimetypes
import os
import secrets
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local import parameters
from local.running import run_until_stopped
from local.template import ROOT, Template

WEB = ROOT / "web"
OPENTOK_JS = ROOT / "local" / "opentok.js"
API_KEY = "47000000"
REGION = "us-east-1"
NOTIFICATION_POLL_SECONDS = 1
# Headers of the emulator's answers that this server writes itself.
HOP_HEADERS = ("connection", "transfer-encoding", "content-length", "server", "date")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DevStack:
    """Starts moto, the emulator and the one-origin server; `stop()` ends all of them."""

    def __init__(
        self,
        port: int = 3000,
        processing_delay: float = 2.0,
        overrides: dict[str, str] | None = None,
    ) -> None:
        self.port = port
        self.processing_delay = processing_delay
        self.template = Template()
        # Template parameters, as `sam deploy --parameter-overrides` gives them; refused here,
        # before anything starts, when the template would refuse them.
        self.overrides = dict(overrides or {})
        parameters.check(self.template, self.overrides)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "DevStack":
        # Bound first: a taken port fails before anything starts, and port 0 gets its number,
        # which the site URL, the CORS origin and OpenTok's callback URL all need.
        self.server = _OneOriginServer(("127.0.0.1", self.port), self)
        self.port = self.server.server_address[1]
        self._start_moto()
        self._deploy()
        self._start_emulator()
        self._start_server()
        return self

    def _start_moto(self) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        # moto logs every request it serves; the notification poller alone makes one a second.
        logging.getLogger("werkzeug").disabled = True

        moto_port = free_port()
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        self.moto.start()
        self.moto_url = f"http://127.0.0.1:{moto_port}"
        # Everything in this process that speaks AWS, the functions included, talks to moto.
        os.environ.update(
            AWS_ENDPOINT_URL=self.moto_url,
            AWS_DEFAULT_REGION=REGION,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - moto accepts any credentials
            POWERTOOLS_TRACE_DISABLED="true",
            POWERTOOLS_METRICS_NAMESPACE="OpenTokArchiving",
        )

    def _deploy(self) -> None:
        from local import notifications
        from local.resources import deploy

        self.api_secret = secrets.token_hex(20)
        # Secure callbacks on, as a project would have them: the emulator signs, the route checks.
        self.callback_secret = secrets.token_urlsafe(32)
        # This origin is always allowed; AllowedOrigins given adds others (another page's).
        origins = [self.url, *self.overrides.get("AllowedOrigins", "").split(",")]
        own = {
            "OpenTokApiKey": API_KEY,
            "OpenTokApiSecret": self.api_secret,
            "CallbackSignatureSecret": self.callback_secret,
            "SiteUrl": self.url,
            "AllowedOrigins": ",".join(dict.fromkeys(o.strip() for o in origins if o.strip())),
        }
        self.parameters = parameters.in_force(self.template, own, self.overrides)
        self.deployment = deploy(self.template, {**self.overrides, **own})
        self.queues = notifications.connect(self.deployment, region=REGION)

    def _start_emulator(self) -> None:
        import requests

        from local.emulator import OpenTokEmulator

        self.opentok = OpenTokEmulator(
            api_key=API_KEY,
            api_secret=self.api_secret,
            processing_delay=self.processing_delay,
            s3_endpoint_url=self.moto_url,
            callback_url=f"{self.url}/archive/callback",
            callback_signature_secret=self.callback_secret,
        ).start()
        os.environ.update(
            self.deployment.all_environments(),
            AWS_ENDPOINT_URL=self.moto_url,
            OPENTOK_API_URL=self.opentok.url,
        )
        # What `make configure-opentok` does for a real project: uploads go to our bucket.
        import opentok

        client = opentok.Client(API_KEY, self.api_secret, api_url=self.opentok.url)
        requests.put(
            f"{self.opentok.url}/v2/project/{API_KEY}/archive/storage",
            json=self.deployment.opentok_storage(),
            headers=client.get_json_headers(),
            timeout=5,
        ).raise_for_status()

    def _start_server(self) -> None:
        from local.gateway import Functions, HttpApi

        self.functions = Functions(self.template)
        self.api = HttpApi(self.template, self.functions)
        self._spawn(self.server.serve_forever, "http")
        for function, queue in self.queues.items():
            self._spawn(lambda f=function, q=queue: self._deliver_s3_events(f, q), function)

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _deliver_s3_events(self, function: str, queue_url: str) -> None:
        from local import notifications

        batch_size = notifications.sqs_triggered(self.deployment).get(function, 0)
        while not self._stopping.is_set():
            try:
                notifications.deliver(
                    queue_url,
                    lambda event: self.functions.invoke(function, event),
                    region=REGION,
                    wait_seconds=NOTIFICATION_POLL_SECONDS,
                    faults=self.opentok.faults,
                    batch_size=batch_size,
                )
            except Exception as error:  # noqa: BLE001 - like Lambda: log, the event is retried
                if not self._stopping.is_set():
                    print(f"{function} failed on an S3 event, it will be retried: {error!r}")
                    self._stopping.wait(1)

    def stop(self) -> None:
        self._stopping.set()
        if hasattr(self, "server"):
            if self._threads:  # shutdown() waits for serve_forever, which may never have run
                self.server.shutdown()
            self.server.server_close()
        if hasattr(self, "opentok"):
            self.opentok.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        if hasattr(self, "moto"):
            self.moto.stop()

    def config_js(self) -> bytes:
        settings = {
            "SAMPLE_SERVER_BASE_URL": self.url,
            "OPENTOK_JS_URL": f"{self.url}/local/opentok.js",
        }
        lines = [f"window.{name} = {json.dumps(value)};" for name, value in settings.items()]
        return ("// Written by `make dev` for this origin.\n" + "\n".join(lines) + "\n").encode()


class _OneOriginServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], stack: DevStack) -> None:
        self.stack = stack
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _OneOriginServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def __getattr__(self, name: str) -> Any:
        # Any other method too (TRACE, QUERY, ...): API Gateway answers a 404, never a 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        stack = self.server.stack
        path = urlsplit(self.path).path
        if path.startswith("/_emulator/"):
            self._proxy(stack.opentok.url)
        elif path == "/js/config.js":
            self._send(200, {"content-type": "text/javascript"}, stack.config_js())
        elif path == "/local/opentok.js":
            self._send_file(OPENTOK_JS)
        elif any(route.pattern.fullmatch(path) for route in stack.api.routes):
            self._call_api()
        elif self.command == "GET":
            self._send_static(path)
        else:
            self._send(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')

    def _body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _call_api(self) -> None:
        stack = self.server.stack
        parts = urlsplit(self.path)
        body = self._body()
        origin = self.headers.get("origin")
        cors = _cors_headers(stack.deployment.cors(), origin)
        if self.command == "OPTIONS" and self.headers.get("access-control-request-method"):
            self._send(204, cors, b"")
            return
        answer = stack.api.request(
            self.command, parts.path, query=parts.query, headers=dict(self.headers), body=body
        )
        headers = {**answer.headers, **cors}
        if answer.cookies:
            headers["set-cookie"] = ", ".join(answer.cookies)
        self._send(answer.status, headers, answer.body)

    def _send_static(self, path: str) -> None:
        relative = "index.html" if path in ("", "/") else path.lstrip("/")
        target = (WEB / relative).resolve()
        if not target.is_relative_to(WEB.resolve()) or not target.is_file():
            self._send(404, {"content-type": "text/plain"}, b"not found")
            return
        self._send_file(target)

    def _send_file(self, target: Path) -> None:
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        headers = {"content-type": content_type, "cache-control": "no-cache"}
        self._send(200, headers, target.read_bytes())

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _proxy(self, upstream_url: str) -> None:
        """Passes a request to the emulator and streams its answer back (events included)."""
        upstream = urlsplit(upstream_url)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        headers = {
            name: value
            for name, value in self.headers.items()
            if name.lower() not in ("host", "connection")
        }
        try:
            connection.request(self.command, self.path, body=self._body(), headers=headers)
            answer = connection.getresponse()
            streaming = answer.getheader("content-type", "").startswith("text/event-stream")
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_HEADERS:
                    self.send_header(name, value)
            if streaming:
                self.send_header("connection", "close")
                self.close_connection = True
                self.end_headers()
                while chunk := answer.read1(65536):
                    self.wfile.write(chunk)
                    self.wfile.flush()
            else:
                body = answer.read()
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
        except (OSError, http.client.HTTPException):
            self.close_connection = True
        finally:
            connection.close()


def _cors_headers(cors: dict[str, Any], origin: str | None) -> dict[str, str]:
    """The CORS answer API Gateway gives for the template's CorsConfiguration."""
    if not origin or not cors:
        return {}
    allowed = cors.get("AllowOrigins", [])
    if isinstance(allowed, str):
        allowed = [allowed]
    if "*" not in allowed and origin not in allowed:
        return {}
    return {
        "access-control-allow-origin": "*" if "*" in allowed else origin,
        "access-control-allow-methods": ",".join(cors.get("AllowMethods", [])),
        "access-control-allow-headers": ",".join(cors.get("AllowHeaders", [])),
        "access-control-max-age": str(cors.get("MaxAge", 0)),
        "vary": "origin",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 3000))
    parser.add_argument("--processing-delay", type=float, default=2.0)
    parser.add_argument(
        "--parameter-overrides",
        default=os.environ.get("PARAMETER_OVERRIDES", ""),
        metavar="'Key=Value ...'",
        help="template parameters, as sam deploy takes them (default: $PARAMETER_OVERRIDES, "
        "which `make dev PARAMETER_OVERRIDES=...` sets)",
    )
    options = parser.parse_args()
    try:
        overrides = parameters.parse(options.parameter_overrides)
        stack = DevStack(options.port, options.processing_delay, overrides)
    except parameters.ParameterError as error:
        sys.exit(f"make dev: {error}")  # one line, no traceback, exit code 1

    def announce() -> None:
        from deploy.host_link import for_site

        print(parameters.describe(stack.parameters))
        links = for_site(stack.url, stack.deployment.secret_value("HostKeySecret"))
        print(f"Host link (starts and stops recordings): {links['host']}")
        print(f"Participant link (joins, watches):        {links['participant']}")
        print(f"Open {stack.url}  (Ctrl-C stops everything)", flush=True)

    run_until_stopped(stack, announce)


if __name__ == "__main__":
    main()
