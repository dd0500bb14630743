"""The emulated OpenTok project and the rules OpenTok applies to it.

Everything here runs under one re-entrant lock; slow work (uploads, callbacks, timers)
happens elsewhere and only comes back in to record its outcome.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from botocore.exceptions import BotoCoreError, ClientError

from . import auth, media, options
from .errors import ApiError
from .jobs import Scheduler
from .models import ACTIVE, END_OF_EVENTS, EVENT_BACKLOG, Archive, Connection, Session, Stream

log = logging.getLogger(__name__)

DELETABLE = ("available", "uploaded")
DOWNLOAD_LINK_SECONDS = 600  # OpenTok's download links last 10 minutes.
MAX_LIST_COUNT = 1000


class EmulatorState:
    """The emulated OpenTok project: one API key, its sessions and archives."""

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        scheduler: Scheduler,
        processing_delay: float,
        auto_stop_delay: float,
        s3_endpoint_url: str | None,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.scheduler = scheduler
        self.processing_delay = processing_delay
        self.auto_stop_delay = auto_stop_delay
        self.s3_endpoint_url = s3_endpoint_url
        self.lock = threading.RLock()
        self.base_url = ""
        self.on_archive_status: Callable[[dict], None] = lambda payload: None
        self.sessions: dict[str, Session] = {}
        self.connections: dict[str, Connection] = {}
        self.archives: dict[str, Archive] = {}
        self.storage: media.StorageTarget | None = None
        self.closed = False

    # Sessions

    def create_session(self, form: dict[str, str]) -> list[dict]:
        """POST /session/create with the SDK's form fields."""
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
        created = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())
        return [
            {
                "session_id": session.session_id,
                "project_id": self.api_key,
                "partner_id": self.api_key,
                "create_dt": created,
                "media_server_url": "",
            }
        ]

    def _session(self, session_id: object) -> Session:
        if not auth.is_well_formed_session_id(session_id):
            raise ApiError(400, "Invalid session ID.")
        session = self.sessions.get(str(session_id))
        if session is None:
            raise ApiError(404, "Not found. No session with this ID exists in this project.")
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
            for archive in self._active_archives(session_id):
                if archive.status == "paused":
                    self._change(archive, "started")
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
        """The client leaves: its streams go, and an emptied session pauses its archives."""
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
                self._pause_archives(session.session_id)

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
                archive.add_stream(stream.stream_id)
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
            connection.send(END_OF_EVENTS)
            connection.events = queue.Queue(EVENT_BACKLOG)
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

    # Archives

    def start_archive(self, body: object) -> dict:
        """POST /v2/project/{apiKey}/archive with the SDK's JSON body."""
        wanted = options.archive_options(body)
        with self.lock:
            session = self._session(wanted["session_id"])
            if not session.routed:
                raise ApiError(400, "Bad request. You cannot archive relayed sessions.")
            if not session.connections:
                raise ApiError(
                    400, "Bad request. No clients are actively connected to the session."
                )
            self._check_no_conflict(session.session_id, wanted["multi_archive_tag"])
            archive = self._begin(session, **wanted)
            return self.archive_json(archive)

    def _check_no_conflict(self, session_id: str, tag: str | None) -> None:
        # Only distinct multiArchiveTags let a session record several archives at once.
        for archive in self._active_archives(session_id):
            if tag is None or archive.multi_archive_tag == tag:
                raise ApiError(409, "Conflict. The session is already being recorded.")

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
        )

    def _begin(self, session: Session, **settings: object) -> Archive:
        archive = Archive(id=str(uuid.uuid4()), **settings)
        for stream in session.streams():
            archive.add_stream(stream.stream_id)
        self.archives[archive.id] = archive
        session.broadcast("archiveStarted", {"id": archive.id, "name": archive.name})
        self._notify(archive)
        return archive

    def stop_archive(self, archive_id: str) -> dict:
        with self.lock:
            archive = self._archive(archive_id)
            if archive.status not in ACTIVE:
                raise ApiError(
                    409, "Conflict. You are trying to stop an archive that is not recording."
                )
            self._stop(archive, "user initiated")
            return self.archive_json(archive)

    def _stop(self, archive: Archive, reason: str) -> None:
        self._change(archive, "stopped", reason)
        session = self.sessions[archive.session_id]
        session.broadcast("archiveStopped", {"id": archive.id, "name": archive.name})
        self.scheduler.call_later(self.processing_delay, lambda: self._process(archive.id))

    def _pause_archives(self, session_id: str) -> None:
        for archive in self._active_archives(session_id):
            if archive.status != "started":
                continue
            self._change(archive, "paused")
            archive.pauses += 1
            pause = archive.pauses
            self.scheduler.call_later(
                self.auto_stop_delay, lambda a=archive, p=pause: self._auto_stop(a, p)
            )

    def _auto_stop(self, archive: Archive, pause: int) -> None:
        # A client may have come back (resuming it) or someone stopped it meanwhile.
        with self.lock:
            if archive.status == "paused" and archive.pauses == pause:
                self._stop(archive, "session ended")

    def _process(self, archive_id: str) -> None:
        """Turn a stopped archive into a file, then deliver it as OpenTok would."""
        with self.lock:
            archive = self.archives.get(archive_id)
            if archive is None or archive.status != "stopped":
                return
            target = self.storage
            stream_ids = list(archive.stream_ids)
        if archive.output_mode == "individual":
            body = media.individual_zip(stream_ids)
        else:
            body = media.recording_bytes()
        if target is None:
            self._finish(archive, "available", body)
            return
        try:
            key = f"{self.api_key}/{archive.id}/{archive.filename}"
            media.upload(target, key, body, archive.content_type, self.s3_endpoint_url)
        except (BotoCoreError, ClientError, OSError, ValueError) as error:
            log.warning("upload of archive %s failed: %s", archive.id, error)
            if target.fallback == "opentok":
                self._finish(archive, "available", body)
            else:
                self._finish(archive, "failed", None, f"Upload to S3 failed: {error}")
            return
        self._finish(archive, "uploaded", body, keep_file=False)

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
        archive = self.archives.get(archive_id)
        if archive is None:
            raise ApiError(404, "Not found. No archive with this ID exists in this project.")
        return archive

    def get_archive(self, archive_id: str, base_url: str | None = None) -> dict:
        with self.lock:
            return self.archive_json(self._archive(archive_id), base_url)

    def list_archives(self, query: dict[str, str], base_url: str | None = None) -> dict:
        offset = options.non_negative_int(query.get("offset"), "offset", default=0)
        count = options.non_negative_int(query.get("count"), "count", default=50)
        count = min(count, MAX_LIST_COUNT)
        session_id = query.get("sessionId")
        with self.lock:
            matching = [a for a in self.archives.values() if session_id in (None, "", a.session_id)]
            matching.sort(key=lambda a: a.created_at, reverse=True)
            items = [self.archive_json(a, base_url) for a in matching[offset : offset + count]]
        return {"count": len(matching), "items": items}

    def delete_archive(self, archive_id: str) -> None:
        with self.lock:
            archive = self._archive(archive_id)
            if archive.status not in DELETABLE:
                raise ApiError(
                    409, "Conflict. Only an archive that is available or uploaded can be deleted."
                )
            del self.archives[archive_id]

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
        with self.lock:
            archive = self._archive(archive_id)
            archive.file, archive.size = path, path.stat().st_size

    def archive_json(self, archive: Archive, base_url: str | None = None) -> dict:
        """The archive exactly as OpenTok's REST API describes it."""
        project = int(self.api_key) if self.api_key.isdigit() else self.api_key
        return {
            "id": archive.id,
            "status": archive.status,
            "name": archive.name,
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
            "reason": archive.reason,
            "url": self._download_url(archive, base_url or self.base_url),
            "streams": [],
        }

    def _download_url(self, archive: Archive, base_url: str) -> str | None:
        if archive.status != "available":
            return None
        expires = int(time.time()) + DOWNLOAD_LINK_SECONDS
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
