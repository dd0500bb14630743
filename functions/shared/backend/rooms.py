"""Rooms: a name that people share, mapped to the one OpenTok session that serves it.

With ArchiveControl `host`, a room exists once a host made it, and participants join by the
room's invite: `<room>.<code>`, the code 128 random bits kept in the room's item. A room name
is short and human (the default room is `session`), so it is no secret; the invite is. A
stranger asking for a room by its name, a wrong code or a room nobody made gets one and the
same 404. With `open`, anyone makes and joins a room by its name, as in the sample.
"""

import hmac
import re
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import opentok

from backend import api, config, opentok_client, table, validation
from backend.archives import now_ms
from backend.errors import BadRequest, NotFound

INVITE_CODE_BYTES = 16
_INVITE_CODE = re.compile(r"[A-Za-z0-9_-]{22}")  # 16 bytes in URL-safe base64, unpadded
NOT_A_ROOM = "no such room: ask the host for the room's participant link"


def made(room: str, create_session: Callable[[], str]) -> tuple[dict[str, Any], bool]:
    """The room's item, creating its session on the room's first request; and whether this
    request created it (the page then says nobody else can be there yet). In `host` control
    the item holds the room's invite code, added to a room made before there were invites.

    Two first requests may race: both create a session, one write wins, and the loser
    answers with the winner's session so that everyone ends up in the same room.
    """
    pk = f"room#{room}"
    existing = table.get(pk)
    if existing:
        return _with_invite(existing), False
    item = {"pk": pk, "room": room, "sessionId": create_session(), "createdAt": now_ms()}
    if config.ARCHIVE_CONTROL == "host":
        item["invite"] = secrets.token_urlsafe(INVITE_CODE_BYTES)
    try:
        table.put_new(item)
    except table.ConditionFailed:
        winner = table.get(pk)
        if winner is None:
            raise
        return _with_invite(winner), False
    return item, True


def _with_invite(item: dict[str, Any]) -> dict[str, Any]:
    if config.ARCHIVE_CONTROL != "host" or "invite" in item:
        return item
    # A room made in `open` control, or before invites: its first code, once, whoever asks.
    return table.update(
        item["pk"],
        "SET invite = if_not_exists(invite, :code)",
        "attribute_exists(pk)",
        {":code": secrets.token_urlsafe(INVITE_CODE_BYTES)},
        {},
    )


def invited(invite: str) -> dict[str, Any]:
    """The item of the room this invite opens; NotFound, the same for every reason, if none."""
    room, _, code = invite.rpartition(".")
    if not _INVITE_CODE.fullmatch(code):
        raise NotFound(NOT_A_ROOM)
    try:
        validation.room_name(room)
    except BadRequest:
        raise NotFound(NOT_A_ROOM) from None
    item = table.get(f"room#{room}")
    # Constant time: how long a refusal takes says nothing of how close a guess came.
    if item is None or not hmac.compare_digest(str(item.get("invite", "")), code):
        raise NotFound(NOT_A_ROOM)
    return item


def answer(joined: dict[str, str]) -> api.Response:
    """The join as an HTTP answer that no cache keeps: it holds a token, a host's maybe."""
    headers = {"Cache-Control": "no-store", "Vary": "X-Host-Key"}
    return api.json_response(200, joined, headers)


def join(name: str, *, host: bool = False, who: str | None = None) -> dict[str, str | bool]:
    """What a page needs to join the room of that name (a participant's invite in `host`
    control): `{apiKey, sessionId, token, role, archiveControl, archiveMode, created,
    continueAfterLimit, room}`, and the room's `invite` for a host in `host` control; `room`
    is the name to show. `created` is true for the request that made the room (a mistyped
    name makes a new, empty one). `who`, the name the page shows for its person, goes into
    the token's connection data (`name=...`), which OpenTok writes into an individual
    archive's manifest: each stream's player is then named as in the call.

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

    if config.ARCHIVE_CONTROL == "host" and not host:
        room, created = invited(name), False
    else:
        room, created = made(name, create_session)
    role = opentok.Roles.moderator if host else opentok.Roles.publisher
    token = client.generate_token(
        room["sessionId"],
        role=role,
        expire_time=int(time.time()) + config.TOKEN_TTL_SECONDS,
        data=urlencode({"name": who}) if who else None,
    )
    joined: dict[str, str | bool] = {
        "apiKey": client.api_key,
        "sessionId": room["sessionId"],
        "token": token,
        "role": role.value,
        "archiveControl": config.ARCHIVE_CONTROL,
        "archiveMode": config.ARCHIVE_MODE,
        "created": created,
        "continueAfterLimit": config.CONTINUE_AFTER_LIMIT and config.ARCHIVE_MODE != "always",
        "room": room["room"],
    }
    if host and config.ARCHIVE_CONTROL == "host" and "invite" in room:
        joined["invite"] = f"{room['room']}.{room['invite']}"
    return joined
