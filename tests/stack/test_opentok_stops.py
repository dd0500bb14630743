"""Recordings OpenTok stops itself: the stop reaches the record like any other, and the
recording is uploaded and becomes ready. OpenTok's clock runs fast here (contract §6: a 4-hour
limit on what is recorded, a 60-minute limit on an archive that nobody publishes to)."""

from collections.abc import Iterator

import pytest

from tests.support.stack import CallbackRoute, Stack, eventually

# Four hours of OpenTok's time in one second of ours.
FAST = pytest.mark.parametrize("emulator", [{"time_scale": 4 * 3600}], indirect=True)


@pytest.fixture
def callbacks(stack: Stack) -> Iterator[CallbackRoute]:
    """OpenTok's status callbacks reach the callback route, as once the project is set up."""
    route = CallbackRoute(stack)
    stack.opentok.callback_url = route.url
    yield route
    stack.opentok.callback_url = None
    route.close()


def _ends_ready(stack: Stack, archive_id: str) -> dict:
    stack.wait_until_uploaded(archive_id)
    stack.deliver_s3_events()
    return stack.get(f"/archive/{archive_id}").json()


@FAST
def test_the_four_hour_limit_stops_the_recording_and_it_becomes_ready(
    stack: Stack, callbacks: CallbackRoute
) -> None:
    archive = stack.record()

    def stopped() -> dict | None:
        shown = stack.get(f"/archive/{archive['id']}").json()
        return shown if shown["status"] != "started" else None

    assert eventually(stopped)["reason"] == "maximum duration exceeded"
    shown = _ends_ready(stack, archive["id"])
    assert (shown["status"], shown["ready"]) == ("uploaded", True)
    assert shown["reason"] == "maximum duration exceeded"
    assert shown["url"]


@FAST
def test_a_recording_nobody_publishes_to_stops_when_idle_and_becomes_ready(
    stack: Stack, callbacks: CallbackRoute
) -> None:
    session = stack.join()
    started = stack.post("/archive/start", {"sessionId": session["sessionId"]}).json()
    stack.opentok.unpublish(session["connectionId"], session["streamId"])

    def stopped() -> dict | None:
        shown = stack.get(f"/archive/{started['id']}").json()
        return shown if shown["status"] not in ("started", "paused") else None

    assert eventually(stopped)["reason"] == "maximum idle time exceeded"
    shown = _ends_ready(stack, started["id"])
    assert (shown["status"], shown["ready"], shown["reason"]) == (
        "uploaded",
        True,
        "maximum idle time exceeded",
    )
    assert [status for _, status in callbacks.answers] == [200] * len(callbacks.answers)
