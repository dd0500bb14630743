"""Starting an archive through the SDK, and what OpenTok's refusals of a start mean.

Shared by the start route and by the next part of a recording OpenTok stopped at its 4-hour
limit (archive_parts). Imports the OpenTok SDK: only functions that start archives import it.
"""

from typing import Any

import opentok

from backend.errors import Conflict

NOBODY_CONNECTED = (
    "nobody is connected to the session yet (OpenTok says the same of a session it does not"
    " know): join the session first, then start recording"
)
RELAYED = "the session is relayed (peer-to-peer): OpenTok records only routed sessions"


def start(opentok_client: opentok.Client, options: dict[str, Any]) -> opentok.Archive | None:
    """The started archive, or None when the session is being recorded already.

    Raises Conflict(NOBODY_CONNECTED) or Conflict(RELAYED) for what OpenTok cannot record.
    The SDK passes on little of OpenTok's refusals (contract §5), so they are told apart by
    what is left: a 404 becomes NotFoundError("Session not found") without OpenTok's body, and
    means nobody connected as much as an unknown session; older answers gave a 400 with
    "No clients are actively connected" (RequestError with that message). A 409 becomes
    ArchiveError with OpenTok's message but not its code, and only the message tells a relayed
    session (15008, "Only routed sessions...") from one recorded already (15001).
    """
    try:
        return opentok_client.start_archive(**options)
    except opentok.exceptions.NotFoundError:
        raise Conflict(NOBODY_CONNECTED) from None
    except opentok.exceptions.ArchiveError as error:
        message = str(error).lower()
        if "routed" in message or "relayed" in message or "media router" in message:
            raise Conflict(RELAYED) from None
        return None
    except opentok.exceptions.RequestError as error:
        message = str(error.args[0] if error.args else "").lower()
        if len(error.args) < 2 and "clients" in message and "connected" in message:
            raise Conflict(NOBODY_CONNECTED) from None
        raise
