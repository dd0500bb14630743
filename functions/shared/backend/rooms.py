"""Rooms: a name that people share, mapped to the one OpenTok session that serves it."""

import time
from collections.abc import Callable

import opentok

from backend import api, config, opentok_client, table
from backend.archives import now_ms


def session_id(room: str, create_session: Callable[[], str]) -> tuple[str, bool]:
    """The room's session id, creating the session on the room's first request; and whether
    this request created it (the page then says nobody else can be there yet).

    Two first requests may race: both create a session, one write wins, and the loser
    answers with the winner's session so that everyone ends up in the same room.
    """
    pk = f"room#{room}"
    existing = table.get(pk)
    if existing:
        return existing["sessionId"], False
    created = create_session()
    try:
        table.put_new({"pk": pk, "room": room, "sessionId": created, "createdAt": now_ms()})
    except table.ConditionFailed:
        winner = table.get(pk)
        if winner is None:
            raise
        return winner["sessionId"], False
    return created, True


def answer(joined: dict[str, str]) -> api.Response:
    """The join as an HTTP answer that no cache keeps: it holds a token, a host's maybe."""
    headers = {"Cache-Control": "no-store", "Vary": "X-Host-Key"}
    return api.json_response(200, joined, headers)


def join(room: str, *, host: bool = False) -> dict[str, str | bool]:
    """What a page needs to join the room:
    `{apiKey, sessionId, token, role, archiveControl, archiveMode, created,
    continueAfterLimit}`; `created` is true for the request that made the room (a mistyped
    name makes a new, empty one).

    Hosts get a moderator token, which also lets them start and stop the room's recording;
    everyone else a publisher token. In archiveMode `always` the room records by itself, and
    nobody starts or stops it. With continueAfterLimit, a recording OpenTok stops at its
    4-hour limit goes on in a next part (archive_parts), which the page says in its warning.
    """
    client = opentok_client.client()

    def create_session() -> str:
        with opentok_client.calling_opentok("create the room's session"):
            session = client.create_session(
                media_mode=opentok.MediaModes.routed,
                archive_mode=opentok.ArchiveModes(config.ARCHIVE_MODE),
            )
        return session.session_id

    session, created = session_id(room, create_session)
    role = opentok.Roles.moderator if host else opentok.Roles.publisher
    token = client.generate_token(
        session, role=role, expire_time=int(time.time()) + config.TOKEN_TTL_SECONDS
    )
    return {
        "apiKey": client.api_key,
        "sessionId": session,
        "token": token,
        "role": role.value,
        "archiveControl": config.ARCHIVE_CONTROL,
        "archiveMode": config.ARCHIVE_MODE,
        "created": created,
        "continueAfterLimit": config.CONTINUE_AFTER_LIMIT and config.ARCHIVE_MODE != "always",
    }
