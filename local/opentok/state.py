"""The emulated OpenTok project and the rules OpenTok applies to it.

Everything here runs under one re-entrant lock; slow work (uploads, callbacks, timers)
happens elsewhere and only comes back in to record its outcome.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from botocore.exceptions import BotoCoreError, ClientError

from . import auth, captures, lifecycle, media, models, options, recording
from .errors import ApiError
from .jobs import Scheduler
from .lifecycle import OpenTokClock
from .models import ACTIVE, END_OF_EVENTS, EVENT_BACKLOG, Archive, Connection, Session, Stream

log = logging.getLogger(__name__)

# Contract §5: what OpenTok answers when it refuses, with its own codes where one is known.
DELETABLE = ("available", "uploaded", "deleted")
ARCHIVE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
INVALID_SESSION = "You do not pass in a session ID or you pass in an invalid session ID."
NO_SESSION = (
    "The session does not exist, or the session exists but there are no clients connected to it."
)
RELAYED = "Only routed sessions are allowed to initiate archives."
ALREADY_RECORDING = (
    "The session is already being recorded: only a unique multiArchiveTag starts another archive."
)
INVALID_ARCHIVE = "You do not pass in a session ID or you pass in an invalid archive ID."
UNKNOWN_ARCHIVE = "Not found. You passed in an invalid archive ID."
NOT_RECORDING = (
    "You can only stop an archive that has one of the following statuses: "
    "started OR paused OR stopped"
)
NO_CLIENTS = "Not found. No clients are actively connected to the OpenTok session."
NOT_CONNECTED = "The client specified by the connectionId property is not connected to the session."
INVALID_SIGNAL = (
    "One of the signal properties — data, type, sessionId or connectionId — is invalid."
)
NOT_DELETABLE = (
    "You can only delete an archive that has one of the following statuses: "
    "available OR uploaded OR deleted"
)
RELAYED_CODE = 15008
ALREADY_RECORDING_CODE = 15001
NOT_RECORDING_CODE = 15002
NOT_DELETABLE_CODE = 15004
MAX_LIST_COUNT = 1000
# Events that are messages to a client, not the session's state (open_events keeps them).
MESSAGES = ("signal", "rtc")
# PATCH .../streams (SPEC 404 wording); in an auto archive RUBYLIB and PY expect 405 where SPEC
# says 400 (contract [conflict]): 405, as both SDKs were written against the service.
NO_SUCH_STREAM = "Archive or stream not found"
AUTO_STREAMS = (
    "The archive was started with streamMode set to 'auto', which does not support stream"
    " manipulation."
)
# [unverified]: changing a finished archive's layout or streams; 409 as stopping one is.
NOT_RECORDING_CHANGE = "You can only change an archive that is being recorded (started or paused)."


class EmulatorState:
    """The emulated OpenTok project: one API key, its sessions and archives."""

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        scheduler: Scheduler,
        processing_delay: float,
        time_scale: float,
        s3_endpoint_url: str | None,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.scheduler = scheduler
        self.processing_delay = processing_delay
        self.clock = OpenTokClock(time_scale)
        self.s3_endpoint_url = s3_endpoint_url
        self.lock = threading.RLock()
        self.base_url = ""
        self.on_archive_status: Callable[[dict], None] = lambda payload: None
        # Whether OpenTok fails the recording it is about to process (the `fail-recording` fault).
        self.fails_recording: Callable[[], bool] = lambda: False
        self.sessions: dict[str, Session] = {}
        self.connections: dict[str, Connection] = {}
        self.archives: dict[str, Archive] = {}
        self.storage: media.StorageTarget | None = None
        self.captures = captures.Captures()
        self.closed = False
        self._reviews: dict[str, threading.Timer | None] = {}  # each recording archive's next

    # Sessions

    def create_session(self, form: dict[str, str]) -> dict:
        """POST /session/create with the SDK's form fields: the new session's record."""
        settings = options.session_options(form)
        session = Session(
            session_id=auth.new_session_id(self.api_key),
            routed=settings.routed,
            archive_mode=settings.archive_mode,
            archive_name=settings.archive_name,
            archive_resolution=settings.archive_resolution,
        )
        with self.lock:
            self.sessions[session.session_id] = session
        # The fields and nulls of a session created in 2024 (contract §2, VPY create_session.json).
        return {
            "session_id": session.session_id,
            "project_id": self.api_key,
            "partner_id": self.api_key,
            "create_dt": time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime()),
            "session_status": None,
            "status_invalid": None,
            "media_server_hostname": None,
            "messaging_server_url": None,
            "messaging_url": None,
            "symphony_address": None,
            "properties": None,
            "ice_server": None,
            "session_segment_id": str(uuid.uuid4()),
            "ice_servers": None,
            "ice_credential_expiration": 86100,
        }

    def _session(self, session_id: object) -> Session:
        if not auth.is_well_formed_session_id(session_id):
            raise ApiError(400, INVALID_SESSION)
        session = self.sessions.get(str(session_id))
        if session is None:
            raise ApiError(404, NO_SESSION)
        return session

    # Connections and streams

    def connect(self, session_id: str, token: object) -> dict:
        """A client joins a session with a token from the SDK's generate_token."""
        try:
            grant = auth.verify_client_token(token, session_id, self.api_key, self.api_secret)
        except auth.AuthFailed as error:
            raise ApiError(403, str(error)) from error
        with self.lock:
            session = self._session(session_id)
            connection = Connection(str(uuid.uuid4()), session_id, grant.role, grant.data)
            session.broadcast("connectionCreated", {"connection": connection.to_json()})
            session.connections[connection.connection_id] = connection
            self.connections[connection.connection_id] = connection
            if session.emptied_at is not None:
                session.emptied_at = None  # back before the 60 s were up
                self._review_archives(session)
        return {
            "connectionId": connection.connection_id,
            "sessionId": session_id,
            "role": grant.role,
            "data": grant.data,
        }

    def _connection(self, connection_id: str) -> Connection:
        connection = self.connections.get(connection_id)
        if connection is None:
            raise ApiError(404, "Not found. No such connection.")
        return connection

    def disconnect(self, connection_id: str, reason: str = "clientDisconnected") -> None:
        """The client leaves: its streams go; the last one to leave starts the 60 s to stop."""
        with self.lock:
            connection = self._connection(connection_id)
            session = self.sessions[connection.session_id]
            for stream_id in list(connection.streams):
                self._destroy_stream(session, connection, stream_id)
            del session.connections[connection_id]
            del self.connections[connection_id]
            session.broadcast("connectionDestroyed", {"connection": connection.to_json()})
            connection.send("sessionDisconnected", {"reason": reason})
            connection.send(END_OF_EVENTS)
            if not session.connections:
                session.emptied_at = self.clock.now()
                self._review_archives(session)

    def publish(self, connection_id: str, body: object) -> dict:
        """The client publishes a stream; in an always-archived session that starts recording."""
        name, has_audio, has_video = options.stream_options(body)
        with self.lock:
            connection = self._connection(connection_id)
            if connection.role not in auth.PUBLISHING_ROLES:
                raise ApiError(403, "This token's role does not allow publishing.")
            session = self.sessions[connection.session_id]
            stream = Stream(str(uuid.uuid4()), connection_id, name, has_audio, has_video)
            connection.streams[stream.stream_id] = stream
            session.broadcast("streamCreated", {"stream": stream.to_json()}, exclude=connection_id)
            for archive in self._active_archives(session.session_id):
                if not archive.selects_streams:  # manual: only the streams added by hand
                    archive.add_stream(stream, connection.data, self._offset_ms(archive))
                self._resume(archive)
            if session.archive_mode == "always" and not self._active_archives(session.session_id):
                self._start_automatic_archive(session)
        return {"streamId": stream.stream_id}

    def unpublish(self, connection_id: str, stream_id: str) -> None:
        with self.lock:
            connection = self._connection(connection_id)
            if stream_id not in connection.streams:
                raise ApiError(404, "Not found. No such stream.")
            self._destroy_stream(self.sessions[connection.session_id], connection, stream_id)

    def _destroy_stream(self, session: Session, connection: Connection, stream_id: str) -> None:
        stream = connection.streams.pop(stream_id)
        data = {"stream": stream.to_json()}
        session.broadcast("streamDestroyed", data, exclude=connection.connection_id)
        for archive in self._active_archives(session.session_id):
            archive.end_stream(stream_id, self._offset_ms(archive))
            archive.selected.pop(stream_id, None)
            if not session.streams():
                self._pause(archive)

    def signal(self, session_id: str, connection_id: str | None, body: object) -> None:
        """POST .../session/{sessionId}[/connection/{connectionId}]/signal (contract §10):
        the signal reaches every client connected to the session, or the one connection,
        with no `from`, as signals sent by a server do."""
        signal_type, data = options.signal_options(body)
        if not auth.is_well_formed_session_id(session_id):
            raise ApiError(400, INVALID_SIGNAL)
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None or not session.connections:
                raise ApiError(404, NO_CLIENTS)
            if connection_id is None:
                receivers = list(session.connections.values())
            elif connection_id in session.connections:
                receivers = [session.connections[connection_id]]
            else:
                raise ApiError(404, NOT_CONNECTED)
            for connection in receivers:
                connection.send("signal", {"type": signal_type, "data": data, "from": None})

    def client_signal(self, connection_id: str, body: object) -> None:
        """A page's `session.signal(...)` (OpenTok.js): to every client of its session, the
        sender included, `from` the sending connection."""
        signal_type, data = options.signal_options(body)
        with self.lock:
            sender = self._connection(connection_id)
            signal = {"type": signal_type, "data": data, "from": connection_id}
            for connection in self.sessions[sender.session_id].connections.values():
                connection.send("signal", signal)

    def receive_media(self, connection_id: str, stream_id: str, query: dict, body: bytes) -> None:
        """A part of what a page records of its own stream while its session is recorded
        (the stand-in OpenTok.js's MediaRecorder): `take`, `part` (from 0) and `last=1`."""
        with self.lock:
            connection = self._connection(connection_id)
            if stream_id not in connection.streams:
                raise ApiError(404, "Not found. No such stream.")
            if not self._records_or_awaits(connection.session_id):
                raise ApiError(
                    409, "Nothing records this session: the media would be kept for nothing."
                )
            now = self.clock.now()
        part = query.get("part", "")
        if not part.isdigit():
            raise ApiError(400, "Bad request. part must be a number.")
        try:
            self.captures.receive(
                stream_id, query.get("take", ""), int(part), query.get("last") == "1", body, now
            )
        except ValueError as error:
            raise ApiError(400, f"Bad request. {error}") from error
        except captures.TakeTooLarge as error:
            raise ApiError(413, str(error)) from error

    def _records_or_awaits(self, session_id: str) -> bool:
        """Whether an archive of the session records, or waits for its pages' last chunks."""
        return any(
            a.session_id == session_id and a.status in (*ACTIVE, "stopped")
            for a in self.archives.values()
        )

    def relay_rtc(self, connection_id: str, body: object) -> None:
        """A page's WebRTC signalling to one other page of its session, so that the two can
        carry media between them by themselves: delivered as it came, `from` the sender."""
        to, data = options.rtc_message(body)
        with self.lock:
            sender = self._connection(connection_id)
            receiver = self.sessions[sender.session_id].connections.get(to)
            if receiver is None:
                raise ApiError(404, "Not found. No such connection in this session.")
            receiver.send("rtc", {"from": connection_id, "data": data})

    def open_events(self, connection_id: str) -> tuple[queue.Queue, list[tuple[str, dict]]]:
        """Start a client's event stream: a fresh queue plus a snapshot of the session.

        The snapshot replaces whatever was queued before, so nothing is told twice; a
        previous stream for the same connection is ended (EventSource reconnects).
        """
        with self.lock:
            if self.closed:
                raise ApiError(503, "The emulator is shutting down.")
            connection = self._connection(connection_id)
            session = self.sessions[connection.session_id]
            # Signals and WebRTC signalling are messages, not state that a snapshot tells
            # again: those not yet read (sent before this stream opened) move to it.
            unread = _drain(connection.events)
            connection.send(END_OF_EVENTS)
            connection.events = queue.Queue(EVENT_BACKLOG)
            for event_type, data in unread:
                if event_type in MESSAGES:
                    connection.send(event_type, data)
            return connection.events, self._snapshot(session, connection_id)

    def _snapshot(self, session: Session, connection_id: str) -> list[tuple[str, dict]]:
        others = [c for c in session.connections.values() if c.connection_id != connection_id]
        events = [("connectionCreated", {"connection": c.to_json()}) for c in others]
        events += [
            ("streamCreated", {"stream": s.to_json()}) for c in others for s in c.streams.values()
        ]
        for archive in self._active_archives(session.session_id):
            events.append(("archiveStarted", {"id": archive.id, "name": archive.name}))
        return events

    def events_lost(self, connection_id: str, events: queue.Queue) -> None:
        """An event stream's client went away: treat it as having left the session."""
        with self.lock:
            connection = self.connections.get(connection_id)
            if connection is not None and connection.events is events:
                self.disconnect(connection_id, reason="networkDisconnected")

    def close(self) -> None:
        """End every event stream (the emulator is stopping)."""
        with self.lock:
            self.closed = True
            for connection in self.connections.values():
                connection.send("sessionDisconnected", {"reason": "networkDisconnected"})
                connection.send(END_OF_EVENTS)
        self.captures.close()

    # Archives

    def start_archive(self, body: object) -> dict:
        """POST /v2/project/{apiKey}/archive with the SDK's JSON body."""
        wanted = options.archive_options(body)
        with self.lock:
            session = self._session(wanted["session_id"])
            if not session.routed:
                raise ApiError(409, RELAYED, code=RELAYED_CODE)
            if not session.connections:
                # The same 404 as an unknown session (SPEC); older docs said 400 (contract §5).
                raise ApiError(404, NO_SESSION)
            self._check_no_conflict(session, wanted["multi_archive_tag"])
            archive = self._begin(session, **wanted)
            return self.archive_json(archive)

    def _check_no_conflict(self, session: Session, tag: str | None) -> None:
        # Only distinct multiArchiveTags let a session record several archives at once, and
        # an always-archived session is recorded already, whether or not anyone publishes yet.
        taken = [a.multi_archive_tag for a in self._active_archives(session.session_id)]
        if (tag is None and (taken or session.archive_mode == "always")) or tag in taken:
            raise ApiError(409, ALREADY_RECORDING, code=ALREADY_RECORDING_CODE)

    def _start_automatic_archive(self, session: Session) -> None:
        self._begin(
            session,
            session_id=session.session_id,
            name=session.archive_name,
            output_mode="composed",
            stream_mode="auto",
            resolution=session.archive_resolution or options.DEFAULT_RESOLUTION,
            has_audio=True,
            has_video=True,
            multi_archive_tag=None,
            max_bitrate=None,
            layout=dict(options.DEFAULT_LAYOUT),
            automatic=True,
        )

    def _begin(self, session: Session, **settings: object) -> Archive:
        archive = Archive(id=str(uuid.uuid4()), **settings)
        archive.begun_at = archive.idle_since = self.clock.now()
        for connection in session.connections.values():
            for stream in connection.streams.values():
                if not archive.selects_streams:
                    archive.add_stream(stream, connection.data, 0)
        # Recording time runs while anyone in the session publishes, as publish() and
        # _destroy_stream() count it, whatever stream mode: a manual archive started
        # during a call records from its start, not from the next stream published.
        if session.streams():
            archive.streams_appeared(archive.begun_at)
        self.archives[archive.id] = archive
        session.broadcast("archiveStarted", {"id": archive.id, "name": archive.name})
        self._notify(archive)
        self._schedule_review(archive)
        return archive

    def stop_archive(self, archive_id: str) -> dict:
        with self.lock:
            archive = self._archive(archive_id)
            if archive.status not in ACTIVE:
                raise ApiError(409, NOT_RECORDING, code=NOT_RECORDING_CODE)
            if not self._is_automatic(archive):
                self._stop(archive, lifecycle.USER_INITIATED)
            # An automatic archive keeps recording: "no effect" (SPEC), answered as it stands.
            return self.archive_json(archive)

    def set_layout(self, archive_id: str, body: object) -> dict:
        """PUT .../layout: a composed archive's layout, changed while it records (SPEC)."""
        with self.lock:
            archive = self._archive(archive_id)
            if archive.output_mode != "composed":
                # SPEC: layouts are of composed archives; the refusal's status is [unverified].
                raise ApiError(400, options.INVALID_LAYOUT)
            layout = options.archive_layout(body)
            if archive.status not in ACTIVE:
                raise ApiError(409, NOT_RECORDING_CHANGE)
            archive.layout = layout
            archive.updated_at = models.now_ms()
            # VPY's change_archive_layout reads the archive from the answer.
            return self.archive_json(archive)

    def select_stream(self, archive_id: str, body: object) -> None:
        """PATCH .../streams: adds or removes a stream of a streamMode manual archive."""
        action, stream_id, has_audio, has_video = options.stream_selection(body)
        with self.lock:
            archive = self._archive(archive_id)
            if not archive.selects_streams:
                raise ApiError(405, AUTO_STREAMS)
            if archive.status not in ACTIVE:
                raise ApiError(409, NOT_RECORDING_CHANGE)
            session = self.sessions[archive.session_id]
            found = next(
                (
                    (connection, connection.streams[stream_id])
                    for connection in session.connections.values()
                    if stream_id in connection.streams
                ),
                None,
            )
            if found is None:
                raise ApiError(404, NO_SUCH_STREAM)
            connection, stream = found
            if action == "add":
                archive.selected[stream_id] = (has_audio, has_video)
                archive.add_stream(
                    stream, connection.data, self._offset_ms(archive), has_audio, has_video
                )
            else:
                archive.selected.pop(stream_id, None)
                archive.end_stream(stream_id, self._offset_ms(archive))
            archive.updated_at = models.now_ms()

    def _is_automatic(self, archive: Archive) -> bool:
        # In an always-archived session only a tagged archive was started by hand.
        session = self.sessions[archive.session_id]
        return session.archive_mode == "always" and archive.multi_archive_tag is None

    def _stop(self, archive: Archive, reason: str) -> None:
        archive.stopped_at = self.clock.now()
        archive.streams_gone(archive.stopped_at)
        # A late timer must not record past the limit it enforces.
        archive.recorded_seconds = min(archive.recorded_seconds, lifecycle.MAX_RECORDED)
        for stream_id in archive.streams:
            archive.end_stream(stream_id, self._offset_ms(archive))
        self.scheduler.cancel(self._reviews.pop(archive.id, None))
        self._change(archive, "stopped", reason)
        session = self.sessions[archive.session_id]
        session.broadcast("archiveStopped", {"id": archive.id, "name": archive.name})
        self.scheduler.call_later(self.processing_delay, lambda: self._process(archive.id))

    # The lifecycle of a recording archive (contract §6)

    def _resume(self, archive: Archive) -> None:
        # Someone publishes: a paused archive records again (SPEC `status`).
        archive.streams_appeared(self.clock.now())
        if archive.status == "paused":
            self._change(archive, "started")
        self._schedule_review(archive)

    def _pause(self, archive: Archive) -> None:
        # Nobody publishes any more: nothing is recorded until someone does (SPEC `status`).
        archive.streams_gone(self.clock.now())
        if archive.status == "started":
            self._change(archive, "paused")
        self._schedule_review(archive)

    def _review_archives(self, session: Session) -> None:
        for archive in self._active_archives(session.session_id):
            self._schedule_review(archive)

    def _schedule_review(self, archive: Archive) -> None:
        """Look at the archive again when OpenTok would stop it if nothing changed meanwhile."""
        deadline, _ = self._next_stop(archive)
        archive.review += 1
        review = archive.review
        delay = self.clock.real_seconds(deadline - self.clock.now())
        self.scheduler.cancel(self._reviews.pop(archive.id, None))
        self._reviews[archive.id] = self.scheduler.call_later(
            delay, lambda: self._review(archive.id, review)
        )

    def _review(self, archive_id: str, review: int) -> None:
        with self.lock:
            archive = self.archives.get(archive_id)
            if archive is None or archive.review != review or archive.status not in ACTIVE:
                return  # stopped, or changed since: a later review is scheduled
            self._reviews.pop(archive_id, None)
            deadline, reason = self._next_stop(archive)
            if not lifecycle.is_due(deadline, self.clock.now()):
                self._schedule_review(archive)
                return
            self._stop(archive, reason)
            if archive.automatic and reason == lifecycle.TOO_LONG:
                self._roll_over(self.sessions[archive.session_id])

    def _next_stop(self, archive: Archive) -> tuple[float, str]:
        """When OpenTok stops this recording archive, and why, unless something changes first.

        Before anyone has published, the archive waits at most a minute for a first stream
        (GUIDE's publish rule); after that, nobody publishing pauses it for at most 60 min.
        """
        now = self.clock.now()
        session = self.sessions[archive.session_id]
        deadlines = []
        if session.emptied_at is not None:
            deadlines.append(
                (session.emptied_at + lifecycle.EMPTY_SESSION_STOP, lifecycle.SESSION_ENDED)
            )
        if archive.idle_since is not None:
            limit = lifecycle.IDLE_STOP if archive.has_recorded else lifecycle.FIRST_PUBLISH_WINDOW
            deadlines.append((archive.idle_since + limit, lifecycle.IDLE))
        if archive.recording_since is not None:
            left = lifecycle.MAX_RECORDED - archive.recorded(now)
            deadlines.append((now + left, lifecycle.TOO_LONG))
        deadlines.append((archive.begun_at + lifecycle.MAX_TOTAL, lifecycle.TOO_LONG))
        return min(deadlines, key=lambda deadline: deadline[0])

    def _roll_over(self, session: Session) -> None:
        # Automatic archives go on in a new archive every 4 h until the session ends (GUIDE).
        if session.connections:
            self._start_automatic_archive(session)

    def _offset_ms(self, archive: Archive) -> int:
        return round((self.clock.now() - archive.begun_at) * 1000)

    def _expire(self, archive_id: str) -> None:
        # OpenTok keeps an available archive for 72 h from its creation (GUIDE).
        with self.lock:
            archive = self.archives.get(archive_id)
            if archive is not None and archive.status == "available":
                archive.file = None
                self._change(archive, "expired")

    def _process(self, archive_id: str) -> None:
        """Turn a stopped archive into a file, then deliver it as OpenTok would."""
        with self.lock:
            archive = self.archives.get(archive_id)
            if archive is None or archive.status != "stopped":
                return
            target = self.storage
            if self._awaits_pages(archive):
                self.scheduler.call_later(0.2, lambda: self._process(archive_id))
                return
        if self.fails_recording():
            self._finish(archive, "failed", None, lifecycle.FAILURE)
            return
        try:
            body = self._media_of(archive)
        except Exception:
            # An emulator bug, never the page's: the archive must still end, not hang in stopped.
            log.exception("making the file of archive %s failed", archive.id)
            self._finish(archive, "failed", None, lifecycle.FAILURE)
            return
        if target is None:
            self._make_available(archive, body)
            return
        try:
            key = f"{self.api_key}/{archive.id}/{archive.filename}"
            media.upload(target, key, body, archive.content_type, self.s3_endpoint_url)
        except (BotoCoreError, ClientError, OSError, ValueError) as error:
            log.warning("upload of archive %s failed: %s", archive.id, error)
            if target.fallback == "opentok":
                self._make_available(archive, body)
            else:
                self._finish(archive, "failed", None, lifecycle.FAILURE)
            return
        self._finish(archive, "uploaded", body, keep_file=False)

    def _media_of(self, archive: Archive) -> bytes:
        """The archive's file: what its streams' pages sent, in the shape it asked for."""
        with self.lock:
            recorded = self._recorded_tracks(archive)
            duration = self.clock.real_seconds(archive.recorded_seconds)
        # Joined out of the lock (an hour of a page's chunks is hundreds of MB), then dropped.
        tracks = [
            (described, dataclasses.replace(track, source=self.captures.join(take)))
            for described, track, take in recorded
        ]
        with self.lock:
            self._forget_captures(archive)
        try:
            if archive.output_mode == "composed":
                return recording.composed_mp4(
                    duration,
                    archive.resolution or options.DEFAULT_RESOLUTION,
                    (archive.layout or options.DEFAULT_LAYOUT)["type"],
                    [track for _, track in tracks],
                    has_audio=archive.has_audio,
                    has_video=archive.has_video,
                )
            streams = [
                (
                    described,
                    recording.stream_webm(
                        track, has_audio=track.has_audio, has_video=track.has_video
                    ),
                )
                for described, track in tracks
            ]
            return media.individual_zip(
                archive.id, archive.name or "", archive.session_id, archive.created_at, streams
            )
        finally:
            for _, track in tracks:
                if track.source is not None:
                    track.source.unlink(missing_ok=True)

    def _forget_captures(self, made: Archive) -> None:
        """Drop what pages sent of streams that no archive still to be made holds (`made` has
        its copy now): a page records again, in a new take, when an archive starts."""
        wanted = set()
        for other in self.archives.values():
            if other is not made and other.status in (*ACTIVE, "stopped"):
                wanted.update(other.streams)
            if other.status in ACTIVE:
                # A manual archive may still add a stream its page records meanwhile.
                wanted.update(s.stream_id for s in self.sessions[other.session_id].streams())
        self.captures.keep_only(wanted)

    def _awaits_pages(self, archive: Archive) -> bool:
        """Whether a page's last chunks of a stream it recorded may still be on their way."""
        stopped_at = archive.stopped_at or archive.begun_at
        waited = self.clock.real_seconds(self.clock.now() - stopped_at)
        if waited >= captures.LAST_PART_WAIT:
            return False
        for stream_id, archived in archive.streams.items():
            take = self.captures.best_take(stream_id, *self._stream_span(archive, archived))
            # One chunk more than the stop: what was recorded up to it has come.
            chunk = self.clock.time_scale * captures.CHUNK_SECONDS
            if take is not None and not take.covers(stopped_at + chunk):
                return True
        return False

    def _stream_span(
        self, archive: Archive, archived: models.ArchivedStream
    ) -> tuple[float, float]:
        """When a stream was in the archive, on OpenTok's clock."""
        return (
            archive.begun_at + archived.start_offset_ms / 1000,
            archive.begun_at + archived.end_ms / 1000,
        )

    def _media_position(self, archive: Archive, moment: float) -> float:
        """Where a moment (OpenTok seconds) falls in the archive's media, in real seconds;
        before the archive began, how long before."""
        if moment < archive.begun_at:
            return -self.clock.real_seconds(archive.begun_at - moment)
        return self.clock.real_seconds(archive.recorded_before(moment))

    def _recorded_tracks(
        self, archive: Archive
    ) -> list[tuple[media.RecordedStream, recording.RecordedTrack, captures.Take | None]]:
        """Each stream of a stopped archive: as its manifest lists it (OpenTok ms from the
        start), where it lies in the archive's media (real seconds of what was recorded), and
        the take of what its page sent of it, to join."""
        tracks = []
        for stream_id, archived in archive.streams.items():
            start, stop = self._stream_span(archive, archived)
            take = self.captures.best_take(stream_id, start, stop)
            described = media.RecordedStream(
                stream_id,
                archived.connection_data,
                archived.stream.video_type,
                archived.start_offset_ms,
                archived.end_ms,
            )
            track = recording.RecordedTrack(
                stream_id,
                self._media_position(archive, start),
                self._media_position(archive, stop),
                archived.has_audio,
                archived.has_video,
                None,
                self._media_position(archive, take.started_at) if take is not None else 0.0,
            )
            tracks.append((described, track, take))
        return tracks

    def _make_available(self, archive: Archive, body: bytes) -> None:
        self._finish(archive, "available", body)
        expires_in = archive.begun_at + lifecycle.AVAILABLE_FOR - self.clock.now()
        self.scheduler.call_later(
            self.clock.real_seconds(expires_in), lambda: self._expire(archive.id)
        )

    def _finish(
        self,
        archive: Archive,
        status: str,
        body: bytes | None,
        reason: str | None = None,
        keep_file: bool = True,
    ) -> None:
        with self.lock:
            archive.size = len(body) if body else 0
            archive.sha256sum = hashlib.sha256(body).hexdigest() if body else ""
            archive.file = body if keep_file else None
            self._change(archive, status, reason)

    def _change(self, archive: Archive, status: str, reason: str | None = None) -> None:
        archive.set_status(status, reason)
        self._notify(archive)

    def _notify(self, archive: Archive) -> None:
        payload = self.archive_json(archive)
        payload["event"] = "archive"
        self.on_archive_status(payload)

    def _active_archives(self, session_id: str) -> list[Archive]:
        return [
            a for a in self.archives.values() if a.session_id == session_id and a.status in ACTIVE
        ]

    def _archive(self, archive_id: str) -> Archive:
        if not ARCHIVE_ID.fullmatch(archive_id):
            raise ApiError(400, INVALID_ARCHIVE)
        archive = self.archives.get(archive_id.lower())
        if archive is None:
            raise ApiError(404, UNKNOWN_ARCHIVE)
        return archive

    def get_archive(self, archive_id: str, base_url: str | None = None) -> dict:
        with self.lock:
            return self.archive_json(self._archive(archive_id), base_url)

    def list_archives(self, query: dict[str, str], base_url: str | None = None) -> dict:
        offset = options.non_negative_int(query.get("offset"), "offset", default=0)
        count = options.non_negative_int(query.get("count"), "count", default=50)
        count = min(count, MAX_LIST_COUNT)
        # The SDKs send sessionId, SPEC names it session_id: both are taken (contract §4).
        session_id = query.get("sessionId") or query.get("session_id")
        with self.lock:
            # Newest first; archives made in the same millisecond keep the order they were made in.
            newest_first = reversed(self.archives.values())
            matching = [
                a
                for a in newest_first
                if session_id in (None, "", a.session_id) and a.status != "deleted"
            ]
            matching.sort(key=lambda a: a.created_at, reverse=True)
            items = [self.archive_json(a, base_url) for a in matching[offset : offset + count]]
        # count: every archive that matches, not just this page (contract §4 [conflict], SPEC).
        return {"count": len(matching), "items": items}

    def delete_archive(self, archive_id: str) -> None:
        with self.lock:
            archive = self._archive(archive_id)
            if archive.status not in DELETABLE:
                raise ApiError(409, NOT_DELETABLE, code=NOT_DELETABLE_CODE)
            # Kept, as deleted, so that deleting it again answers 204 (15004 counts it deletable).
            # No callback: `deleted` is no status of the callback's enum (contract §3).
            if archive.status != "deleted":
                archive.file = None
                archive.set_status("deleted")

    def archive_file(self, archive_id: str) -> tuple[bytes | Path, str, str]:
        """(body or file on disk, content type, file name) of an archive served by the emulator."""
        with self.lock:
            archive = self._archive(archive_id)
            if archive.status != "available" or archive.file is None:
                raise ApiError(404, "Not found. The archive file is not available.")
            return archive.file, archive.content_type, archive.filename

    def serve_from_disk(self, archive_id: str, path: Path) -> None:
        """Serves an available archive's recording from a file, streamed: a stand-in for a
        recording too large to hold in memory (gigabytes, as a 4-hour one is)."""
        digest = hashlib.sha256()  # OpenTok's sha256sum is of the file it serves
        with path.open("rb") as file:
            while chunk := file.read(1024 * 1024):
                digest.update(chunk)
        with self.lock:
            archive = self._archive(archive_id)
            archive.file, archive.size = path, path.stat().st_size
            archive.sha256sum = digest.hexdigest()

    def archive_json(self, archive: Archive, base_url: str | None = None) -> dict:
        """The archive exactly as OpenTok's REST API describes it."""
        project = int(self.api_key) if self.api_key.isdigit() else self.api_key
        return {
            "id": archive.id,
            "status": archive.status,
            "name": archive.name or "",  # unnamed: "" (contract §3, RUBY)
            "sessionId": archive.session_id,
            "projectId": project,
            "partnerId": project,
            "createdAt": archive.created_at,
            "updatedAt": archive.updated_at,
            "duration": archive.duration(),
            "size": archive.size,
            "outputMode": archive.output_mode,
            "streamMode": archive.stream_mode,
            "resolution": archive.resolution,
            "hasAudio": archive.has_audio,
            "hasVideo": archive.has_video,
            "hasTranscription": False,
            "reason": archive.reason,
            "url": self._download_url(archive, base_url or self.base_url),
            # SPEC `Archive-Detail`: the streams in the archive; listed here for manual archives
            # only, whose selection is the point (for auto ones: [unverified], left empty).
            "streams": [
                {"streamId": stream_id, "hasAudio": audio, "hasVideo": video}
                for stream_id, (audio, video) in archive.selected.items()
            ],
            "sha256sum": archive.sha256sum,
            "password": "",
            **_when_set("maxBitrate", archive.max_bitrate),
            **_when_set("multiArchiveTag", archive.multi_archive_tag),
        }

    def inspect_archive(self, archive_id: str) -> dict:
        """What OpenTok holds of an archive beyond its JSON: its layout (no archive JSON in
        RUBY's cassettes or VPY's fixtures carries one) and the streams its file has, for tests
        and `make dev` to look at."""
        with self.lock:
            archive = self._archive(archive_id)
            return {
                "archive": self.archive_json(archive),
                "layout": archive.layout,
                "recordedStreams": list(archive.streams),
            }

    def _download_url(self, archive: Archive, base_url: str) -> str | None:
        if archive.status != "available":
            return None
        expires = math.ceil(time.time() + self.clock.real_seconds(lifecycle.DOWNLOAD_LINK_SECONDS))
        signature = auth.sign_download(archive.id, expires, self.api_secret)
        query = urlencode({"expires": expires, "signature": signature})
        return f"{base_url}/_emulator/archives/{archive.id}/{archive.filename}?{query}"

    # Upload target

    def set_storage(self, body: object) -> dict:
        try:
            target = media.StorageTarget.from_request(body)
        except ValueError as error:
            raise ApiError(400, f"Bad request. {error}") from error
        with self.lock:
            self.storage = target
        return target.to_public()

    def get_storage(self) -> dict:
        with self.lock:
            if self.storage is None:
                raise ApiError(404, "Not found. No upload target is set.")
            return self.storage.to_public()

    def delete_storage(self) -> None:
        with self.lock:
            self.storage = None


def _drain(events: queue.Queue) -> list[tuple[str, dict]]:
    unread = []
    while True:
        try:
            item = events.get_nowait()
        except queue.Empty:
            return unread
        if item is not END_OF_EVENTS:
            unread.append(item)


def _when_set(field_name: str, value: object) -> dict:
    # Options the archive was started with appear in its JSON; unset ones are left out.
    return {} if value is None else {field_name: value}
