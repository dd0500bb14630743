"""HTTP front of the emulator: OpenTok's REST routes plus the /_emulator client routes."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from . import auth, media
from .errors import ApiError
from .faults import Fault, Faults
from .models import END_OF_EVENTS
from .state import EmulatorState

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
EMULATOR_PREFIX = "/_emulator/"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, POST, DELETE, OPTIONS",
    "Access-Control-Expose-Headers": "Content-Length, Content-Range, Accept-Ranges",
    "Access-Control-Max-Age": "600",
}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    action: str
    project_auth: bool


def _route(method: str, template: str, action: str, project_auth: bool = True) -> Route:
    # "{name}" matches one path segment and is handed to the action by that name.
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, re.compile(f"^{regex}/?$"), action, project_auth)


ARCHIVES = "/v2/project/{api_key}/archive"
SESSION = "/v2/project/{api_key}/session/{session_id}"
# First match wins, so the fixed ".../archive/storage" comes before ".../archive/{archive_id}".
ROUTES = [
    _route("POST", "/session/create", "create_session"),
    _route("PUT", ARCHIVES + "/storage", "put_storage"),
    _route("GET", ARCHIVES + "/storage", "get_storage"),
    _route("DELETE", ARCHIVES + "/storage", "delete_storage"),
    _route("POST", ARCHIVES, "start_archive"),
    _route("GET", ARCHIVES, "list_archives"),
    _route("GET", ARCHIVES + "/{archive_id}", "get_archive"),
    _route("DELETE", ARCHIVES + "/{archive_id}", "delete_archive"),
    _route("POST", ARCHIVES + "/{archive_id}/stop", "stop_archive"),
    _route("POST", SESSION + "/signal", "signal_session"),
    _route("POST", SESSION + "/connection/{connection_id}/signal", "signal_connection"),
    _route("PUT", ARCHIVES + "/{archive_id}/layout", "set_archive_layout"),
    _route("PATCH", ARCHIVES + "/{archive_id}/streams", "select_archive_stream"),
    _route("GET", "/_emulator/health", "health", False),
    _route("GET", "/_emulator/faults", "list_faults", False),
    _route("POST", "/_emulator/faults", "add_fault", False),
    _route("DELETE", "/_emulator/faults", "clear_faults", False),
    _route("POST", "/_emulator/sessions/{session_id}/connections", "connect", False),
    _route("GET", "/_emulator/connections/{connection_id}/events", "events", False),
    _route("POST", "/_emulator/connections/{connection_id}/streams", "publish", False),
    _route("POST", "/_emulator/connections/{connection_id}/signal", "client_signal", False),
    _route("POST", "/_emulator/connections/{connection_id}/rtc", "relay_rtc", False),
    _route(
        "POST",
        "/_emulator/connections/{connection_id}/streams/{stream_id}/media",
        "receive_media",
        False,
    ),
    _route(
        "DELETE", "/_emulator/connections/{connection_id}/streams/{stream_id}", "unpublish", False
    ),
    _route("DELETE", "/_emulator/connections/{connection_id}", "disconnect", False),
    _route("GET", "/_emulator/archives/{archive_id}", "inspect_archive", False),
    _route("GET", "/_emulator/archives/{archive_id}/{filename}", "download", False),
    _route("HEAD", "/_emulator/archives/{archive_id}/{filename}", "download", False),
]


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threading server that can cut its open connections when the emulator stops."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        state: EmulatorState,
        on_call: Callable[[str, str, dict[str, str]], None],
        keepalive_interval: float,
        faults: Faults,
    ) -> None:
        self.state = state
        self.faults = faults
        self.on_call = on_call
        self.keepalive_interval = keepalive_interval
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: socket.socket, client_address: tuple[str, int]) -> None:
        # socketserver would print a traceback to stderr; a dropped client is routine here.
        log.debug("error serving %s", client_address, exc_info=True)

    def close_open_connections(self) -> None:
        """Unblock handler threads still reading or streaming, so stop() is prompt."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's requests expects
    server_version = "OpenTokEmulator/1.0"
    timeout = 60  # a client that stalls mid-request must not hold a thread forever
    server: EmulatorHTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    # Plumbing

    @property
    def state(self) -> EmulatorState:
        return self.server.state

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        self.route_path = url.path
        self.query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if not self._is_emulator_route():
            self.server.on_call(self.command, url.path, dict(self.headers.items()))
        try:
            self.body = self._read_body()
            if not self._is_emulator_route() and self._injected_failure(url.path):
                return
            self.answer = (
                None
                if self._is_emulator_route()
                else self.server.faults.take("answer", self.command, url.path)
            )
            if self.command == "OPTIONS" and self._is_emulator_route():
                self._send(HTTPStatus.NO_CONTENT, headers=self._preflight_headers())
                return
            route, params = self._match(url.path)
            if route.project_auth:
                self._check_project_auth(params.pop("api_key", None))
            getattr(self, "_" + route.action)(**params)
        except ApiError as error:
            self._send_json(error.status, error.body(), error.headers)
        except ConnectionError:
            # The client went away mid-response; there is nobody left to answer.
            self.close_connection = True
        except Exception:
            # Never leak a traceback to the client; the log keeps it for the developer.
            log.exception("unexpected error handling %s %s", self.command, self.path)
            self._send_json(500, ApiError(500, "Internal emulator error.").body())

    def _injected_failure(self, path: str) -> bool:
        """Applies a waiting fault: True when it answered the request itself."""
        failure = self.server.faults.take("fail", self.command, path)
        if failure is not None:
            injected = ApiError(failure.status, f"Injected fault: {failure.status}.")
            self._send_json(failure.status, injected.body())
            return True
        delay = self.server.faults.take("delay", self.command, path)
        if delay is not None:
            time.sleep(delay.seconds)  # then the call is done, late, whoever is still listening
        return False

    def _is_emulator_route(self) -> bool:
        return self.route_path.startswith(EMULATOR_PREFIX)

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit():
            self.close_connection = True
            raise ApiError(400, "Bad request. Invalid Content-Length.")
        if int(length) > MAX_BODY:
            # The unread body would be taken for the next request, so drop the connection.
            self.close_connection = True
            raise ApiError(413, "Request body too large.")
        return self.rfile.read(int(length)) if int(length) else b""

    def _match(self, path: str) -> tuple[Route, dict[str, str]]:
        allowed = []
        for route in ROUTES:
            found = route.pattern.match(path)
            if not found:
                continue
            if route.method == self.command:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
            allowed.append(route.method)
        if allowed:
            raise _MethodNotAllowed(allowed)
        raise ApiError(404, f"Not found. No route for {path}.")

    def _check_project_auth(self, api_key: str | None) -> None:
        try:
            if auth.is_vonage_key(self.state.api_secret):
                auth.verify_vonage_jwt(
                    self.headers.get("Authorization"), self.state.api_key, self.state.api_secret
                )
            else:
                auth.verify_project_jwt(
                    self.headers.get("X-OPENTOK-AUTH"), self.state.api_key, self.state.api_secret
                )
        except auth.AuthFailed as error:
            raise ApiError(403, str(error)) from error
        if api_key is not None and api_key != self.state.api_key:
            raise ApiError(403, "Authentication failed. The API key in the path is not yours.")

    def _json_body(self) -> object:
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, ValueError) as error:
            raise ApiError(400, "Bad request. The body is not valid JSON.") from error

    def _base_url(self) -> str:
        # Links go back through whatever host name the caller used to reach the emulator.
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.state.base_url

    def _preflight_headers(self) -> dict[str, str]:
        requested = self.headers.get("Access-Control-Request-Headers", "Content-Type, Range")
        return {"Access-Control-Allow-Headers": requested}

    def _send_json(self, status: int, payload: object, headers: dict | None = None) -> None:
        body = json.dumps(payload).encode()
        self._send(status, body, "application/json", headers)

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: dict | None = None,
    ) -> None:
        answer = getattr(self, "answer", None)
        if answer is not None and 200 <= status <= 299:
            # The call was done; its success is answered as the fault says.
            self.answer = None
            status, body = answer.status, answer.body.encode()
            content_type = "application/json" if body else None
            headers = {}
        self.send_response(status)
        all_headers = dict(headers or {})
        if content_type:
            all_headers["Content-Type"] = content_type
        if status != HTTPStatus.NO_CONTENT:
            all_headers.setdefault("Content-Length", str(len(body)))
        if getattr(self, "route_path", "").startswith(EMULATOR_PREFIX):
            all_headers.update(CORS_HEADERS)
        for name, value in all_headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors found by http.server itself (bad request line, unknown method) as JSON too."""
        if code == HTTPStatus.NOT_IMPLEMENTED:
            code = HTTPStatus.METHOD_NOT_ALLOWED
            message = "Method not allowed."
        self.close_connection = True
        text = message or HTTPStatus(code).phrase
        with contextlib.suppress(OSError):
            self._send_json(code, ApiError(int(code), text).body())

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s - " + format, self.address_string(), *args)

    # REST API

    def _create_session(self) -> None:
        try:
            text = self.body.decode()
        except UnicodeDecodeError as error:
            raise ApiError(400, "Bad request. The body is not valid UTF-8.") from error
        form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
        session = self.state.create_session(form)
        # JSON only for those who ask; everyone else gets the older XML (contract §2, RUBY).
        if "application/json" in (self.headers.get("Accept") or ""):
            self._send_json(200, [session])
        else:
            self._send(200, _session_xml(session), "text/xml")

    def _start_archive(self) -> None:
        self._send_json(200, self.state.start_archive(self._json_body()))

    def _list_archives(self) -> None:
        self._send_json(200, self.state.list_archives(self.query, self._base_url()))

    def _get_archive(self, archive_id: str) -> None:
        self._send_json(200, self.state.get_archive(archive_id, self._base_url()))

    def _delete_archive(self, archive_id: str) -> None:
        self.state.delete_archive(archive_id)
        self._send(HTTPStatus.NO_CONTENT)

    def _stop_archive(self, archive_id: str) -> None:
        self._send_json(200, self.state.stop_archive(archive_id))

    def _signal_session(self, session_id: str) -> None:
        self.state.signal(session_id, None, self._json_body())
        # 204 with no body (contract §10 [conflict]: RUBY, PY, NODE; SPEC says 200).
        self._send(HTTPStatus.NO_CONTENT)

    def _signal_connection(self, session_id: str, connection_id: str) -> None:
        self.state.signal(session_id, connection_id, self._json_body())
        self._send(HTTPStatus.NO_CONTENT)

    def _set_archive_layout(self, archive_id: str) -> None:
        self._send_json(200, self.state.set_layout(archive_id, self._json_body()))

    def _select_archive_stream(self, archive_id: str) -> None:
        # 204 No Content (RUBY `adds_a_stream_to_an_archive.yml`, recorded 2021; SPEC; VPY).
        self.state.select_stream(archive_id, self._json_body())
        self._send(HTTPStatus.NO_CONTENT)

    def _put_storage(self) -> None:
        self._send_json(200, self.state.set_storage(self._json_body()))

    def _get_storage(self) -> None:
        self._send_json(200, self.state.get_storage())

    def _delete_storage(self) -> None:
        self.state.delete_storage()
        self._send(HTTPStatus.NO_CONTENT)

    # Client routes

    def _list_faults(self) -> None:
        self._send_json(200, {"faults": self.server.faults.waiting()})

    def _add_fault(self) -> None:
        body = self._json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "Bad request. A fault is a JSON object.")
        try:
            fault = self.server.faults.add(Fault(**body))
        except (TypeError, ValueError, re.error) as error:
            raise ApiError(400, f"Bad request. {error}") from error
        self._send_json(201, fault.__dict__)

    def _clear_faults(self) -> None:
        self.server.faults.clear()
        self._send(HTTPStatus.NO_CONTENT)

    def _inspect_archive(self, archive_id: str) -> None:
        self._send_json(200, self.state.inspect_archive(archive_id))

    def _health(self) -> None:
        self._send_json(200, {"status": "ok"})

    def _connect(self, session_id: str) -> None:
        body = self._json_body()
        token = body.get("token") if isinstance(body, dict) else None
        self._send_json(201, self.state.connect(session_id, token))

    def _client_signal(self, connection_id: str) -> None:
        self.state.client_signal(connection_id, self._json_body())
        self._send(HTTPStatus.NO_CONTENT)

    def _receive_media(self, connection_id: str, stream_id: str) -> None:
        self.state.receive_media(connection_id, stream_id, self.query, self.body)
        self._send(HTTPStatus.NO_CONTENT)

    def _relay_rtc(self, connection_id: str) -> None:
        self.state.relay_rtc(connection_id, self._json_body())
        self._send(HTTPStatus.NO_CONTENT)

    def _publish(self, connection_id: str) -> None:
        self._send_json(201, self.state.publish(connection_id, self._json_body()))

    def _unpublish(self, connection_id: str, stream_id: str) -> None:
        self.state.unpublish(connection_id, stream_id)
        self._send(HTTPStatus.NO_CONTENT)

    def _disconnect(self, connection_id: str) -> None:
        self.state.disconnect(connection_id)
        self._send(HTTPStatus.NO_CONTENT)

    def _download(self, archive_id: str, filename: str) -> None:
        expires, signature = self.query.get("expires"), self.query.get("signature")
        if not auth.download_link_valid(archive_id, expires, signature, self.state.api_secret):
            raise ApiError(403, "Forbidden. The link is invalid or has expired.")
        body, content_type, name = self.state.archive_file(archive_id)
        if filename != name:
            raise ApiError(404, "Not found. No such file in this archive.")
        size = len(body) if isinstance(body, bytes) else body.stat().st_size
        headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=600"}
        try:
            wanted = media.parse_range(self.headers.get("Range"), size)
        except ValueError:
            headers["Content-Range"] = f"bytes */{size}"
            self._send_json(416, ApiError(416, "Range not satisfiable.").body(), headers)
            return
        status, (start, end) = (200, (0, size - 1)) if wanted is None else (206, wanted)
        if wanted is not None:
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        if isinstance(body, bytes):
            self._send(status, body[start : end + 1], content_type, headers)
        else:
            self._send_file(status, body, start, end, content_type, headers)

    def _send_file(
        self, status: int, path: Path, start: int, end: int, content_type: str, headers: dict
    ) -> None:
        """Streams bytes start..end of a file, a megabyte at a time: memory holds no more."""
        headers["Content-Length"] = str(end - start + 1)
        self._send(status, b"", content_type, headers)
        if self.command == "HEAD":
            return
        with path.open("rb") as file:
            file.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = file.read(min(left, 1024 * 1024))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)

    def _events(self, connection_id: str) -> None:
        events, snapshot = self.state.open_events(connection_id)
        self.close_connection = True  # the stream has no length; it ends when we close
        self.send_response(200)
        headers = {
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            "Connection": "close",
            **CORS_HEADERS,
        }
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self._write_events(snapshot, events)
        except OSError:
            self.state.events_lost(connection_id, events)

    def _write_events(self, snapshot: list[tuple[str, dict]], events: queue.Queue) -> None:
        self._write_chunk(": connected\n\n")
        for event_type, data in snapshot:
            self._write_event(event_type, data)
        while True:
            try:
                item = events.get(timeout=self.server.keepalive_interval)
            except queue.Empty:
                # A comment line nobody sees, but writing it is how a vanished client shows up.
                self._write_chunk(": keep-alive\n\n")
                continue
            if item is END_OF_EVENTS:
                return
            self._write_event(*item)

    def _write_event(self, event_type: str, data: dict) -> None:
        self._write_chunk(f"event: {event_type}\ndata: {json.dumps(data)}\n\n")

    def _write_chunk(self, text: str) -> None:
        self.wfile.write(text.encode())
        self.wfile.flush()


def _session_xml(session: dict) -> bytes:
    fields = "".join(
        f"<{name}>{escape(str(session[name]))}</{name}>"
        for name in ("session_id", "partner_id", "create_dt")
    )
    return f"<sessions><Session>{fields}</Session></sessions>".encode()


class _MethodNotAllowed(ApiError):
    def __init__(self, allowed: list[str]) -> None:
        methods = ", ".join(sorted(set(allowed)))
        super().__init__(405, f"Method not allowed. Use {methods}.", {"Allow": methods})
