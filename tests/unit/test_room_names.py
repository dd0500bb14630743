"""Room names (validation.room_name, which GET /room/{name} applies before anything else in
functions/room/app.py): 1-64 letters, digits, '.', '_' or '-', beginning with a letter or digit.

The bad names are those tests/stack/test_rooms.py once deployed a stack for; it keeps one, which
shows through the deployed route that a refused name makes no OpenTok call and no room. Here
the room route is asked in this process as API Gateway asks it (tests/unit/routes.py).
"""

import pytest

from backend import validation
from backend.errors import BadRequest
from tests.support.routes import Project, ask

# tests/stack/test_rooms.py's, "a slash" apart (below).
REACHING_THE_ROUTE = {
    "dot dot": "..",
    "a leading dash": "-lead",
    "65 characters": "x" * 65,
    "a space": "sp ace",
    "letters beyond ASCII": "ünï",
}
BAD_NAMES = {
    **REACHING_THE_ROUTE,
    "a slash": "a/b",
    "a leading dot": ".hidden",
    "a trailing newline": "standup\n",
    "empty": "",
}
ALLOWED = (
    "room name must be 1-64 letters, digits, '.', '_' or '-', beginning with a letter or digit"
)


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_a_bad_room_name_is_refused_saying_what_is_allowed(name: str) -> None:
    with pytest.raises(BadRequest) as refused:
        validation.room_name(name)
    assert refused.value.status == 400
    assert refused.value.message == ALLOWED


@pytest.mark.parametrize("name", REACHING_THE_ROUTE.values(), ids=REACHING_THE_ROUTE.keys())
def test_the_room_route_answers_a_bad_name_with_that_400(project: Project, name: str) -> None:
    status, answer = ask("room", "GET", f"/room/{name}", headers={"x-host-key": project.host_key})
    assert (status, answer) == (400, {"error": ALLOWED})


# What a participant may name in `host` control is an invite, `<room>.<22 characters>`
# (backend.rooms); a name of another shape is no room, with the 404 of a room nobody made,
# told before the table is read (the unit layer's functions name none).
CODE = "A" * 22
NO_SUCH_ROOM = "no such room: ask the host for the room's participant link"
NOT_INVITES = {
    "a room's name": "standup",
    "the default room": "session",
    "65 characters": "x" * 65,
    "a code too short": "standup." + CODE[:21],
    "a code too long": "standup." + CODE + "A",
    "a code cut by a dot": "standup." + CODE[:11] + "." + CODE[:10],
}


@pytest.mark.parametrize("name", NOT_INVITES.values(), ids=NOT_INVITES.keys())
def test_a_participant_naming_no_invite_is_told_there_is_no_such_room(
    project: Project, name: str
) -> None:
    status, answer = ask("room", "GET", f"/room/{name}")
    assert (status, answer) == (404, {"error": NO_SUCH_ROOM})


@pytest.mark.parametrize("name", ["..", "-lead", "sp ace", "ünï", "x" * 88, "." + CODE])
def test_a_participant_naming_what_no_link_holds_is_told_what_is_allowed(
    project: Project, name: str
) -> None:
    status, answer = ask("room", "GET", f"/room/{name}")
    assert (status, answer) == (400, {"error": ALLOWED})


def test_a_name_with_a_slash_is_no_room_at_all(project: Project) -> None:
    """A path parameter is one segment: neither API Gateway nor the function's router takes
    `a/b` for a room name; the route answers 404 (tests/stack/test_rooms.py took 400 or 404)."""
    status, answer = ask("room", "GET", "/room/a/b")
    assert status == 404
    assert answer["error"]


@pytest.mark.parametrize(
    "name", ["standup", "a", "x" * 64, "Team.Retro_2024-01", "9lives", "session"]
)
def test_a_good_room_name_is_taken_as_it_is(name: str) -> None:
    assert validation.room_name(name) == name


def test_a_name_that_is_not_text_is_refused() -> None:
    with pytest.raises(BadRequest, match="room name"):
        validation.room_name(None)
