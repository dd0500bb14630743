"""What the pages publish, as they send it: the media each stream's page records while an
archive of its session records (the stand-in OpenTok.js posts MediaRecorder chunks).

A take is one MediaRecorder run of one stream: its chunks, in order, make one WebM. It starts
when the page says so (its first, empty part) and is complete once its last part is in. The
files live on disk, a part at a time, so a long call costs disk, not memory.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

CHUNK_SECONDS = 1.0  # how much a page records per part (opentok.js's CAPTURE_CHUNK_MS)
MAX_PARTS = 100_000  # 27 hours of one-second chunks: a page that sends more is broken
# OpenTok records 4 hours at most (contract §6); at the stand-in's 600 kbit/s and its sound
# that is about 1.2 GB, so a take this large is a page gone wrong, not a recording.
MAX_TAKE_BYTES = 2 * 1024**3
# How long after a recording stops its processing waits for the pages' last chunks; a page that
# went away meanwhile leaves its take where it ended.
LAST_PART_WAIT = 5.0


@dataclass
class Take:
    stream_id: str
    take_id: str
    folder: Path
    started_at: float  # OpenTok seconds (the emulator's clock) when its first part arrived
    updated_at: float  # when its latest part arrived
    parts: set[int] = field(default_factory=set)
    size: int = 0  # bytes received
    last: int | None = None  # the number of its final part, once known

    @property
    def complete(self) -> bool:
        return self.last is not None and self.parts >= set(range(self.last + 1))

    def covers(self, moment: float) -> bool:
        """Whether a part has arrived after `moment` (then what was recorded until it came
        with it), or the last one has."""
        return self.complete or self.updated_at > moment


class TakeTooLarge(Exception):
    """A page sent more of one take than any recording holds."""


class Captures:
    """Every take the pages have sent, by stream."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="opentok-emulator-media-"))
        self._lock = threading.Lock()
        self._takes: dict[tuple[str, str], Take] = {}
        # Takes dropped once nothing would record them: a part still on its way is not a new one.
        self._forgotten: set[tuple[str, str]] = set()

    def receive(
        self, stream_id: str, take_id: str, number: int, last: bool, body: bytes, now: float
    ) -> None:
        """Part `number` of a take; ValueError carries a message fit for a 400, TakeTooLarge
        one for a 413."""
        if not take_id.isalnum() or len(take_id) > 64:
            raise ValueError("take must be letters and digits, at most 64.")
        if not 0 <= number < MAX_PARTS:
            raise ValueError(f"part must be a number from 0 to {MAX_PARTS - 1}.")
        with self._lock:
            if (stream_id, take_id) in self._forgotten:
                return
            take = self._takes.get((stream_id, take_id))
            if take is None:
                folder = self.root / f"{stream_id}-{take_id}"
                folder.mkdir(exist_ok=True)
                take = Take(stream_id, take_id, folder, now, now)
                self._takes[(stream_id, take_id)] = take
            if take.size + len(body) > MAX_TAKE_BYTES:
                raise TakeTooLarge(f"A take holds at most {MAX_TAKE_BYTES} bytes.")
            (take.folder / f"{number:06d}.part").write_bytes(body)
            take.size += len(body)
            take.parts.add(number)
            take.updated_at = now
            if last:
                take.last = max(number, take.last or 0)

    def best_take(self, stream_id: str, start: float, stop: float) -> Take | None:
        """The stream's take that overlaps [start, stop] the most (OpenTok seconds), by what
        arrived of it: a take its page stopped sending ends at its latest part."""
        with self._lock:
            takes = [t for t in self._takes.values() if t.stream_id == stream_id and t.size]

        def overlap(take: Take) -> float:
            return min(take.updated_at, stop) - max(take.started_at, start)

        takes = [take for take in takes if overlap(take) > 0]
        return max(takes, key=overlap, default=None)

    def keep_only(self, stream_ids: set[str]) -> None:
        """Drop the takes of every other stream: nothing will record them any more (a stream
        recorded again later is recorded in a take of its own)."""
        with self._lock:
            gone = [key for key in self._takes if key[0] not in stream_ids]
            for key in gone:
                shutil.rmtree(self._takes.pop(key).folder, ignore_errors=True)
                self._forgotten.add(key)

    def join(self, take: Take | None) -> Path | None:
        """The take's parts joined in order, as far as they go without a gap: a new file beside
        the takes' folders, for the caller to delete (two archives may read one take at once,
        and a take may be forgotten while it is read). None for no take, or one gone."""
        if take is None:
            return None
        with self._lock:
            numbers = []
            while len(numbers) in take.parts:
                numbers.append(len(numbers))
        path = self.root / f"joined-{uuid.uuid4().hex}.webm"
        try:
            with path.open("wb") as joined:
                for number in numbers:
                    with (take.folder / f"{number:06d}.part").open("rb") as part:
                        shutil.copyfileobj(part, joined)
        except OSError:
            path.unlink(missing_ok=True)
            return None
        return path

    def __len__(self) -> int:
        """How many takes are held."""
        with self._lock:
            return len(self._takes)

    def close(self) -> None:
        with self._lock:
            self._takes.clear()
        shutil.rmtree(self.root, ignore_errors=True)
