"""The room hears of its recordings: ready, failed or deleted reach the pages of the archive's
session as an OpenTok signal (`signal:archive`), observed here on the clients' event streams in
the emulator. A signal that cannot be sent never undoes, fails or holds up what it announces."""

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import jwt
import pytest

from tests.support.credentials import APPLICATION_ID, PRIVATE_KEY
from tests.support.opentok import EventReader
from tests.support.stack import Stack, load_event


@pytest.fixture
def readers() -> Iterator[list[EventReader]]:
    opened: list[EventReader] = []
    yield opened
    for reader in opened:
        reader.close()


def _listen(stack: Stack, readers: list[EventReader], connection_id: str) -> EventReader:
    reader = EventReader(stack.opentok, connection_id)
    readers.append(reader)
    return reader


def _room(stack: Stack, readers: list[EventReader]) -> tuple[dict, list[EventReader]]:
    """A recording under way, with the host and a participant in its room, listening."""
    archive = stack.record()
    connections = list(stack.opentok.state.sessions[archive["sessionId"]].connections)
    participant = stack.join(host=False, publish=False)["connectionId"]
    return archive, [_listen(stack, readers, c) for c in (*connections, participant)]


def _uploaded(stack: Stack, archive: dict) -> None:
    assert stack.post(f"/archive/{archive['id']}/stop").status == 200
    stack.wait_until_uploaded(archive["id"], prefix=stack.opentok.api_key)


def _told(reader: EventReader, timeout: float = 5.0) -> dict:
    signal = reader.next("signal", timeout=timeout)
    assert (signal["type"], signal["from"]) == ("archive", None)  # from the server, not a page
    return json.loads(signal["data"])


def _metrics(output: str) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        emitted = json.loads(line)
        for directive in emitted.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                found.setdefault(metric["Name"], []).extend(emitted[metric["Name"]])
    return found


def test_everyone_in_the_room_hears_that_the_recording_is_ready(
    stack: Stack, readers: list[EventReader]
) -> None:
    archive, room = _room(stack, readers)
    _uploaded(stack, archive)
    assert stack.deliver_s3_events() == 1

    for reader in room:
        assert _told(reader) == {"archiveId": archive["id"], "state": "ready"}
    assert stack.get(f"/archive/{archive['id']}").json()["ready"] is True


def _as_signed(headers: dict[str, str]) -> dict:
    """What a request's headers say of its client and signature, beyond their changing values."""
    named = {name.lower(): value for name, value in headers.items()}
    named.pop("content-length")  # the body's
    auth = "x-opentok-auth" if "x-opentok-auth" in named else "authorization"
    token = named.pop(auth).removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    return {
        "headers": named,
        "auth": auth,
        "jwt": jwt.get_unverified_header(token),
        "claims": sorted(claims),
        "issuer": [claims.get(name) for name in ("iss", "application_id", "ist")],
        "lifetime": claims["exp"] - claims["iat"],
        "nonce": _nonce_kind(claims["jti"]),
    }


def _nonce_kind(jti: str) -> str:
    try:
        return f"uuid{uuid.UUID(jti).version}"
    except ValueError:
        return "random()" if 0 <= float(jti) < 1 else jti


@pytest.mark.parametrize(
    "emulator",
    [{}, {"api_key": APPLICATION_ID, "api_secret": PRIVATE_KEY}],
    ids=["opentok", "vonage"],
    indirect=True,
)
def test_the_rooms_signal_reaches_opentok_as_the_sdks_own_would(
    stack: Stack, readers: list[EventReader]
) -> None:
    """Sent without the SDK, which MarkReady no longer loads, the signal is still the request
    of the SDK's `send_signal` (opentok 3.15.0): its client headers and its JWT's header and
    claims (HS256 `iss`/`ist`/`jti` for OpenTok credentials, RS256 `application_id` and a uuid
    `jti` for Vonage ones, 3 minutes each), on the path of contract §10."""
    archive, (reader, *_) = _room(stack, readers)
    _uploaded(stack, archive)
    assert stack.deliver_s3_events() == 1
    assert _told(reader) == {"archiveId": archive["id"], "state": "ready"}
    stack.sdk().send_signal(archive["sessionId"], {"type": "archive", "data": "{}"})
    assert _told(reader) == {}

    path = f"/v2/project/{stack.opentok.api_key}/session/{archive['sessionId']}/signal"
    ours, sdks = [h for method, p, h in stack.opentok.received if (method, p) == ("POST", path)]
    assert _as_signed(ours) == _as_signed(sdks)


def test_a_duplicate_bucket_event_tells_the_room_nothing_more(
    stack: Stack, readers: list[EventReader]
) -> None:
    archive, (reader, *_) = _room(stack, readers)
    _uploaded(stack, archive)
    stack.deliver_s3_events()
    _told(reader)
    event = load_event("s3_recording_uploaded", archive_id=archive["id"], bucket=stack.bucket)
    stack.invoke("MarkReadyFunction", event)
    with pytest.raises(TimeoutError):
        reader.next("signal", timeout=0.5)


def test_when_everyone_has_left_the_recording_is_still_ready_and_the_miss_counted(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = stack.record()
    _uploaded(stack, archive)
    session = stack.opentok.state.sessions[archive["sessionId"]]
    for connection_id in list(session.connections):
        stack.opentok.disconnect(connection_id)
    capsys.readouterr()
    assert stack.deliver_s3_events() == 1  # OpenTok's 404, "no clients", raised nothing

    assert stack.get(f"/archive/{archive['id']}").json()["ready"] is True
    output = capsys.readouterr().out
    assert _metrics(output)["RoomSignalsFailed"] == [1.0]
    assert _metrics(output)["ArchiveReady"] == [1.0]
    assert ("POST", f"/v2/project/{stack.opentok.api_key}/session/{session.session_id}/signal") in (
        stack.opentok.calls
    )


def test_a_signal_opentok_refuses_leaves_the_recording_ready_and_is_counted(
    stack: Stack, readers: list[EventReader], capsys: pytest.CaptureFixture[str]
) -> None:
    archive, (reader, *_) = _room(stack, readers)
    _uploaded(stack, archive)
    stack.opentok.faults.fail("POST", "/signal$", 503)
    capsys.readouterr()
    assert stack.deliver_s3_events() == 1

    assert stack.get(f"/archive/{archive['id']}").json()["ready"] is True
    assert _metrics(capsys.readouterr().out)["RoomSignalsFailed"] == [1.0]
    with pytest.raises(TimeoutError):
        reader.next("signal", timeout=0.3)


def test_a_signal_opentok_answers_late_holds_the_marking_up_two_seconds_at_most(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = stack.record()
    _uploaded(stack, archive)
    stack.opentok.faults.delay("POST", "/signal$", seconds=6)
    capsys.readouterr()
    began = time.monotonic()
    assert stack.deliver_s3_events() == 1

    assert time.monotonic() - began < 4  # the signal's 2 s, not OpenTok's 6 s nor the SDK's 6 s
    assert stack.get(f"/archive/{archive['id']}").json()["ready"] is True
    assert _metrics(capsys.readouterr().out)["RoomSignalsFailed"] == [1.0]


def test_the_room_hears_that_a_recording_was_deleted(
    stack: Stack, readers: list[EventReader]
) -> None:
    archive, (reader, *_) = _room(stack, readers)
    _uploaded(stack, archive)
    stack.deliver_s3_events()
    _told(reader)
    assert stack.delete(f"/archive/{archive['id']}").status == 200

    assert _told(reader) == {"archiveId": archive["id"], "state": "deleted"}


def test_the_room_hears_once_that_a_recording_failed(
    stack: Stack, readers: list[EventReader]
) -> None:
    archive = stack.failed_recording()
    session = stack.opentok.state.sessions[archive["sessionId"]]
    reader = _listen(stack, readers, next(iter(session.connections)))
    for _ in range(2):  # OpenTok may send its callback more than once
        assert stack.post("/archive/callback", {"id": archive["id"]}).status == 200

    assert _told(reader) == {"archiveId": archive["id"], "state": "failed"}
    with pytest.raises(TimeoutError):
        reader.next("signal", timeout=0.3)
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "failed"


def test_two_callbacks_at_once_tell_the_room_once_that_a_recording_failed(
    stack: Stack, readers: list[EventReader]
) -> None:
    """OpenTok may send a callback twice at once (contract §9: retried, duplicated): both read
    the archive from OpenTok, held there together, and both find it failed."""
    archive = stack.failed_recording()
    session = stack.opentok.state.sessions[archive["sessionId"]]
    reader = _listen(stack, readers, next(iter(session.connections)))
    stack.opentok.faults.delay("GET", f"/archive/{archive['id']}$", seconds=0.5, times=2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(
            pool.map(lambda _: stack.post("/archive/callback", {"id": archive["id"]}), range(2))
        )

    assert [answer.status for answer in answers] == [200, 200]
    assert _told(reader) == {"archiveId": archive["id"], "state": "failed"}
    with pytest.raises(TimeoutError):
        reader.next("signal", timeout=0.5)


def test_a_failure_news_claim_dynamodb_refuses_is_a_missed_signal_not_a_failed_callback(
    stack: Stack, readers: list[EventReader], capsys: pytest.CaptureFixture[str]
) -> None:
    archive = stack.failed_recording()
    session = stack.opentok.state.sessions[archive["sessionId"]]
    reader = _listen(stack, readers, next(iter(session.connections)))
    stack.moto.refuse(lambda call: "failureToldAt" in json.dumps(call.request), times=100)
    capsys.readouterr()

    assert stack.post("/archive/callback", {"id": archive["id"]}).status == 200
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "failed"
    assert _metrics(capsys.readouterr().out)["RoomSignalsFailed"] == [1.0]
    with pytest.raises(TimeoutError):
        reader.next("signal", timeout=0.3)


@pytest.mark.parametrize("stack_parameters", [{"StuckAfterMinutes": "0"}], indirect=True)
def test_the_reconciler_tells_the_room_of_what_a_lost_event_did_not(
    stack: Stack, readers: list[EventReader]
) -> None:
    archive, (reader, *_) = _room(stack, readers)
    _uploaded(stack, archive)
    boto3.client("sqs").purge_queue(QueueUrl=stack.queues["MarkReadyFunction"])  # lost
    failed = stack.failed_recording(room="other")  # its callback never came either
    failed_reader = _listen(
        stack, readers, next(iter(stack.opentok.state.sessions[failed["sessionId"]].connections))
    )
    summary = stack.invoke("ReconcileArchivesFunction", load_event("scheduled_reconcile"))

    assert summary["repaired"] == 2
    assert _told(reader) == {"archiveId": archive["id"], "state": "ready"}
    assert _told(failed_reader) == {"archiveId": failed["id"], "state": "failed"}


def test_a_view_that_finds_the_recording_failed_tells_the_room(
    stack: Stack, readers: list[EventReader]
) -> None:
    archive = stack.failed_recording()  # its callback never came: the view asks OpenTok
    session = stack.opentok.state.sessions[archive["sessionId"]]
    reader = _listen(stack, readers, next(iter(session.connections)))
    answer = stack.get(f"/archive/{archive['id']}/view", accept="application/json")

    assert answer.status == 409
    assert _told(reader) == {"archiveId": archive["id"], "state": "failed"}
