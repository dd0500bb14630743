"""OpenTok's clock and the limits it enforces on a recording archive (contract §6).

Times here are OpenTok seconds. The clock can run faster than real time (`time_scale` OpenTok
seconds per real second), so tests see hours-long limits in a fraction of a second.
"""

from __future__ import annotations

import time

# Contract §6 (GUIDE; SPEC `status`; SUP 10524979000860).
EMPTY_SESSION_STOP = 60.0  # stopped 60 s after the last client leaves
FIRST_PUBLISH_WINDOW = 60.0  # a client must publish within 1 minute of the start
IDLE_STOP = 3600.0  # paused (nobody publishing) for 60 min
MAX_RECORDED = 14_400.0  # 4 h recorded
MAX_TOTAL = 43_200.0  # 12 h including paused time
AVAILABLE_FOR = 72 * 3600.0  # an `available` archive expires 72 h after it was created
DOWNLOAD_LINK_SECONDS = 600.0  # download links last 10 minutes

SESSION_ENDED = "session ended"
IDLE = "maximum idle time exceeded"
TOO_LONG = "maximum duration exceeded"
USER_INITIATED = "user initiated"
FAILURE = "failure"

# A timer may wake a hair early in OpenTok time once scaled; that still counts as due.
_DUE_TOLERANCE = 1e-3


class OpenTokClock:
    """OpenTok's time: `time_scale` OpenTok seconds pass for every real second (1 = real time)."""

    def __init__(self, time_scale: float) -> None:
        if not time_scale > 0:
            raise ValueError("time_scale must be a positive number")
        self.time_scale = time_scale
        self._origin = time.monotonic()

    def now(self) -> float:
        """OpenTok seconds since the emulator started."""
        return (time.monotonic() - self._origin) * self.time_scale

    def real_seconds(self, opentok_seconds: float) -> float:
        """How long a span of OpenTok time lasts in real time."""
        return max(opentok_seconds, 0.0) / self.time_scale


def is_due(deadline: float, now: float) -> bool:
    return now + _DUE_TOLERANCE >= deadline
