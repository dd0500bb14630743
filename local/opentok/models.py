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
# Statuses in which OpenTok has produced the file, so its duration and size are known.
GENERATED = ("uploaded", "available", "expired", "failed")
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
    video_type: str = "camera"
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
    emptied_at: float | None = None  # OpenTok time the last client left, while nobody is back

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
    layout: dict | None = None  # composed archives only; changed by PUT .../layout
    created_at: int = field(default_factory=now_ms)
    updated_at: int = field(default_factory=now_ms)
    status: str = "started"
    reason: str = ""
    size: int = 0
    sha256sum: str = ""
    automatic: bool = False  # started by an archiveMode=always session
    # Times on OpenTok's clock (lifecycle.OpenTokClock), in OpenTok seconds.
    begun_at: float = 0.0
    stopped_at: float | None = None
    recorded_seconds: float = 0.0  # before recording_since, if recording now
    recording_since: float | None = None  # streams are being recorded since then
    idle_since: float | None = None  # nobody publishing since then
    has_recorded: bool = False  # someone has published while it was recording
    # (start, end) of each stretch recorded; the last one's end is None while it records.
    spans: list[tuple[float, float | None]] = field(default_factory=list)
    review: int = 0  # bumped so that only the latest scheduled review acts
    streams: dict[str, ArchivedStream] = field(default_factory=dict)
    # streamMode manual: the streams PATCH .../streams added, with (hasAudio, hasVideo).
    selected: dict[str, tuple[bool, bool]] = field(default_factory=dict)
    file: bytes | Path | None = None  # a Path: served from disk (a large stand-in)

    @property
    def filename(self) -> str:
        return "archive.zip" if self.output_mode == "individual" else "archive.mp4"

    @property
    def content_type(self) -> str:
        return media.ZIP_TYPE if self.output_mode == "individual" else media.MP4_TYPE

    def set_status(self, status: str, reason: str | None = None) -> None:
        self.status = status
        if reason is not None:
            self.reason = reason
        self.updated_at = now_ms()

    def recorded(self, now: float) -> float:
        """OpenTok seconds of recorded media so far."""
        ongoing = now - self.recording_since if self.recording_since is not None else 0.0
        return self.recorded_seconds + ongoing

    def recorded_before(self, moment: float) -> float:
        """OpenTok seconds recorded between the start and `moment`: where that moment falls in
        the archive's media, which leaves out the stretches that were not recorded."""
        return sum(
            max(min(moment, moment if end is None else end) - start, 0.0)
            for start, end in self.spans
        )

    def streams_appeared(self, now: float) -> None:
        if self.recording_since is None:
            self.recording_since = now
            self.spans.append((now, None))
        self.idle_since = None
        self.has_recorded = True

    def streams_gone(self, now: float) -> None:
        self.recorded_seconds = self.recorded(now)
        if self.recording_since is not None:
            self.spans[-1] = (self.recording_since, now)
        self.recording_since = None
        if self.idle_since is None:
            self.idle_since = now

    def duration(self) -> int:
        # OpenTok reports 0 until the file is generated (contract §3, SPEC).
        return round(self.recorded_seconds) if self.status in GENERATED else 0

    @property
    def selects_streams(self) -> bool:
        """True when streams are in it only once added by hand (streamMode manual)."""
        return self.stream_mode == "manual"

    def add_stream(
        self,
        stream: Stream,
        connection_data: str | None,
        offset_ms: int,
        has_audio: bool = True,
        has_video: bool = True,
    ) -> None:
        """The stream is recorded from `offset_ms`; `has_audio`/`has_video`: what of it, as a
        manual selection asks (PATCH .../streams)."""
        if stream.stream_id not in self.streams:
            self.streams[stream.stream_id] = ArchivedStream(
                stream,
                connection_data,
                offset_ms,
                has_audio=has_audio and stream.has_audio and self.has_audio,
                has_video=has_video and stream.has_video and self.has_video,
            )

    def end_stream(self, stream_id: str, offset_ms: int) -> None:
        archived = self.streams.get(stream_id)
        if archived is not None and archived.stop_offset_ms is None:
            archived.stop_offset_ms = offset_ms


@dataclass
class ArchivedStream:
    """A stream as an individual archive's manifest lists it; offsets are ms from the start."""

    stream: Stream
    connection_data: str | None
    start_offset_ms: int
    stop_offset_ms: int | None = None
    has_audio: bool = True  # recorded with its sound
    has_video: bool = True

    @property
    def end_ms(self) -> int:
        """Its stop offset; one that never started recording (stopped at once) ends at its start."""
        return self.stop_offset_ms or self.start_offset_ms
