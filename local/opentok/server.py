"""OpenTokEmulator: the REST API and client routes on a background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from . import auth
from .faults import Faults
from .handler import EmulatorHTTPServer
from .jobs import RETRY_POLICIES, CallbackSender, Scheduler, archive_callback_body
from .state import EmulatorState


def wait_for[T](predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.01) -> T:
    """Poll `predicate` until it returns something truthy, and return that.

    Raises TimeoutError if that does not happen within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)


class OpenTokEmulator:
    """A local stand-in for the OpenTok REST API that the real `opentok` SDK can talk to.

    Point the SDK at it with ``opentok.Client(api_key, api_secret, api_url=emu.url)``.
    `time_scale` is how many OpenTok seconds pass per real second for OpenTok's own timers
    (the 60 s after the last client leaves, the 4 h limit, 72 h availability...; 1 = real
    time); `processing_delay` is real seconds, the time OpenTok takes to produce a file.
    """

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        processing_delay: float = 1.0,
        s3_endpoint_url: str | None = None,
        callback_url: str | None = None,
        time_scale: float = 1.0,
        keepalive_interval: float = 15.0,
        callback_retries: str = "vonage",
        callback_time_scale: float | None = None,
        callback_signature_secret: str | None = None,
    ) -> None:
        self.api_key = str(api_key)
        self.api_secret = api_secret
        self.host = host
        self.port = port
        self.keepalive_interval = keepalive_interval
        self.calls: list[tuple[str, str]] = []
        # Every REST call with its headers: how it was signed, and by what client.
        self.received: list[tuple[str, str, dict[str, str]]] = []
        self.faults = Faults()
        self._callback_url = callback_url
        if callback_retries not in RETRY_POLICIES:
            raise ValueError(f"callback_retries must be one of {sorted(RETRY_POLICIES)}")
        # Signed callbacks come from the Vonage callback service, whose retries they follow.
        self.callback_retries = "vonage" if callback_signature_secret else callback_retries
        self.callback_time_scale = callback_time_scale or time_scale
        self.callback_signature_secret = callback_signature_secret or None
        self._scheduler = Scheduler()
        self._callbacks: CallbackSender | None = None
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.state = EmulatorState(
            api_key=self.api_key,
            api_secret=api_secret,
            scheduler=self._scheduler,
            processing_delay=processing_delay,
            time_scale=time_scale,
            s3_endpoint_url=s3_endpoint_url,
        )
        self.state.on_archive_status = self._archive_status_changed
        self.state.fails_recording = lambda: self.faults.take("fail-recording") is not None

    @property
    def url(self) -> str:
        """Base URL to hand to ``opentok.Client(api_url=...)``."""
        # A wildcard bind address is not something a client can connect to.
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    @property
    def callback_url(self) -> str | None:
        with self.state.lock:
            return self._callback_url

    @callback_url.setter
    def callback_url(self, value: str | None) -> None:
        with self.state.lock:
            self._callback_url = value

    def start(self) -> OpenTokEmulator:
        """Serve on a background thread; returns self so it can be chained."""
        if self._server is not None:
            raise RuntimeError("the emulator is already started (or was stopped)")
        self._server = EmulatorHTTPServer(
            (self.host, self.port),
            self.state,
            self._record_call,
            self.keepalive_interval,
            self.faults,
        )
        self.port = self._server.server_address[1]
        self.state.base_url = self.url
        vonage = auth.is_vonage_key(self.api_secret)
        self._callbacks = CallbackSender(
            retry=RETRY_POLICIES[self.callback_retries],
            time_scale=self.callback_time_scale,
            signature_secret=self.callback_signature_secret,
            api_key=self.api_key,
            application_id=self.api_key if vonage else None,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # how long stop() waits on the loop
            name="opentok-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down and end background jobs; safe to call more than once."""
        server = self._server
        if server is None or self._stopped:
            return
        self._stopped = True
        self._scheduler.close()
        self.state.close()
        server.shutdown()
        server.close_open_connections()
        server.server_close()
        if self._callbacks is not None:
            self._callbacks.close()

    def __enter__(self) -> OpenTokEmulator:
        return self if self._server is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def connect(self, session_id: str, token: str) -> str:
        """Join a session as a client would; returns the connection id."""
        return self.state.connect(session_id, token)["connectionId"]

    def publish(self, connection_id: str, name: str = "camera") -> str:
        """Publish a camera stream (audio and video) as a client would; returns its stream id."""
        return self.state.publish(connection_id, {"name": name})["streamId"]

    def unpublish(self, connection_id: str, stream_id: str) -> None:
        """Stop publishing a stream as a client would."""
        self.state.unpublish(connection_id, stream_id)

    def disconnect(self, connection_id: str) -> None:
        """Leave a session as a client would."""
        self.state.disconnect(connection_id)

    def wait_for[T](
        self, predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.01
    ) -> T:
        """Poll `predicate` until it returns something truthy, which is returned."""
        return wait_for(predicate, timeout, interval)

    def callbacks_idle(self) -> bool:
        """True when no callback is being sent or waiting for a retry."""
        return self._callbacks is None or self._callbacks.idle()

    def _record_call(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self.state.lock:
            self.calls.append((method, path))
            self.received.append((method, path, headers))

    def _archive_status_changed(self, payload: dict) -> None:
        url = self.callback_url
        if url and self.faults.take("drop-callback") is not None:
            return
        if url and self._callbacks is not None:
            self._callbacks.send(url, archive_callback_body(payload))
