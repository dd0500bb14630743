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

MAX_PARTS = 100_000  # 27 hours of one-second chunks: a page that sends more is broken
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
    last: int | None = None  # the number of its final part, once known

    @property
    def complete(self) -> bool:
        return self.last is not None and self.parts >= set(range(self.last + 1))

    def covers(self, moment: float) -> bool:
        """Whether what the page recorded up to `moment` has arrived."""
        return self.complete or self.updated_at > moment

    def webm(self) -> Path:
        """The take's parts joined in order, as far as they go without a gap: a new file beside
        the take's folder, for the caller to delete (two archives may read one take at once,
        and the take may be forgotten while it is read)."""
        path = self.folder.with_name(f"joined-{uuid.uuid4().hex}.webm")
        with path.open("wb") as joined:
            number = 0
            while number in self.parts:
                with (self.folder / f"{number:06d}.part").open("rb") as part:
                    shutil.copyfileobj(part, joined)
                number += 1
        return path


class Captures:
    """Every take the pages have sent, by stream."""

    def __init__(self) -> None:
        self._root = Path(tempfile.mkdtemp(prefix="opentok-emulator-media-"))
        self._lock = threading.Lock()
        self._takes: dict[tuple[str, str], Take] = {}

    def receive(
        self, stream_id: str, take_id: str, number: int, last: bool, body: bytes, now: float
    ) -> None:
        """Part `number` of a take; ValueError carries a message fit for a 400."""
        if not take_id.isalnum() or len(take_id) > 64:
            raise ValueError("take must be letters and digits, at most 64.")
        if not 0 <= number < MAX_PARTS:
            raise ValueError(f"part must be a number from 0 to {MAX_PARTS - 1}.")
        with self._lock:
            take = self._takes.get((stream_id, take_id))
            if take is None:
                folder = self._root / f"{stream_id}-{take_id}"
                folder.mkdir(exist_ok=True)
                take = Take(stream_id, take_id, folder, now, now)
                self._takes[(stream_id, take_id)] = take
            (take.folder / f"{number:06d}.part").write_bytes(body)
            take.parts.add(number)
            take.updated_at = now
            if last:
                take.last = number

    def best_take(self, stream_id: str, start: float, stop: float) -> Take | None:
        """The stream's take that overlaps [start, stop] the most (OpenTok seconds)."""
        with self._lock:
            takes = [t for t in self._takes.values() if t.stream_id == stream_id]

        def overlap(take: Take) -> float:
            end = stop if take.last is None else min(take.updated_at, stop)
            return min(end, stop) - max(take.started_at, start)

        takes = [take for take in takes if overlap(take) > 0]
        return max(takes, key=overlap, default=None)

    def forget(self, stream_ids: set[str]) -> None:
        """Drop the takes of streams nothing will record any more."""
        with self._lock:
            gone = [key for key in self._takes if key[0] in stream_ids]
            for key in gone:
                shutil.rmtree(self._takes.pop(key).folder, ignore_errors=True)

    def close(self) -> None:
        with self._lock:
            self._takes.clear()
        shutil.rmtree(self._root, ignore_errors=True)
