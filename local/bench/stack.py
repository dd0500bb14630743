"""The harness the benchmark runs on, the events it sends and the records it makes.

Records are made as the product makes them: recordings through OpenTok (the emulator, by the
SDK), our records of them by backend.archives and backend.rooms, run here with the table's
name as the functions are given it.
"""

import json
import time
import uuid
from typing import Any

import opentok

from local.harness import Harness
from local.template import ROOT

EVENTS = ROOT / "events"
# The ids written in events/*.json, swapped for the ids of what the benchmark created.
EVENT_SESSION_ID = "1_MX40NzAwMDAwMH5-MTc2NDE1ODQwMDAwMH5leGFtcGxlLXNlc3Npb24tMDAwMX5-"
EVENT_ARCHIVE_ID = "b40ef09b-3811-4726-b508-e41a0f96c68f"
EVENT_ROOM = "standup"
# Long enough that OpenTok's timers never fire in a run: the benchmark lands recordings.
NEVER = 24 * 3600.0
RECORDING_BYTES = 1234567


def event(name: str, **ids: str) -> dict[str, Any]:
    """An event of events/ with its example ids replaced (session_id, archive_id, room), and
    a host's credentials where the event has their placeholders (token, host_key)."""
    text = (EVENTS / f"{name}.json").read_text()
    placeholders = {
        "token": "MODERATOR_TOKEN",
        "host_key": "HOST_KEY",
        "session_id": EVENT_SESSION_ID,
        "archive_id": EVENT_ARCHIVE_ID,
    }
    for given, placeholder in placeholders.items():
        if given in ids:
            text = text.replace(placeholder, ids[given])
    if "room" in ids:
        text = text.replace(f"/room/{EVENT_ROOM}", f"/room/{ids['room']}")
        text = text.replace(f'"name": "{EVENT_ROOM}"', f'"name": "{ids["room"]}"')
    return json.loads(text)


class BenchHarness(Harness):
    """The harness, with OpenTok's processing left to the benchmark and reconciling at once."""

    ready_archive = ""  # an archive whose recording is in the bucket, once made

    def __init__(self, **parameters: str) -> None:
        super().__init__(
            # Archives stopped a moment ago are the reconciler's: its runs here have work.
            parameters={"StuckAfterMinutes": "0", **parameters},
            emulator_options={"processing_delay": NEVER, "time_scale": 60 / NEVER},
            stack_name="bench",
        )

    def start(self) -> "BenchHarness":
        super().start()
        assert self.emulator is not None
        self.opentok = self.emulator
        self.sdk = opentok.Client(
            self.emulator.api_key, self.emulator.api_secret, api_url=self.emulator.url
        )
        # The product's modules, run here, write to the table the functions are given
        # (backend.table reads the name at each call).
        from backend import config

        config.TABLE_NAME = self.table
        return self

    def moderator_token(self, session_id: str) -> str:
        """What the room route gives the host: start and stop want it (ArchiveControl host)."""
        return self.sdk.generate_token(session_id, role=opentok.Roles.moderator)

    def connected_session(self) -> str:
        """A new routed session with one client in it, so that it can be recorded."""
        session_id = self.sdk.create_session(media_mode=opentok.MediaModes.routed).session_id
        self.opentok.connect(session_id, self.sdk.generate_token(session_id))
        return session_id

    def started_archive(self) -> tuple[str, str]:
        """(session id, archive id) of a recording under way, started outside our functions."""
        session_id = self.connected_session()
        return session_id, self.sdk.start_archive(session_id, name="Weekly standup").id

    def finished_archive(self) -> tuple[str, str]:
        """(session id, archive id) of a recording OpenTok has stopped and processed."""
        session_id, archive_id = self.started_archive()
        self.sdk.stop_archive(archive_id)
        self.opentok.state._process(archive_id)
        return session_id, archive_id

    def put_archive(
        self,
        archive_id: str = "",
        session_id: str = EVENT_SESSION_ID,
        created_ms: int = 0,
        status: str = "stopped",
        ready: bool = True,
    ) -> str:
        """Our record of an archive, written by backend.archives from OpenTok's fields."""
        from backend import archives

        archive_id = archive_id or str(uuid.uuid4())
        archives.record(
            {
                "id": archive_id,
                "status": status,
                "name": "Weekly standup",
                "sessionId": session_id,
                "createdAt": created_ms or int(time.time() * 1000),
                "duration": 42,
                "size": 0,
                "outputMode": "composed",
                "resolution": "640x480",
                "hasAudio": True,
                "hasVideo": True,
                "reason": None,
            }
        )
        if ready:
            archives.mark_ready(archive_id, self.recording_key(archive_id), RECORDING_BYTES)
        return archive_id

    def put_room(self, room: str, session_id: str) -> None:
        from backend import rooms

        rooms.session_id(room, lambda: session_id)

    def recording_key(self, archive_id: str) -> str:
        assert self.emulator is not None
        return f"{self.emulator.api_key}/{archive_id}/archive.mp4"

    def s3_event(self, archive_id: str) -> dict[str, Any]:
        """S3's event for the recording of `archive_id` landing in the bucket."""
        answer = event("s3_recording_uploaded")
        record = answer["Records"][0]["s3"]
        record["bucket"] |= {"name": self.bucket, "arn": f"arn:aws:s3:::{self.bucket}"}
        record["object"] |= {"key": self.recording_key(archive_id), "size": RECORDING_BYTES}
        return answer
