"""What the emulated project holds: sessions, their connections and streams, archives."""

from __future__ import annotations

import logging
import queue
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import media

log = logging.getLogger(__name__)

ACTIVE = ("started", "paused")
EVENT_BACKLOG = 1000  # Caps what piles up for a client that never reads its events.

# Sentinel telling an event stream to end.
END_OF_EVENTS = None


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Stream:
    stream_id: str
    connection_id: str
    name: str
    has_audio: bool
    has_video: bool
    created_at: int = field(default_factory=now_ms)

    def to_json(self) -> dict:
        return {
            "streamId": self.stream_id,
            "connectionId": self.connection_id,
            "name": self.name,
            "hasAudio": self.has_audio,
            "hasVideo": self.has_video,
            "createdAt": self.created_at,
        }


@dataclass
class Connection:
    connection_id: str
    session_id: str
    role: str
    data: str | None
    created_at: int = field(default_factory=now_ms)
    streams: dict[str, Stream] = field(default_factory=dict)
    events: queue.Queue = field(default_factory=lambda: queue.Queue(EVENT_BACKLOG))

    def to_json(self) -> dict:
        return {
            "connectionId": self.connection_id,
            "creationTime": self.created_at,
            "data": self.data,
        }

    def send(self, event_type: str | None, data: dict | None = None) -> None:
        """Queue an event for this client; a client that never reads just loses some."""
        item = END_OF_EVENTS if event_type is None else (event_type, data or {})
        try:
            self.events.put_nowait(item)
        except queue.Full:
            log.debug("event backlog full for %s; dropping %s", self.connection_id, event_type)


@dataclass
class Session:
    session_id: str
    routed: bool
    archive_mode: str
    archive_name: str | None
    archive_resolution: str | None
    created_at: int = field(default_factory=now_ms)
    connections: dict[str, Connection] = field(default_factory=dict)

    def broadcast(self, event_type: str, data: dict, exclude: str | None = None) -> None:
        for connection in self.connections.values():
            if connection.connection_id != exclude:
                connection.send(event_type, data)

    def streams(self) -> list[Stream]:
        return [s for c in self.connections.values() for s in c.streams.values()]


@dataclass
class Archive:
    id: str
    session_id: str
    name: str | None
    output_mode: str
    stream_mode: str
    resolution: str | None
    has_audio: bool
    has_video: bool
    multi_archive_tag: str | None
    max_bitrate: int | None
    created_at: int = field(default_factory=now_ms)
    updated_at: int = field(default_factory=now_ms)
    status: str = "started"
    reason: str = ""
    size: int = 0
    recorded_seconds: float = 0.0
    resumed_at: float = field(default_factory=time.time)
    pauses: int = 0
    stream_ids: list[str] = field(default_factory=list)
    file: bytes | Path | None = None  # a Path: served from disk (a large stand-in)

    @property
    def filename(self) -> str:
        return "archive.zip" if self.output_mode == "individual" else "archive.mp4"

    @property
    def content_type(self) -> str:
        return media.ZIP_TYPE if self.output_mode == "individual" else media.MP4_TYPE

    def set_status(self, status: str, reason: str | None = None) -> None:
        if self.status == "started":
            self.recorded_seconds += time.time() - self.resumed_at
        if status == "started":
            self.resumed_at = time.time()
        self.status = status
        if reason is not None:
            self.reason = reason
        self.updated_at = now_ms()

    def duration(self) -> int:
        # OpenTok reports 0 until the recording ends.
        return 0 if self.status in ACTIVE else round(self.recorded_seconds)

    def add_stream(self, stream_id: str) -> None:
        if stream_id not in self.stream_ids:
            self.stream_ids.append(stream_id)
