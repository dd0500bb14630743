"""Contract §5: the statuses and bodies OpenTok answers when it refuses an archive call.

Through plain HTTP (the body as OpenTok sends it) and through the real SDK (what the backend
is left with: PY 3.15.0 keeps the message of some answers and drops others).
"""

from __future__ import annotations

import uuid

import opentok
import pytest
import requests
from opentok.exceptions import ArchiveError, NotFoundError

from local.opentok import auth as emulator_auth
from tests.support.opentok import (
    KEY,
    archive_url,
    join,
    join_publishing,
    project_headers,
    routed_session,
    wait_status,
)

NO_SESSION = (
    "The session does not exist, or the session exists but there are no clients connected to it."
)
UNKNOWN_ARCHIVE = "Not found. You passed in an invalid archive ID."


def _start(emu, session_id: str, **fields) -> requests.Response:
    return requests.post(
        archive_url(emu), json={"sessionId": session_id, **fields}, headers=project_headers()
    )


def _stop(emu, archive_id: str) -> requests.Response:
    return requests.post(archive_url(emu, f"/{archive_id}/stop"), headers=project_headers())


def _delete(emu, archive_id: str) -> requests.Response:
    return requests.delete(archive_url(emu, f"/{archive_id}"), headers=project_headers())


def _get(emu, archive_id: str) -> requests.Response:
    return requests.get(archive_url(emu, f"/{archive_id}"), headers=project_headers())


def _error(response: requests.Response) -> tuple[int, int, str]:
    body = response.json()
    assert set(body) == {"code", "message", "description"}
    return response.status_code, body["code"], body["message"]


# Start


def test_start_with_nobody_connected_is_404_with_specs_message(emu, ot):
    """§5 start 404: "The session does not exist, or the session exists but there are no clients
    connected to it." (SPEC `definitions/video.yml`, start 404). The older 400 reading is the
    product's to accept too (§5 [conflict]); the SDK drops this body (PY `start_archive`)."""
    lonely = routed_session(ot)

    answer = _start(emu, lonely)

    assert _error(answer) == (404, -1, NO_SESSION)
    with pytest.raises(NotFoundError, match="Session not found"):
        ot.start_archive(lonely)


def test_start_of_a_session_opentok_does_not_know_is_the_same_404(emu, ot):
    """§5 start 404 (SPEC): an unknown session and an empty one get one answer."""
    unknown = emulator_auth.new_session_id(KEY)

    assert _error(_start(emu, unknown)) == (404, -1, NO_SESSION)


@pytest.mark.parametrize("session_id", ["not a session id", "2_", 42])
def test_start_with_an_invalid_session_id_is_400(emu, session_id):
    """§5 start 400: missing or invalid `sessionId` (SPEC start 400, "Missing Session ID")."""
    status, code, message = _error(_start(emu, session_id))

    assert (status, code) == (400, -1)
    assert "session ID" in message


def test_start_without_a_session_id_is_400(emu):
    """§5 start 400: missing `sessionId` (SPEC start 400, "Missing Session ID")."""
    answer = requests.post(archive_url(emu), json={}, headers=project_headers())

    assert _error(answer)[:2] == (400, -1)


def test_start_with_a_body_that_is_not_json_is_400(emu):
    """§5 start 400: invalid JSON (SPEC start 400; REST)."""
    answer = requests.post(
        archive_url(emu),
        data=b"{not json",
        headers={**project_headers(), "Content-Type": "application/json"},
    )

    assert _error(answer)[:2] == (400, -1)


def test_start_in_a_relayed_session_is_409_code_15008(emu, ot):
    """§5 start 409 relayed: `{"code":15008,"message":"Only routed sessions are allowed to
    initiate archives."}` as the live API answered it (opentok/OpenTok-PHP-SDK issue #243).
    The SDK keeps the message in its ArchiveError (PY `start_archive`, 409)."""
    relayed = ot.create_session().session_id
    join(emu, ot, relayed)

    answer = _start(emu, relayed)

    assert _error(answer) == (409, 15008, "Only routed sessions are allowed to initiate archives.")
    with pytest.raises(ArchiveError, match="routed"):
        ot.start_archive(relayed)
    assert ot.get_archives(session_id=relayed).count == 0


def test_start_while_recording_is_409_code_15001_unless_the_tag_is_new(emu, ot):
    """§5 start 409: already recorded without `multiArchiveTag`, or with a tag in use (SPEC
    start 409; https://developer.vonage.com/en/api/video `multiArchiveTag`); code 15001 as a
    2020 report shows it (opentok/opentok-react-native issue #427)."""
    busy = routed_session(ot)
    # Publishing: an archive nobody publishes to stops a minute after its start (§6), 0.2 s
    # here, which a loaded machine may spend before the next start.
    join_publishing(emu, ot, busy)
    first = ot.start_archive(busy)

    untagged = _start(emu, busy)
    tagged = _start(emu, busy, multiArchiveTag="second")
    same_tag = _start(emu, busy, multiArchiveTag="second")

    assert _error(untagged)[:2] == (409, 15001)
    assert tagged.status_code == 200
    assert _error(same_tag)[:2] == (409, 15001)
    with pytest.raises(ArchiveError):
        ot.start_archive(busy)
    assert {a.id for a in ot.get_archives(session_id=busy)} == {first.id, tagged.json()["id"]}


def test_a_manual_start_without_tag_in_an_always_session_is_409(emu, ot):
    """§5 start 409: "also: manual start in an `always` session without a tag" (SPEC; Vonage
    API reference, `multiArchiveTag`), whether or not the automatic archive runs yet."""
    always = routed_session(ot, archive_mode=opentok.ArchiveModes.always)
    join(emu, ot, always)

    untagged = _start(emu, always)
    tagged = _start(emu, always, multiArchiveTag="by-hand")

    assert _error(untagged)[:2] == (409, 15001)
    assert tagged.status_code == 200


# Stop


def test_stop_of_an_archive_not_recording_is_409_code_15002(emu, ot):
    """§5 stop 409: `{"code":15002,"message":"You can only stop an archive that has one of the
    following statuses: started OR paused OR stopped"}` (VPY `stop_archive_error.json`).
    Stopping twice (§5 [conflict]) is answered so here, as SPEC and every SDK call it; the
    backend takes a 200 just as well. The SDK words it itself (PY `stop_archive`)."""
    session_id = routed_session(ot)
    join(emu, ot, session_id)
    archive = ot.start_archive(session_id)
    ot.stop_archive(archive.id)

    status, code, message = _error(_stop(emu, archive.id))

    assert (status, code) == (409, 15002)
    assert message.startswith("You can only stop an archive that has one of the following")
    with pytest.raises(ArchiveError, match="not in started state"):
        ot.stop_archive(archive.id)


def test_stop_of_an_invalid_id_is_400_and_of_an_unknown_one_404_with_nodes_body(emu, ot):
    """§5 stop 400 / 404 (SPEC stop 400 and 404); the 404's body as NODE's fixture has it:
    `{"code":-1,"message":"Not found. You passed in an invalid archive ID."}` (opentok/opentok-node
    `test/archiving-test.js`)."""
    invalid = _stop(emu, "AN-INVALID-ARCHIVE-ID")
    unknown = _stop(emu, str(uuid.uuid4()))

    assert _error(invalid)[:2] == (400, -1)
    assert _error(unknown) == (404, -1, UNKNOWN_ARCHIVE)
    with pytest.raises(NotFoundError):
        ot.stop_archive(str(uuid.uuid4()))


def test_stop_of_an_automatic_archive_changes_nothing_unverified(emu, ot):
    """§4 stop automatic archive: "no effect" (SPEC `stop-archive` description); the answer is
    [unverified]. Taken as a 200 with the archive as it stands, still `started`: SPEC gives no
    error status for it (its 409 is "an archive that was not being recorded", and this one is),
    and "no effect" describes a call that succeeds without changing anything."""
    always = routed_session(ot, archive_mode=opentok.ArchiveModes.always)
    connection = join(emu, ot, always)
    requests.post(f"{emu.url}/_emulator/connections/{connection}/streams", json={"name": "me"})
    [automatic] = ot.get_archives(session_id=always)

    answer = _stop(emu, automatic.id)

    assert answer.status_code == 200
    assert (answer.json()["id"], answer.json()["status"]) == (automatic.id, "started")
    assert answer.json()["reason"] == ""
    assert ot.get_archive(automatic.id).status == "started"


# Get


def test_get_of_an_invalid_id_is_400_and_of_an_unknown_one_404(emu, ot):
    """§5 get 400 / 404: invalid / unknown archive id (SPEC get 400; NODE; PY maps 404 to
    NotFoundError), the 404 with the stop's body."""
    assert _error(_get(emu, "not-an-archive"))[:2] == (400, -1)
    assert _error(_get(emu, str(uuid.uuid4()))) == (404, -1, UNKNOWN_ARCHIVE)
    with pytest.raises(NotFoundError):
        ot.get_archive(str(uuid.uuid4()))


# Delete


def test_delete_is_409_code_15004_unless_uploaded_available_or_deleted(emu, ot):
    """§5 delete 409: `{"code":15004,"message":"You can only delete an archive that has one of
    the following statuses: available OR uploaded OR deleted"}` (VPY
    `delete_archive_error.json`), here for `started` and `stopped`."""
    emu.state.processing_delay = 30  # stays `stopped` for the whole test
    session_id = routed_session(ot)
    join(emu, ot, session_id)
    archive = ot.start_archive(session_id)

    while_recording = _delete(emu, archive.id)
    ot.stop_archive(archive.id)
    while_stopped = _delete(emu, archive.id)

    for refused in (while_recording, while_stopped):
        status, code, message = _error(refused)
        assert (status, code) == (409, 15004)
        assert message.endswith("available OR uploaded OR deleted")
    assert ot.get_archive(archive.id).status == "stopped"


def test_delete_answers_204_with_no_body_and_again_204(emu, ot):
    """§4 delete: 204, empty body (RUBY `should_delete_an_archive_by_id.yml`); a deleted archive
    counts as deletable (VPY 15004's list), so deleting it again is another 204."""
    session_id = routed_session(ot)
    join(emu, ot, session_id)
    archive = ot.start_archive(session_id)
    ot.stop_archive(archive.id)
    wait_status(emu, ot, archive.id, "available")

    first = _delete(emu, archive.id)
    again = _delete(emu, archive.id)

    assert (first.status_code, first.content) == (204, b"")
    assert (again.status_code, again.content) == (204, b"")
    ot.delete_archive(archive.id)  # the SDK takes it as well


def test_get_of_a_deleted_archive_answers_it_as_deleted_unverified(emu, ot):
    """[unverified] What GET answers for a deleted archive. Taken as a 200 with `status: deleted`
    and no link: delete finds a deleted archive by its id (VPY 15004 lists `deleted`), so
    OpenTok still holds it; SPEC's enum lacks `deleted`, and the backend takes a 404 as well."""
    session_id = routed_session(ot)
    join(emu, ot, session_id)
    archive = ot.start_archive(session_id)
    ot.stop_archive(archive.id)
    available = wait_status(emu, ot, archive.id, "available")

    _delete(emu, archive.id)
    answer = _get(emu, archive.id)

    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["url"]) == ("deleted", None)
    assert requests.get(available.url).status_code == 404  # OpenTok's file is gone


def test_delete_of_a_failed_archive_is_409_unverified(emu, ot):
    """§5 delete 409 for `failed` [unverified for failed]: 15004's list does not name it
    (VPY `delete_archive_error.json`)."""
    session_id = routed_session(ot)
    join(emu, ot, session_id)
    archive = ot.start_archive(session_id)
    with emu.state.lock:
        emu.state.archives[archive.id].set_status("failed", "failure")

    assert _error(_delete(emu, archive.id))[:2] == (409, 15004)


def test_delete_of_an_unknown_archive_is_404(emu, ot):
    """§5 delete unknown id: 404 or 403 [conflict]; 404 here, as PY maps it (`delete_archive`)
    and as get and stop answer. The backend checks ids itself before calling."""
    assert _error(_delete(emu, str(uuid.uuid4()))) == (404, -1, UNKNOWN_ARCHIVE)
    with pytest.raises(NotFoundError):
        ot.delete_archive(str(uuid.uuid4()))
