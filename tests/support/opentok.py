"""What the contract tests and the emulator's own tests share: a project, its SDK client,
signed REST calls, and readers of the emulator's event streams and callbacks."""

from __future__ import annotations

import http.client
import json
import queue
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import opentok
import pytest

from local.opentok import OpenTokEmulator

KEY = "123456"
SECRET = "0123456789abcdef0123456789abcdef01234567"  # 40 chars, like a real OpenTok secret
ROOT = Path(__file__).resolve().parents[2]
ARCHIVE_FIELDS = {
    "id",
    "status",
    "name",
    "sessionId",
    "projectId",
    "partnerId",
    "createdAt",
    "updatedAt",
    "duration",
    "size",
    "outputMode",
    "streamMode",
    "resolution",
    "hasAudio",
    "hasVideo",
    "reason",
    "url",
    "streams",
    "hasTranscription",
    "sha256sum",
    "password",
}


@pytest.fixture
def emu():
    # 300 OpenTok seconds per second: the 60 s after the last client leaves take 0.2 s.
    with OpenTokEmulator(KEY, SECRET, processing_delay=0.05, time_scale=300) as emulator:
        yield emulator


@pytest.fixture
def ot(emu):
    return opentok.Client(KEY, SECRET, api_url=emu.url)


def routed_session(ot, **options) -> str:
    return ot.create_session(media_mode=opentok.MediaModes.routed, **options).session_id


def join(emu, ot, session_id, **token_options) -> str:
    return emu.connect(session_id, ot.generate_token(session_id, **token_options))


def join_publishing(emu, ot, session_id, **token_options) -> str:
    """Join and publish a camera, as a page does: an archive records only while someone
    publishes, and stops a minute after its start if nobody has (contract §6)."""
    connection = join(emu, ot, session_id, **token_options)
    emu.publish(connection)
    return connection


def project_headers(**claims) -> dict:
    now = int(time.time())
    payload = {"iss": KEY, "ist": "project", "iat": now, "exp": now + 60, **claims}
    return {"X-OPENTOK-AUTH": jwt.encode(payload, SECRET, algorithm="HS256")}


def archive_url(emu, suffix: str = "") -> str:
    return f"{emu.url}/v2/project/{KEY}/archive{suffix}"


def wait_status(emu, ot, archive_id, status):
    return emu.wait_for(lambda: (a := ot.get_archive(archive_id)).status == status and a)


class EventReader:
    """Reads a connection's Server-Sent Events on a thread, into a queue."""

    def __init__(self, emu, connection_id: str) -> None:
        address = urlsplit(emu.url)
        self._http = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        self._http.request("GET", f"/_emulator/connections/{connection_id}/events")
        self.response = self._http.getresponse()
        self.events: queue.Queue = queue.Queue()
        self.seen: list[tuple[str, dict]] = []
        self.ended = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        event_type = None
        try:
            while line := self.response.readline().decode():
                line = line.rstrip("\n")
                if line.startswith("event: "):
                    event_type = line[len("event: ") :]
                elif line.startswith("data: ") and event_type:
                    self.events.put((event_type, json.loads(line[len("data: ") :])))
                    event_type = None
        except OSError:
            pass
        finally:
            self.ended.set()

    def next(self, event_type: str, timeout: float = 5.0) -> dict:
        """The data of the next event of this type, skipping (but recording) the others."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {event_type} event; saw {self.seen}")
            try:
                seen_type, data = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append((seen_type, data))
            if seen_type == event_type:
                return data

    def close(self) -> None:
        self._http.close()


class CallbackReceiver:
    """A tiny HTTP server that records what is POSTed to it (JSON bodies, raw bodies, headers,
    arrival times) and answers 200, or the statuses queued with `fail_next` first."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.deliveries: list[Delivery] = []
        self._answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                raw = self.rfile.read(length)
                status = receiver._answer()
                receiver.deliveries.append(
                    Delivery(time.monotonic(), dict(self.headers.items()), raw, status)
                )
                if 200 <= status < 300:
                    receiver.bodies.append(json.loads(raw))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fail_next(self, times: int, status: int = 503) -> None:
        """Answer the next `times` callbacks with `status` (a failed delivery)."""
        self._answers.extend([status] * times)

    def _answer(self) -> int:
        return self._answers.pop(0) if self._answers else 200

    def statuses(self, archive_id: str) -> list[str]:
        return [b["status"] for b in list(self.bodies) if b["id"] == archive_id]

    def attempts(self, archive_id: str, status: str) -> list[Delivery]:
        """Every delivery of one callback, failed or not, in order of arrival."""
        return [
            d
            for d in list(self.deliveries)
            if (body := json.loads(d.body))["id"] == archive_id and body["status"] == status
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class Delivery:
    """One POST as the receiver saw it."""

    at: float
    headers: dict[str, str]
    body: bytes
    answered: int
