"""Recordings in parts: OpenTok stops a recording after 4 hours recorded, with the reason
`maximum duration exceeded` (contract §6: GUIDE; SUP 10524979000860; contract §3 for the
reason: SPEC, VPY). With ContinueAfterLimit the next part starts by itself in the same session
with the same options, linked to the part before; history shows the parts together.

OpenTok's clock runs 14,400 times faster here: its 4 hours last one second of ours.
"""

import json
import threading
from collections.abc import Iterator

import boto3
import pytest

from tests.support.stack import CallbackRoute, Stack, eventually, load_event

FAST = pytest.mark.parametrize("emulator", [{"time_scale": 4 * 3600}], indirect=True)
CONTINUE = pytest.mark.parametrize(
    "stack_parameters", [{"ContinueAfterLimit": "true"}], indirect=True
)
TOO_LONG = "maximum duration exceeded"


@pytest.fixture
def callbacks(stack: Stack) -> Iterator[CallbackRoute]:
    """OpenTok's status callbacks reach the callback route, as once the project is set up."""
    route = CallbackRoute(stack)
    stack.opentok.callback_url = route.url
    yield route
    stack.opentok.callback_url = None
    route.close()


def _opentok_archives(stack: Stack, session_id: str) -> list[dict]:
    """What OpenTok holds of the session's archives, oldest first."""
    listed = stack.opentok.state.list_archives({"sessionId": session_id})["items"]
    return list(reversed(listed))


def _stopped_at_limit(stack: Stack, archive_id: str) -> dict:
    def stopped() -> dict | None:
        held = stack.opentok.state.get_archive(archive_id)
        return held if held["status"] != "started" else None

    held = eventually(stopped)
    assert held["reason"] == TOO_LONG
    return held


@FAST
@CONTINUE
def test_the_four_hour_limit_starts_the_next_part_with_the_same_options(
    stack: Stack, callbacks: CallbackRoute
) -> None:
    session = stack.join("long-meeting")
    first = stack.post(
        "/archive/start",
        {
            "sessionId": session["sessionId"],
            "name": "Quarterly review",
            "resolution": "1280x720",
            "layout": "pip",
            "hasAudio": True,
            "hasVideo": True,
        },
    ).json()

    def next_part_of(archive_id: str) -> dict | None:
        shown = stack.get(f"/archive/{archive_id}").json()
        return stack.get(f"/archive/{shown['nextPart']}").json() if shown["nextPart"] else None

    second = eventually(lambda: next_part_of(first["id"]))
    third = eventually(lambda: next_part_of(second["id"]))
    stack.opentok.disconnect(session["connectionId"])  # the meeting ends: no fourth part
    first = stack.get(f"/archive/{first['id']}").json()

    assert first["reason"] == TOO_LONG
    assert (first["seriesId"], first["part"], first["previousPart"]) == (first["id"], 1, None)
    assert (second["seriesId"], second["part"], second["previousPart"]) == (
        first["id"],
        2,
        first["id"],
    )
    assert (third["seriesId"], third["part"], third["previousPart"]) == (
        first["id"],
        3,
        second["id"],
    )
    for part in (second, third):
        assert part["sessionId"] == session["sessionId"]
        assert part["name"] == "Quarterly review"
        assert (part["outputMode"], part["streamMode"], part["resolution"]) == (
            "composed",
            "auto",
            "1280x720",
        )
        assert (part["hasAudio"], part["hasVideo"]) == (True, True)
        assert part["layout"] == {"type": "pip"}
        # OpenTok itself records it so, not only our record.
        assert stack.opentok.state.inspect_archive(part["id"])["layout"]["type"] == "pip"
    assert [status for _, status in callbacks.answers] == [200] * len(callbacks.answers)


@pytest.mark.parametrize("emulator", [{"time_scale": 1}], indirect=True)
@CONTINUE
def test_the_next_part_of_a_manual_recording_records_the_same_streams_unverified(
    stack: Stack,
) -> None:
    """A manual recording records only the streams added to it (SPEC `streamMode`), so its
    next part adds those of the part before. That a stopped archive's JSON still lists its
    streams is [unverified] (SPEC `Archive-Detail` lists `streams`, for no status in
    particular). At the fast clock OpenTok's 1-minute publish window closes before a stream can
    be added, so here OpenTok's clock runs in real time, and the stop at the limit is
    OpenTok's answer as the contract gives it (§3: `stopped`, `maximum duration exceeded`),
    served by the emulator's `answer` fault in place of a 4-hour wait."""
    session = stack.join("chosen-streams")
    guest = stack.join("chosen-streams", host=False)
    first = stack.post(
        "/archive/start", {"sessionId": session["sessionId"], "streamMode": "manual"}
    ).json()
    added = stack.post(
        f"/archive/{first['id']}/streams",
        {"addStream": guest["streamId"]},
        headers=stack.host_headers(session["sessionId"]),
    )
    assert added.status == 200, added.body
    recorded = stack.opentok.state.get_archive(first["id"])["streams"]
    assert stack.post(f"/archive/{first['id']}/stop").status == 200
    at_limit = stack.opentok.state.get_archive(first["id"])
    at_limit |= {"reason": TOO_LONG, "streams": recorded}
    stack.opentok.faults.answer("GET", first["id"], 200, json.dumps(at_limit))

    assert stack.post("/archive/callback", {"id": first["id"]}).status == 200

    second_id = stack.get(f"/archive/{first['id']}").json()["nextPart"]
    assert second_id
    assert stack.get(f"/archive/{second_id}").json()["streamMode"] == "manual"
    held = stack.opentok.state.get_archive(second_id)["streams"]
    assert [stream["streamId"] for stream in held] == [guest["streamId"]]


@FAST
@CONTINUE
def test_a_repeated_callback_starts_no_second_next_part(stack: Stack) -> None:
    """OpenTok may send a callback more than once, even at once (contract §9, §11.10)."""
    archive = stack.record("repeated")
    _stopped_at_limit(stack, archive["id"])
    answers: list[int] = []

    def deliver() -> None:
        answers.append(stack.post("/archive/callback", {"id": archive["id"]}).status)

    together = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in together:
        thread.start()
    for thread in together:
        thread.join()
    deliver()  # and once more, late

    assert answers == [200] * 4
    # OpenTok was asked for one next part, not refused a second (it records one at a time).
    starts = [path for method, path in stack.opentok.calls if method == "POST"]
    assert len([path for path in starts if path.endswith("/archive")]) == 2  # with the first
    held = _opentok_archives(stack, archive["sessionId"])
    assert held[0]["id"] == archive["id"]
    assert len(held) == 2, [a["id"] for a in held]
    shown = stack.get(f"/archive/{archive['id']}").json()
    assert shown["nextPart"] == held[1]["id"]


@FAST
def test_without_the_option_the_four_hour_limit_starts_nothing(
    stack: Stack, callbacks: CallbackRoute
) -> None:
    archive = stack.record("one-part-only")
    stack.wait_until_uploaded(archive["id"])
    stack.opentok.wait_for(stack.opentok.callbacks_idle)

    shown = stack.get(f"/archive/{archive['id']}").json()
    assert shown["reason"] == TOO_LONG
    assert (shown["nextPart"], shown["part"], shown["seriesId"]) == (None, None, None)
    assert [a["id"] for a in _opentok_archives(stack, archive["sessionId"])] == [archive["id"]]


@FAST
@CONTINUE
def test_with_nobody_connected_any_more_there_is_no_next_part_and_nothing_fails(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    """OpenTok refuses to start an archive of a session nobody is connected to (contract §5:
    404, SPEC; 400 in older answers)."""
    session = stack.join("everyone-left")
    archive = stack.post("/archive/start", {"sessionId": session["sessionId"]}).json()
    _stopped_at_limit(stack, archive["id"])
    stack.opentok.disconnect(session["connectionId"])

    answer = stack.post("/archive/callback", {"id": archive["id"]})
    again = stack.post("/archive/callback", {"id": archive["id"]})

    assert (answer.status, again.status) == (200, 200)
    assert [a["id"] for a in _opentok_archives(stack, session["sessionId"])] == [archive["id"]]
    assert stack.get(f"/archive/{archive['id']}").json()["nextPart"] is None
    logged = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if "no next part" in line and line.startswith("{")
    ]
    assert len(logged) == 1  # the repeated callback asks OpenTok nothing more
    assert logged[0]["archive_id"] == archive["id"]
    assert "nobody is connected" in logged[0]["reason"]
    # The recording itself is not lost: it becomes ready as any other.
    stack.wait_until_uploaded(archive["id"])
    stack.deliver_s3_events()
    assert stack.get(f"/archive/{archive['id']}").json()["ready"] is True


@FAST
@CONTINUE
def test_when_opentok_fails_to_start_the_next_part_the_callback_fails_and_its_retry_does_it(
    stack: Stack,
) -> None:
    """OpenTok retries a callback that failed (contract §9: SUP 6646236108700)."""
    archive = stack.record("opentok-hiccup")
    _stopped_at_limit(stack, archive["id"])
    stack.opentok.faults.fail("POST", r"/archive$", 500)

    failed = stack.post("/archive/callback", {"id": archive["id"]})
    retried = stack.post("/archive/callback", {"id": archive["id"]})

    assert (failed.status, retried.status) == (502, 200)
    held = _opentok_archives(stack, archive["sessionId"])
    assert len(held) == 2
    assert stack.get(f"/archive/{archive['id']}").json()["nextPart"] == held[1]["id"]


@FAST
@CONTINUE
def test_when_the_stop_callback_was_lost_the_reconciler_starts_the_next_part(
    stack: Stack,
) -> None:
    """No callback reaches the stack here. The reconciler asks OpenTok about a recording it
    still thinks records only past two hours, which OpenTok's fast clock cannot make of ours:
    the record's createdAt is set back three hours in the table, as those hours would have."""
    archive = stack.record("callback-lost")
    _stopped_at_limit(stack, archive["id"])
    stack.wait_until_uploaded(archive["id"])  # the recording is in the bucket already
    three_hours_ago = archive["createdAt"] - 3 * 3600 * 1000
    boto3.client("dynamodb").update_item(
        TableName=stack.table,
        Key={"pk": {"S": f"archive#{archive['id']}"}},
        UpdateExpression="SET createdAt = :then",
        ExpressionAttributeValues={":then": {"N": str(three_hours_ago)}},
    )

    stack.invoke("ReconcileArchivesFunction", load_event("scheduled_reconcile"))

    shown = stack.get(f"/archive/{archive['id']}").json()
    assert (shown["ready"], shown["reason"]) == (True, TOO_LONG)
    held = _opentok_archives(stack, archive["sessionId"])
    assert [a["id"] for a in held] == [archive["id"], shown["nextPart"]]
    assert stack.get(f"/archive/{shown['nextPart']}").json()["part"] == 2
