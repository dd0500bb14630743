"""`make dev`: the whole recording flow on this machine, with no AWS or OpenTok account.

One origin serves the API (the template's functions, each in its own worker processes,
behind an API Gateway stand-in), the static site, a stand-in for OpenTok.js and the
emulator's client endpoints. Behind it runs the stack of local/tools/harness.py: moto with the
template's resources, and the OpenTok emulator, which uploads finished recordings to the bucket.

Template parameters come as for `sam deploy --parameter-overrides`, from PARAMETER_OVERRIDES
(`make dev PARAMETER_OVERRIDES="ArchiveControl=open"`, local/tools/parameters.py), and are printed
at start; make dev sets the OpenTok key and secrets and SiteUrl itself, and always allows its
own origin besides any AllowedOrigins given.
"""

import argparse
import base64
import hashlib
import http.client
import json
import mimetypes
import os
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local.aws import cloudfront
from local.aws.template import ROOT, Template
from local.tools import parameters
from local.tools.harness import API_KEY, Harness
from local.tools.running import run_until_stopped

WEB = ROOT / "web"
OPENTOK_JS = ROOT / "local" / "opentok" / "opentok.js"
# What a person trying make dev would otherwise not guess.
LOCAL_WORLD = (
    "Local test stack: the pages of a room call each other and the OpenTok emulator records\n"
    "what they publish; everything (rooms, recordings, the host key) lives in memory, and a\n"
    "restart forgets it."
)
# Headers of the emulator's answers that this server writes itself.
HOP_HEADERS = ("connection", "transfer-encoding", "content-length", "server", "date")


class DevStack:
    """The harness's stack behind one origin; `stop()` ends all of it."""

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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "DevStack":
        # Bound first: a taken port fails before anything starts, and port 0 gets its number,
        # which the site URL, the CORS origin and OpenTok's callback URL all need.
        self.server = _OneOriginServer(("127.0.0.1", self.port), self)
        self.port = self.server.server_address[1]
        api_secret = secrets.token_hex(20)
        # Secure callbacks on, as a project would have them: the emulator signs, the route checks.
        callback_secret = secrets.token_urlsafe(32)
        # This origin is always allowed; AllowedOrigins given adds others (another page's).
        origins = [self.url, *self.overrides.get("AllowedOrigins", "").split(",")]
        own = {
            "OpenTokApiKey": API_KEY,
            "OpenTokApiSecret": api_secret,
            "CallbackSignatureSecret": callback_secret,
            "SiteUrl": self.url,
            "AllowedOrigins": ",".join(dict.fromkeys(o.strip() for o in origins if o.strip())),
        }
        self.parameters = parameters.in_force(self.template, own, self.overrides)
        self.stack = Harness(
            parameters={**self.overrides, **own},
            template=self.template,
            emulator_options={
                "api_secret": api_secret,
                "processing_delay": self.processing_delay,
                "callback_url": f"{self.url}/archive/callback",
                "callback_signature_secret": callback_secret,
            },
        ).start()
        self.opentok = self.stack.emulator
        policy = self.stack.deployment.response_headers_policy("SiteDistribution")
        self.site_headers = over_http(
            cloudfront.site_headers(policy),
            # The API under either name of this server (a page elsewhere calls it across origins,
            # as the site calls API Gateway's), and the recordings' links, which are moto's.
            added_sources={
                "connect-src": [self.url, f"http://localhost:{self.port}"],
                "media-src": [self.stack.moto.url],
            },
        )
        threading.Thread(target=self.server.serve_forever, name="http", daemon=True).start()
        self._deliveries = self.stack.deliver_until(self._stopping, self._delivery_failed)
        # The template's schedules at their rates, as deployed: the reconciler repairs what
        # a lost event left (a recording stuck past StuckAfterMinutes) within its 5 minutes.
        self._deliveries += self.stack.run_schedules(self._stopping, self._delivery_failed)
        return self

    def _delivery_failed(self, function: str, error: Exception) -> None:
        print(f"{function} failed on an event, it will be retried: {error!r}", flush=True)

    def stop(self) -> None:
        self._stopping.set()
        if hasattr(self, "server"):
            if hasattr(self, "stack"):  # shutdown() waits for serve_forever, which may not run
                self.server.shutdown()
            self.server.server_close()
        for thread in getattr(self, "_deliveries", []):
            thread.join(timeout=5)  # each ends within its poll's second, before moto goes
        if hasattr(self, "stack"):
            self.stack.stop()

    def config_js(self) -> bytes:
        settings = {
            "SAMPLE_SERVER_BASE_URL": self.url,
            "OPENTOK_JS_URL": f"{self.url}/local/opentok.js",
            # Pinned, as a deployment may pin OpenTok.js: the browser checks what it is served.
            "OPENTOK_JS_INTEGRITY": integrity(OPENTOK_JS.read_bytes()),
            # The pages then say that this is the local stack and a restart forgets it all.
            "LOCAL_DEV": True,
        }
        lines = [f"window.{name} = {json.dumps(value)};" for name, value in settings.items()]
        return ("// Written by `make dev` for this origin.\n" + "\n".join(lines) + "\n").encode()


def integrity(content: bytes) -> str:
    """A script's Subresource Integrity value, as its integrity attribute takes it."""
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()


def over_http(headers: dict[str, str], added_sources: dict[str, list[str]]) -> dict[str, str]:
    """The site's headers as make dev serves them, over plain HTTP on this machine: without
    Strict-Transport-Security, which a host must not send over plain HTTP (RFC 6797, 7.2), and
    with the sources of the local origins added to the directives of its CSP that name them."""
    served = {name: value for name, value in headers.items() if name != "strict-transport-security"}
    if "content-security-policy" in served:
        directives = []
        for directive in served["content-security-policy"].split(";"):
            name, *sources = directive.split()
            directives.append(" ".join([name, *sources, *added_sources.get(name, [])]))
        served["content-security-policy"] = "; ".join(directives)
    return served


class _OneOriginServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser that went away mid-answer (a closed tab, Ctrl-C) is no error of ours.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def __init__(self, address: tuple[str, int], stack: DevStack) -> None:
        self.stack = stack
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _OneOriginServer
    protocol_version = "HTTP/1.1"

    def __getattr__(self, name: str) -> Any:
        # Every method (GET, POST, ... TRACE, QUERY): API Gateway answers a 404, never a 501.
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
            self._send_site(200, {"content-type": "text/javascript"}, stack.config_js())
        elif path == "/local/opentok.js":
            self._send_file(OPENTOK_JS)
        elif any(route.pattern.fullmatch(path) for route in stack.stack.api.routes):
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
        answer = stack.stack.api.request(
            self.command, parts.path, query=parts.query, headers=dict(self.headers), body=body
        )
        headers = dict(answer.headers)
        if answer.cookies:
            headers["set-cookie"] = ", ".join(answer.cookies)
        self._send(answer.status, headers, answer.body)

    def _send_static(self, path: str) -> None:
        relative = "index.html" if path in ("", "/") else path.lstrip("/")
        target = (WEB / relative).resolve()
        if not target.is_relative_to(WEB.resolve()) or not target.is_file():
            self._send_site(404, {"content-type": "text/plain"}, b"not found")
            return
        self._send_file(target)

    def _send_file(self, target: Path) -> None:
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        headers = {"content-type": content_type, "cache-control": "no-cache"}
        self._send_site(200, headers, target.read_bytes())

    def _send_site(self, status: int, headers: dict[str, str], body: bytes) -> None:
        """An answer of the site, with the headers CloudFront adds to each in AWS."""
        self._send(status, {**headers, **self.server.stack.site_headers}, body)

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
        from deploy.host_link import DEFAULT_ROOM, for_site, invite

        print(parameters.describe(stack.parameters))
        key = stack.stack.host_key
        links = for_site(stack.url, key, DEFAULT_ROOM, invite(stack.url, key, DEFAULT_ROOM))
        control = next(p.value for p in stack.parameters if p.name == "ArchiveControl")
        if control == "open":  # anyone records: nobody is the host
            print(f"Room link (anyone starts and stops recordings): {links['participant']}")
        else:
            print(f"Host link (starts and stops recordings): {links['host']}")
            print(f"Participant link (joins, watches):        {links['participant']}")
        print(LOCAL_WORLD)
        print(f"Open {stack.url}  (Ctrl-C stops everything)", flush=True)

    run_until_stopped(stack, announce)


if __name__ == "__main__":
    main()
