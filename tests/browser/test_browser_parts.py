"""The call page's countdown to OpenTok's 4-hour limit, and recordings in parts in the history,
in a real browser (make dev with PARAMETER_OVERRIDES="ContinueAfterLimit=true").

OpenTok's 4 hours cannot pass here, so the page is given, through Playwright's routes, the
archive as the API would give it hours later: its createdAt 3 h 55 min ago (contract §3:
milliseconds since the epoch), or a history with the parts of a series."""

import json
import re
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.support.browser import SCREENSHOTS, open_page, participant_link
from tests.support.dev_process import DevProcess

pytestmark = pytest.mark.browser

CONNECTED = "[data-testid=connection-status][data-state=connected]"
ONE_ARCHIVE = re.compile(r"/archive/[0-9a-f-]{36}$")


@pytest.fixture(scope="module")
def dev() -> Iterator[DevProcess]:
    stack = DevProcess(processing_delay=1.0, parameters={"ContinueAfterLimit": "true"})
    yield stack
    stack.stop()


def test_the_page_counts_down_to_the_four_hour_limit_and_warns_in_the_last_ten_minutes(
    dev: DevProcess, browser
) -> None:
    room = "long-call"
    host = open_page(browser, f"{dev.url}/?room={room}#host={dev.host_key}")
    guest = open_page(browser, participant_link(host), width=375, height=740)
    began = int(time.time() * 1000) - (3 * 3600 + 55 * 60) * 1000
    first_part = str(uuid.uuid4())

    def hours_later(route) -> None:
        # As the API gives the second part of a recording that began 3 h 55 min ago.
        answer = route.fetch()
        archive = answer.json()
        archive |= {
            "createdAt": began,
            "seriesId": first_part,
            "part": 2,
            "previousPart": first_part,
        }
        route.fulfill(response=answer, body=json.dumps(archive))

    guest.route(ONE_ARCHIVE, hours_later)
    guest.wait_for_selector(CONNECTED)
    host.wait_for_selector("#start:enabled")
    host.click("#start")

    left = guest.locator("#recording-left")
    left.wait_for(state="visible")
    assert re.fullmatch(r"0[45]:[0-5]\d left", left.inner_text()), left.inner_text()
    guest.locator("#limit-warning").wait_for(state="visible")
    assert guest.locator("#limit-warning").inner_text() == (
        "Less than 10 minutes left: OpenTok stops a recording after 4 hours."
        " The next part then starts by itself."
    )
    assert guest.locator("#stop-reason").inner_text() == (
        "OpenTok stopped part 1 at its 4-hour limit; the recording goes on in part 2."
    )
    # The host, whose archive began just now, has nearly all of it left and no warning.
    host_left = host.locator("#recording-left")
    host_left.wait_for(state="visible")
    assert re.fullmatch(r"3:59:[0-5]\d left", host_left.inner_text()), host_left.inner_text()
    assert host.locator("#limit-warning").is_hidden()
    guest.locator("#recording").screenshot(path=SCREENSHOTS / "sample-page-limit-warning.png")

    host.click("#stop")
    host.locator("#view-link").wait_for(state="visible")
    guest.locator("#recording-indicator").wait_for(state="hidden")
    assert guest.locator("#limit-warning").is_hidden()


def test_the_history_shows_the_parts_of_a_recording_together(dev: DevProcess, browser) -> None:
    now = int(time.time() * 1000)
    first, second, third, other = (str(uuid.uuid4()) for _ in range(4))

    def archive(archive_id: str, minutes_ago: int, **fields: object) -> dict:
        return {
            "id": archive_id,
            "status": "uploaded",
            "name": "Board meeting",
            "sessionId": "1_MX40NzAwMDAwMH5-parts",
            "createdAt": now - minutes_ago * 60_000,
            "duration": 14_400,
            "size": 1_000_000,
            "reason": "maximum duration exceeded",
            "ready": True,
            "url": None,
            "seriesId": None,
            "part": None,
            "previousPart": None,
            "nextPart": None,
            **fields,
        }

    series = {"seriesId": first}
    listed = [  # newest first, as GET /archive lists them: another room's between two parts
        archive(third, 10, status="started", duration=0, reason="", ready=False, part=3)
        | series
        | {"previousPart": second},
        archive(other, 200, name="Stand-up", reason="user initiated", duration=600),
        archive(second, 250, part=2, previousPart=first, nextPart=third) | series,
        archive(first, 490, part=1, nextPart=second) | series,
    ]

    def history(route) -> None:
        body = {"count": len(listed), "items": listed, "cursor": None}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.route(re.compile(r"/archive\?"), history)
    page.goto(f"{dev.url}/archives.html#host={dev.host_key}")
    page.locator(f"tr[data-archive-id='{first}']").wait_for()

    rows = page.locator("#archive-rows tr")
    assert [rows.nth(i).get_attribute("data-archive-id") for i in range(4)] == [
        third,
        second,
        first,
        other,
    ]
    labels = page.locator("[data-testid=archive-part]")
    assert labels.all_inner_texts() == ["Part 3 of 3", "Part 2 of 3", "Part 1 of 3"]
    assert page.locator(f"tr[data-archive-id='{other}'] [data-testid=archive-part]").count() == 0
    page.screenshot(path=SCREENSHOTS / "history-parts.png")
    context.close()
