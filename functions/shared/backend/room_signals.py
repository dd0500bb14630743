"""What a room hears of its recordings: an OpenTok signal to the archive's session.

Pages in the room listen for `signal:archive` and show a recording as ready, failed or deleted
the moment it is, with no request of their own. The signal follows what it announces, once that
is stored, and is a courtesy to whoever is still there: one that fails (OpenTok's 404 when nobody
is connected any more, the usual case, or any OpenTok, network or credentials error) is logged
and counted as `RoomSignalsFailed`, never raised, and waits at most SIGNAL_TIMEOUT_SECONDS.

Sent over OpenTok's REST API as the SDK would send it (opentok_rest), without loading the SDK:
the functions that make recordings ready announce every one, and need OpenTok for nothing else.
"""

import json
from typing import Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from backend import archives, config, opentok_rest

logger = Logger(child=True)
metrics = Metrics()  # Powertools' metrics are one set per function, flushed by its handler

SIGNAL_TYPE = "archive"
SIGNAL_TIMEOUT_SECONDS = 2.0
NOBODY_CONNECTED = 404  # OpenTok's answer once everyone has left the session (contract §10)

State = Literal["ready", "failed", "deleted"]


def signal_data(archive_id: str, state: State) -> str:
    """The signal's data, a few dozen bytes of JSON: OpenTok takes up to 8 kB (contract §10)."""
    return json.dumps({"archiveId": archive_id, "state": state}, separators=(",", ":"))


def announce(archive: dict[str, Any], state: State) -> bool:
    """Tells the archive's room that it is `state`; True if OpenTok took the signal."""
    session_id = archive.get("sessionId")
    if not session_id:
        return False
    payload = {"type": SIGNAL_TYPE, "data": signal_data(archive["id"], state)}
    timeout = min(config.OPENTOK_TIMEOUT_SECONDS, SIGNAL_TIMEOUT_SECONDS)
    try:
        opentok_rest.post_json(f"/session/{session_id}/signal", payload, timeout)
    except Exception as error:  # noqa: BLE001 - nothing a signal meets may undo what it tells
        status = error.status if isinstance(error, opentok_rest.Refused) else None
        _missed(archive, state, type(error).__name__, status)
        return False
    return True


def announce_failure(archive: dict[str, Any]) -> bool:
    """Tells the archive's room that it failed, once, whoever finds it failed first; True if
    this call told it and OpenTok took the signal."""
    try:
        claimed = archives.claim_failure_news(archive["id"])
    except Exception as error:  # noqa: BLE001 - as a signal, its claim undoes nothing it tells
        _missed(archive, "failed", type(error).__name__)
        return False
    return claimed and announce(archive, "failed")


def _missed(archive: dict[str, Any], state: State, reason: str, status: int | None = None) -> None:
    log = logger.info if status == NOBODY_CONNECTED else logger.warning
    log(
        "the room was not told of its recording",
        extra={"archive_id": archive["id"], "state": state, "status": status, "reason": reason},
    )
    metrics.add_metric(name="RoomSignalsFailed", unit=MetricUnit.Count, value=1)
