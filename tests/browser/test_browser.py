"""The sample page in a real browser: Debian's chromium, driven by Playwright, fake camera."""

import json
import re
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    WAIT_MS,
    assert_accessible,
    open_page,
    participant_link,
)
from tests.support.dev_process import DevProcess
from tests.support.media import (
    BLUE,
    RED,
    colours,
    fake_camera,
    individual_streams,
    loudness,
    near,
    probe,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.browser


def test_start_stop_and_watch_the_recording(dev: DevProcess, browser) -> None:
    host = open_page(browser, f"{dev.url}/?room=browser-flow#host={dev.host_key}")
    guest = open_page(browser, participant_link(host), width=375, height=740)
    for page in (host, guest):
        page.wait_for_selector("#publisher video")
        page.wait_for_function(
            "() => document.querySelector('#publisher video').videoWidth > 0"
        )  # the fake camera really plays
    host.wait_for_selector("#start:enabled")
    # The key left the address bar, and the host is offered a link without it to share.
    assert dev.host_key not in host.url
    invite = host.locator("#invite-link")
    invite.wait_for(state="visible")
    assert invite.get_attribute("href").startswith(f"{dev.url}/?room=browser-flow.")
    # Participants see no controls, and are told who records.
    guest.locator("#host-only-note").wait_for(state="visible")
    assert guest.locator("#start").is_hidden() and guest.locator("#stop").is_hidden()
    assert guest.locator("#invite").is_hidden()

    host.click("#start")
    for page in (host, guest):
        indicator = page.locator("#recording-indicator")
        indicator.wait_for(state="visible")
        page.wait_for_function(
            "() => document.querySelector('#recording-indicator').textContent.includes('00:01')"
        )
    host.screenshot(path=SCREENSHOTS / "sample-page-recording.png")
    guest.screenshot(path=SCREENSHOTS / "sample-page-recording-phone.png")

    host.click("#stop")
    for page in (host, guest):
        page.locator("#recording-indicator").wait_for(state="hidden")
        # The View link, or the watch link that replaces it once the room hears it is ready.
        page.locator("#view-link:visible, #watch-link:visible").first.wait_for()
    view_url = host.get_attribute("#view-link", "href")
    archive_id = host.get_attribute("#view-link", "data-archive-id")
    assert view_url == f"view.html?archiveId={archive_id}"  # our player page, ready or not
    view_url = f"{dev.url}/{view_url}"

    waiting = open_page(browser, view_url)
    player = waiting.locator("#player")
    player.wait_for(state="visible")
    waiting.wait_for_function(
        "() => { const v = document.querySelector('#player');"
        " return v.readyState >= 1 && v.duration > 0; }"
    )
    waiting.evaluate("document.querySelector('#player').play()")
    waiting.wait_for_function("() => document.querySelector('#player').currentTime > 0.5")
    assert waiting.locator("#download").get_attribute("href")
    waiting.screenshot(path=SCREENSHOTS / "view-page-ready.png")
    assert_accessible(waiting, "view, ready")

    with host.context.expect_page() as opened:
        host.click("#history-link")  # a new tab: the host stays in the call
    history = opened.value
    history.locator(f"[data-archive-id='{archive_id}']").wait_for()
    history.screenshot(path=SCREENSHOTS / "archives-page.png")
    assert host.locator("[data-testid=connection-status][data-state=connected]").is_visible()

    assert guest.locator("#history-link").is_hidden()  # participants are not sent there
    guest.goto(f"{dev.url}/archives.html")
    guest.locator("#error").wait_for(state="visible")
    assert "host" in guest.locator("#error").inner_text()
    assert guest.locator(f"[data-archive-id='{archive_id}']").count() == 0
    # Nor from the site's other pages (issue 24, point 9): the recording's page, as each sees it.
    guest.goto(view_url)
    history.goto(view_url)
    for page in (guest, history):
        page.locator("#player").wait_for(state="visible")
    links = guest.locator("[data-recordings-link]").all()
    assert len(links) == 2 and all(link.is_hidden() for link in links)
    assert history.locator("nav [data-recordings-link]").is_visible()
    assert history.locator("#player-wrap [data-recordings-link]").is_visible()
    guest.screenshot(path=SCREENSHOTS / "view-page-participant-phone.png")


def _recording_of_room(dev: DevProcess, room: str) -> dict | None:
    """The room's recording under way, from the history (its names begin with the room's)."""
    listed = requests.get(f"{dev.url}/archive", headers={"x-host-key": dev.host_key}, timeout=10)
    return next(
        (
            item
            for item in listed.json()["items"]
            if item["name"].startswith(room) and item["status"] in ("started", "paused")
        ),
        None,
    )


def _at_opentok(dev: DevProcess, archive_id: str) -> dict:
    """The emulator's archive and the layout it records with (make dev serves /_emulator/)."""
    return requests.get(f"{dev.url}/_emulator/archives/{archive_id}", timeout=10).json()


def test_the_host_records_portrait_full_hd_in_a_layout_and_changes_it(
    dev: DevProcess, browser
) -> None:
    room = "browser-options"
    host = open_page(browser, f"{dev.url}/?room={room}#host={dev.host_key}")
    guest = open_page(browser, participant_link(host), width=375, height=740)
    host.wait_for_selector("#start:enabled")
    guest.wait_for_selector("[data-testid=connection-status][data-state=connected]")
    # Participants get none of the host's choices.
    assert guest.locator("#recording-options").is_hidden()

    # Chosen by their labels, as a screen reader names them.
    host.get_by_label("Resolution").select_option("1080x1920")
    host.get_by_label("Layout", exact=True).select_option("pip")
    host.get_by_label("Record", exact=True).select_option("video")
    host.screenshot(path=SCREENSHOTS / "sample-page-recording-options.png")
    host.click("#start")
    host.locator("#recording-indicator").wait_for(state="visible")
    assert host.locator("#recording-options").is_hidden()
    archive = eventually(lambda: _recording_of_room(dev, room))
    recorded = _at_opentok(dev, archive["id"])
    assert recorded["layout"] == {"type": "pip"}
    assert recorded["archive"]["resolution"] == "1080x1920"
    assert (recorded["archive"]["hasAudio"], recorded["archive"]["hasVideo"]) == (False, True)

    # While it records, the host changes the layout with the keyboard alone.
    changer = host.get_by_label("Layout of this recording")
    host.wait_for_function("() => document.querySelector('#recording-layout').value === 'pip'")
    changer.focus()
    host.keyboard.press("End")  # the last option: others below the presentation
    host.keyboard.press("Tab")
    assert host.evaluate("document.activeElement.id") == "apply-layout"
    host.keyboard.press("Enter")
    eventually(
        lambda: _at_opentok(dev, archive["id"])["layout"] == {"type": "horizontalPresentation"}
    )
    host.wait_for_function(
        "() => document.querySelector('#announcer').textContent.startsWith('Layout changed')"
    )
    assert host.evaluate("document.activeElement.id") == "apply-layout"  # focus stays put
    shown = requests.get(f"{dev.url}/archive/{archive['id']}", timeout=10).json()
    assert shown["layout"] == {"type": "horizontalPresentation"}
    assert shown["resolution"] == "1080x1920"
    guest.locator("#recording-indicator").wait_for(state="visible")
    assert guest.locator("#layout-change").is_hidden()
    host.screenshot(path=SCREENSHOTS / "sample-page-layout-change.png")

    host.click("#stop")
    host.locator("#recording-indicator").wait_for(state="hidden")


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (375, 740)], ids=["desktop", "phone"])
def test_the_host_chooses_the_streams_of_a_manual_recording(
    dev: DevProcess, browser, width: int, height: int
) -> None:
    """Issue 24, point 8: "Recording" before any stream was added, a ticked box that unticked
    itself, and a finished recording of 00:00 although a stream was in it."""
    room = f"browser-manual-{width}"
    host = open_page(browser, f"{dev.url}/?room={room}#host={dev.host_key}", width, height)
    host.wait_for_selector("#start:enabled")
    host.get_by_label("Streams").select_option("manual")
    host.click("#start")
    host.locator("#recorded-streams").wait_for(state="visible")
    archive = eventually(lambda: _recording_of_room(dev, room))
    assert _at_opentok(dev, archive["id"])["archive"]["streams"] == []
    label = host.locator("#recording-label")
    host.wait_for_function(
        "() => document.querySelector('#recording-label').textContent === 'No stream added yet'"
    )
    host.screenshot(path=SCREENSHOTS / f"manual-streams-none-{width}.png")

    own = host.get_by_label("Record your camera")
    own.focus()
    host.keyboard.press("Space")
    # The box stays ticked while the server answers (it once unticked itself for 0.6 s).
    assert own.is_checked()
    streams = eventually(lambda: _at_opentok(dev, archive["id"])["archive"]["streams"])
    assert [(s["hasAudio"], s["hasVideo"]) for s in streams] == [(True, True)]
    host.wait_for_function(
        "() => document.querySelector('#announcer').textContent.startsWith('Stream added')"
    )
    assert own.is_checked() and own.evaluate("box => box === document.activeElement")
    assert label.inner_text() == "Recording"
    host.screenshot(path=SCREENSHOTS / f"manual-streams-added-{width}.png")
    host.wait_for_function(
        "() => document.querySelector('#recording-elapsed').textContent >= '00:02'"
    )
    host.keyboard.press("Space")
    eventually(lambda: _at_opentok(dev, archive["id"])["archive"]["streams"] == [])
    host.click("#stop")
    host.locator("#watch-link").wait_for(state="visible")

    history = host.context.new_page()
    history.set_default_timeout(WAIT_MS)
    history.goto(f"{dev.url}/archives.html")
    duration = history.locator(f"tr[data-archive-id='{archive['id']}'] td[data-label=Duration]")
    assert duration.inner_text() not in ("", "00:00", "00:01")  # two seconds and more recorded
    history.screenshot(path=SCREENSHOTS / f"manual-streams-history-{width}.png")


def test_the_page_says_so_when_the_api_is_down(dev: DevProcess, browser) -> None:
    page = open_page(browser, f"{dev.url}/?room=api-down#host={dev.host_key}")
    page.wait_for_selector("#start:enabled")
    # The API goes away; OpenTok (here the emulator) and the page stay.
    page.route(re.compile(r"/archive(/|$)"), lambda route: route.abort("connectionrefused"))
    page.click("#start")
    error = page.locator("#error")
    error.wait_for(state="visible")
    assert error.inner_text().strip()
    page.locator("#start:enabled").wait_for()  # the person can try again
    page.screenshot(path=SCREENSHOTS / "sample-page-api-down.png")
    assert_accessible(page, "call page with an error")


def test_the_page_says_so_when_it_cannot_join(dev: DevProcess, browser) -> None:
    context = browser.new_context()
    context.route(re.compile(r"/room/"), lambda route: route.abort("connectionrefused"))
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{dev.url}/?room=unreachable")
    page.locator("#error").wait_for(state="visible")
    assert page.locator("#error").inner_text().strip()


def test_a_stale_host_link_says_so_and_forgets_its_key(dev: DevProcess, browser) -> None:
    page = open_page(browser, f"{dev.url}/?room=stale-link#host=an-old-key")
    error = page.locator("#error")
    error.wait_for(state="visible")
    assert "host link" in error.inner_text()
    assert_accessible(page, "a stale host link")
    page.click("#error-retry")
    # A participant now; in `host` control the room's name opens nothing without its link.
    page.wait_for_function(
        "() => document.querySelector('#error').innerText.includes(\"room's participant link\")"
    )
    assert page.locator("[data-testid=forget-host-key]").count() == 0
    assert not page.locator("#start").is_enabled()


def test_the_hosts_page_renews_an_expired_token_and_records(dev: DevProcess, browser) -> None:
    page = open_page(browser, f"{dev.url}/?room=long-meeting#host={dev.host_key}")
    page.wait_for_selector("#start:enabled")
    refused: list[str] = []

    def expired_once(route) -> None:
        # As the API answers a token past its expiry, the first time only.
        if refused:
            route.continue_()
            return
        refused.append(route.request.headers.get("authorization", ""))
        route.fulfill(
            status=401,
            headers={"Content-Type": "application/json", "WWW-Authenticate": "Bearer"},
            body='{"error": "the moderator token has expired: join the room again"}',
        )

    page.route(re.compile(r"/archive/start$"), expired_once)
    with page.expect_request(re.compile(r"/room/long-meeting(\?name=[^&]*)?$")) as renewal:
        page.click("#start")
    assert renewal.value.headers.get("x-host-key") == dev.host_key
    page.locator("#recording-indicator").wait_for(state="visible")
    assert page.locator("#error").is_hidden()
    assert refused[0].startswith("Bearer ")


def test_the_waiting_page_says_why_a_recording_failed(dev: DevProcess, browser) -> None:
    """The page as GET /archive/{id} describes a failed recording (tests/stack/test_view.py makes
    one for real, with the emulator): it says so and why, and stops waiting. The archive is served
    here by the browser, since this stack's uploads cannot be made to fail from outside."""
    archive_id = "0b7c6a1e-2f43-4d6b-9a51-3f0c2d9e8a17"
    failed = {
        "id": archive_id,
        "status": "failed",
        "reason": "Upload to S3 failed: NoSuchBucket",
        "name": "Weekly",
        "sessionId": "2_x",
        "createdAt": 1764000000000,
        "duration": 12,
        "size": 0,
        "outputMode": "composed",
        "resolution": "640x480",
        "hasAudio": True,
        "hasVideo": True,
        "ready": False,
        "url": None,
    }
    context = browser.new_context()
    polls: list[str] = []

    def answer(route) -> None:
        polls.append(route.request.url)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(failed))

    context.route(re.compile(rf"/archive/{archive_id}$"), answer)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{dev.url}/view.html?archiveId={archive_id}")
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.includes('This recording failed')"
    )
    status = page.locator("#status").inner_text()
    assert "This recording failed: Upload to S3 failed: NoSuchBucket." in status
    assert page.locator("#spinner").is_hidden()
    assert page.locator("#player").is_hidden()
    assert page.locator("#stage").get_attribute("data-stage") == "failed"
    page.wait_for_timeout(2500)  # longer than the page's first wait: it does not poll again
    assert len(polls) == 1
    page.screenshot(path=SCREENSHOTS / "view-page-failed.png")
    assert_accessible(page, "view, failed")


@pytest.fixture(scope="module")
def always_dev() -> Iterator[DevProcess]:
    stack = DevProcess(parameters={"ArchiveMode": "always"})
    yield stack
    stack.stop()


def test_an_always_room_records_by_itself_and_offers_no_stop(always_dev: DevProcess, browser):
    host = open_page(browser, f"{always_dev.url}/?room=auto-room#host={always_dev.host_key}")
    host.locator("#automatic-note").wait_for(state="visible")
    assert "records automatically" in host.locator("#automatic-note").inner_text()
    # Publishing the camera starts OpenTok's automatic recording, which everyone sees.
    host.locator("#recording-indicator").wait_for(state="visible")
    assert host.locator("#start").is_hidden() and host.locator("#stop").is_hidden()
    assert host.locator("#host-only-note").is_hidden()
    host.screenshot(path=SCREENSHOTS / "sample-page-always.png")
    assert_accessible(host, "a room that records by itself")


def _rewrite_lookups(page, pattern: re.Pattern, rewrite) -> None:
    """The page's GET /archive/{id} answered with the API's archive as `rewrite` changes it."""

    def answer(route) -> None:
        fetched = route.fetch()
        archive = fetched.json()
        rewrite(archive)
        route.fulfill(response=fetched, body=json.dumps(archive))

    page.route(pattern, answer)


def test_the_page_says_why_opentok_stopped_a_recording(dev: DevProcess, browser) -> None:
    """Whoever did not press Stop is told why the recording ended, from the archive's reason.
    The 4-hour limit cannot be reached here, so the guest's browser gives the stopped archive
    that reason (contract §3: `maximum duration exceeded`); the host, who stopped it, sees none."""
    room = "stopped-by-opentok"
    host = open_page(browser, f"{dev.url}/?room={room}#host={dev.host_key}")
    guest = open_page(browser, participant_link(host), width=375, height=740)

    # Our table may hear of the stop after the room does: the guest's first lookups after it
    # still say it records, more of them than the page's tries, and it must keep asking. Those
    # late answers repeat the API's last one at once: the page's patience is in seconds, and the
    # stack's speed on a loaded machine is not what this test is about.
    late: list[int] = []
    last: dict = {}

    def too_long(route) -> None:
        if late and last.get("status") == "started":
            late.pop()
            route.fulfill(status=200, content_type="application/json", body=json.dumps(last))
            return
        fetched = route.fetch()
        archive = fetched.json()
        if late:
            late.pop()
            archive["status"] = "started"
            archive.pop("reason", None)
        elif archive.get("status") not in ("started", "paused"):
            archive["reason"] = "maximum duration exceeded"
        last.clear()
        last.update(archive)
        route.fulfill(response=fetched, body=json.dumps(archive))

    guest.route(re.compile(r"/archive/[0-9a-f-]{36}$"), too_long)
    guest.wait_for_selector("[data-testid=connection-status][data-state=connected]")
    host.wait_for_selector("#start:enabled")
    host.click("#start")
    guest.locator("#recording-indicator").wait_for(state="visible")
    late.extend(range(6))  # the page once gave up after 5; its start's lookup may take one
    host.click("#stop")
    reason = guest.locator("#stop-reason")
    reason.wait_for(state="visible", timeout=35_000)  # a second between lookups, 30 s at most
    assert reason.inner_text() == (
        "The recording stopped on its own: it reached OpenTok's 4-hour limit."
    )
    # A way to watch: the View link, or, once the room has heard the recording is ready (which
    # may come before the guest's reason), the watch link that replaces it.
    host.locator("#view-link:visible, #watch-link:visible").first.wait_for()
    assert host.locator("#stop-reason").is_hidden()
    guest.screenshot(path=SCREENSHOTS / "sample-page-stopped-by-opentok.png")


API_PATH = re.compile(r"/(archive|room|session)(/|$)")


def _api_requests(page, origin: str) -> list[tuple[str, str]]:
    """Every request the page sends to the API from now on: (method, path)."""
    sent: list[tuple[str, str]] = []

    def seen(request) -> None:
        path = request.url.removeprefix(origin).split("?", 1)[0]
        if request.url.startswith(origin) and API_PATH.match(path):
            sent.append((request.method, path))

    page.on("request", seen)
    return sent


def test_the_room_hears_the_recording_is_ready_without_asking(dev: DevProcess, browser) -> None:
    """The host stops; both pages show the watch link the moment the server's signal comes,
    and neither asks the API whether the recording is ready meanwhile. The guest, who did not
    press Stop, looks up why it stopped (`explainStop`) until the answer says: those lookups
    end with the first answer that carries a reason, before the recording lands."""
    room = "hears-ready"
    host = open_page(browser, f"{dev.url}/?room={room}#host={dev.host_key}")
    guest = open_page(browser, participant_link(host), width=375, height=740)
    guest.wait_for_selector("[data-testid=connection-status][data-state=connected]")
    host.wait_for_selector("#start:enabled")
    host.click("#start")
    guest.locator("#recording-indicator").wait_for(state="visible")
    host.wait_for_function(  # a recording with something in it
        "() => document.querySelector('#recording-indicator').textContent.includes('00:01')"
    )
    asked = {"host": _api_requests(host, dev.url), "guest": _api_requests(guest, dev.url)}
    sent: list = []  # the guest's requests from here on: not one still in flight (its start's)
    guest.on("request", lambda request: sent.append(request))  # noqa: PLW0108 - Playwright takes no builtin
    reasons: list[str] = []  # the `reason` of each archive the guest's lookups answered

    def answered(response) -> None:
        ours = any(request is response.request for request in sent)
        if ours and API_PATH.match(response.url.removeprefix(dev.url)) and response.ok:
            reasons.append(response.json().get("reason") or "")

    guest.on("response", answered)

    host.click("#stop")
    for page in (host, guest):
        watch = page.locator("#watch-link")
        watch.wait_for(state="visible")
        assert watch.inner_text() == "Recording ready — watch"
        assert page.locator("#view-link").is_hidden()  # the signal's link replaces it
    archive_id = host.locator("#recording-news").get_attribute("data-archive-id")
    for page in (host, guest):
        assert page.locator("#watch-link").get_attribute("href") == (
            f"view.html?archiveId={archive_id}"
        )

    assert asked["host"] == [("POST", f"/archive/{archive_id}/stop")]
    # On a busy machine the recording may land before the guest's lookup is answered.
    deadline = time.monotonic() + 20
    while "user initiated" not in reasons and time.monotonic() < deadline:
        guest.wait_for_timeout(50)  # lets Playwright hand over the page's events meanwhile
    lookups = asked["guest"]
    assert "user initiated" in reasons, reasons
    assert all(request == ("GET", f"/archive/{archive_id}") for request in lookups)
    assert len(lookups) == reasons.index("user initiated") + 1  # none after it knew why
    host.screenshot(path=SCREENSHOTS / "sample-page-recording-ready.png")

    watching = host.context.new_page()
    watching.goto(f"{dev.url}/{host.locator('#watch-link').get_attribute('href')}")
    watching.locator("#player").wait_for(state="visible")  # our own player page plays it

    deleted = requests.delete(
        f"{dev.url}/archive/{archive_id}", headers={"x-host-key": dev.host_key}, timeout=20
    )
    assert deleted.status_code == 200
    for page in (host, guest):
        page.locator("#recording-news[data-state=deleted]").wait_for()
        assert page.locator("#recording-news").inner_text() == "The recording was deleted."
        assert page.locator("#watch-link").is_hidden()


def test_the_stand_in_opentok_js_raises_signal_events_as_opentok_js_does(
    dev: DevProcess, browser
) -> None:
    """OpenTok.js dispatches one SignalEvent, of type `signal:<type>`, with `data` and `from`
    (the sender's Connection, null for a signal the server sent through the REST API), to the
    `signal` handlers and then to those of `signal:<type>` (@opentok/client's typings: `from:
    Connection | null`; SPEC `send-signal`: signals from the server have an empty from)."""
    page = open_page(browser, f"{dev.url}/?room=otjs-signals#host={dev.host_key}")
    page.wait_for_selector("[data-testid=connection-status][data-state=connected]")
    session_id = page.evaluate(
        """async (hostKey) => {
      const answer = await fetch('/room/otjs-signals-own', {headers: {'X-Host-Key': hostKey}});
      const room = await answer.json();
      window.heard = [];
      const session = OT.initSession(room.apiKey, room.sessionId);
      const note = (handler) => (event) => window.heard.push({handler, type: event.type,
        data: event.data, from: event.from, target: event.target === session});
      session.on('signal', note('signal'));
      session.on('signal:archive', note('signal:archive'));
      session.on('signal:other', note('signal:other'));
      await new Promise((resolve, reject) => session.connect(room.token,
        (error) => (error ? reject(error) : resolve())));
      window.token = room.token;
      return room.sessionId;
    }""",
        dev.host_key,
    )
    token = page.evaluate("window.token")
    started = dev.start(session_id, {"Authorization": f"Bearer {token}"})
    assert started.status_code == 200, started.text
    archive_id = started.json()["id"]
    stop = requests.post(
        f"{dev.url}/archive/{archive_id}/stop",
        headers={"Authorization": f"Bearer {token}"},
        timeout=20,
    )
    assert stop.status_code == 200
    page.wait_for_function("() => window.heard.length >= 2")

    data = json.dumps({"archiveId": archive_id, "state": "ready"}, separators=(",", ":"))
    expected = {"type": "signal:archive", "data": data, "from": None, "target": True}
    assert page.evaluate("window.heard") == [
        {"handler": "signal", **expected},
        {"handler": "signal:archive", **expected},
    ]


# --- Media between the pages of a room --------------------------------------------------------

# Keeps every RTCPeerConnection the page makes, to see that none is left open, and counts the
# ICE candidates each is given.
WATCH_PEER_CONNECTIONS = """
window.__peerConnections = [];
const NativePeerConnection = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativePeerConnection {
  constructor(...args) {
    super(...args);
    this.candidatesAdded = 0;
    window.__peerConnections.push(this);
  }
  addIceCandidate(...args) {
    this.candidatesAdded += 1;
    return super.addIceCandidate(...args);
  }
};
"""
# The other participant's camera and microphone, live, in the page's subscriber <video>.
PLAYS_THE_OTHER = """() => {
  const video = document.querySelector('#subscribers video');
  const media = video && video.srcObject;
  if (!media || video.videoWidth === 0) return false;
  const live = (tracks) => tracks.length === 1 && tracks[0].readyState === 'live';
  return live(media.getAudioTracks()) && live(media.getVideoTracks());
}"""
OPEN_PEER_CONNECTIONS = """() => window.__peerConnections.filter(
  (pc) => pc.signalingState !== 'closed').length"""


def test_the_pages_of_a_room_see_and_hear_each_other_and_hang_up_when_one_leaves(
    dev: DevProcess, browser
) -> None:
    """The stand-in carries media by WebRTC between the pages, the emulator relaying only their
    offers, answers and ICE candidates: each page's subscriber plays the other's camera."""
    room = f"media-{uuid.uuid4().hex[:6]}"
    host_url = f"{dev.url}/?room={room}#host={dev.host_key}"
    host = open_page(browser, host_url, before_load=WATCH_PEER_CONNECTIONS)
    guest = open_page(browser, participant_link(host), before_load=WATCH_PEER_CONNECTIONS)
    for page in (host, guest):
        page.wait_for_function(PLAYS_THE_OTHER)
        began = page.evaluate("() => document.querySelector('#subscribers video').currentTime")
        page.wait_for_function(
            "(began) => document.querySelector('#subscribers video').currentTime > began", arg=began
        )
        # Its publisher's for the other page, and its subscriber's.
        assert page.evaluate(OPEN_PEER_CONNECTIONS) == 2
    video = host.locator("#subscribers video")
    assert video.evaluate("(v) => !v.muted && v.autoplay && v.playsInline")
    host.screenshot(path=SCREENSHOTS / "sample-page-call-media.png")

    guest.close()
    host.locator("#subscribers .subscriber-tile").wait_for(state="detached")
    host.wait_for_function(f"() => ({OPEN_PEER_CONNECTIONS})() === 0")
    assert host.evaluate("() => window.__peerConnections.length") == 2


def _rtc_message(request) -> dict | None:
    """What a page relays to another through the emulator, if the request is one of those."""
    if request.method != "POST" or not request.url.endswith("/rtc"):
        return None
    return request.post_data_json["data"]


def test_ice_candidates_that_overtake_the_offer_are_kept_until_it_comes(
    dev: DevProcess, browser
) -> None:
    """Each message is a request of its own, so a candidate may reach the other page before
    the offer it belongs to: the subscriber keeps it, and adds it once it has the offer."""
    host = open_page(browser, f"{dev.url}/?room=early-candidates#host={dev.host_key}")
    held, overtaking = [], []

    def same_link(message: dict) -> bool:
        offer = held[0].request.post_data_json["data"]
        return (message["streamId"], message["subscriberId"]) == (
            offer["streamId"],
            offer["subscriberId"],
        )

    def hold_the_offer(route) -> None:
        message = _rtc_message(route.request)
        if message["type"] == "offer" and not held:
            held.append(route)
            return
        if message["type"] == "candidate" and held and same_link(message):
            overtaking.append(message)
        route.continue_()

    def overtook(request) -> bool:
        message = _rtc_message(request)
        return bool(message and message["type"] == "candidate" and held and same_link(message))

    host.route(re.compile(r"/_emulator/connections/[^/]+/rtc$"), hold_the_offer)
    with host.expect_request_finished(overtook):
        guest = open_page(browser, participant_link(host), before_load=WATCH_PEER_CONNECTIONS)
    assert guest.evaluate(  # delivered to the guest, whose subscriber has no offer yet
        "() => window.__peerConnections.every((pc) => pc.candidatesAdded === 0"
        " || (pc.remoteDescription && pc.remoteDescription.type === 'answer'))"
    )
    held[0].continue_()

    guest.wait_for_function(PLAYS_THE_OTHER)
    guest.wait_for_function(
        """(count) => window.__peerConnections.some((pc) => pc.remoteDescription
          && pc.remoteDescription.type === 'offer' && pc.candidatesAdded >= count)""",
        arg=len(overtaking),
    )
    assert overtaking


# Two clients of one room in the page, as OpenTok.js's own API drives them: one publishes a
# stream with no camera or microphone and one with both, the other subscribes to both.
TWO_CLIENTS = """async ([room, hostKey]) => {
  const answer = await fetch('/room/' + room, {headers: {'X-Host-Key': hostKey}});
  const {apiKey, sessionId, token} = await answer.json();
  const connect = () => new Promise((resolve, reject) => {
    const session = OT.initSession(apiKey, sessionId);
    session.connect(token, (error) => (error ? reject(error) : resolve(session)));
  });
  const sender = await connect();
  const receiver = await connect();
  const streams = {};
  const bothCame = new Promise((resolve) => receiver.on('streamCreated', (event) => {
    streams[event.stream.name] = event.stream;
    if (streams.silent && streams.camera) resolve();
  }));
  const publish = (properties) => new Promise((resolve, reject) => {
    const publisher = OT.initPublisher(document.body, {insertMode: 'append', ...properties},
      (error) => error && reject(error));
    sender.publish(publisher, (error) => (error ? reject(error) : resolve(publisher)));
  });
  await publish({name: 'silent', audioSource: false, videoSource: false});
  await publish({name: 'camera'});
  await bothCame;
  const subscribe = (name) => receiver.subscribe(streams[name], document.body,
    {insertMode: 'append'});
  window.probe = {sender, receiver, silent: subscribe('silent'), camera: subscribe('camera')};
}"""
CAMERA_PLAYS = """() => { const video = window.probe.camera.element.querySelector('video');
  return video.videoWidth > 0 && video.srcObject.getTracks().length === 2; }"""
# Its offer has no media, and it was answered: the subscriber's and the publisher's end.
SILENT_ANSWERED = """() => window.__peerConnections.filter((pc) => pc.signalingState === 'stable'
  && pc.remoteDescription && !pc.remoteDescription.sdp.includes('m=')).length === 2"""
RECEIVED_ENABLED = """() => Object.fromEntries(window.probe.camera.element.querySelector('video')
  .srcObject.getTracks().map((track) => [track.kind, track.enabled]))"""


def test_the_stand_in_subscriber_plays_switches_and_hangs_up_as_opentok_js_does(
    dev: DevProcess, browser
) -> None:
    page = open_page(
        browser,
        f"{dev.url}/?room=otjs-media#host={dev.host_key}",
        before_load=WATCH_PEER_CONNECTIONS,
    )
    complaints = []
    page.on("console", lambda m: m.type in ("error", "warning") and complaints.append(m.text))
    page.on("pageerror", lambda error: complaints.append(str(error)))
    page.wait_for_selector("[data-testid=connection-status][data-state=connected]")
    page.evaluate(TWO_CLIENTS, ["otjs-media-own", dev.host_key])

    page.wait_for_function(CAMERA_PLAYS)
    page.wait_for_function(SILENT_ANSWERED)
    assert page.evaluate("() => window.probe.camera.getAudioVolume()") == 100
    volumes = page.evaluate(
        """() => [40, 150, -3].map((value) => { const camera = window.probe.camera;
          camera.setAudioVolume(value);
          return [camera.getAudioVolume(), camera.element.querySelector('video').volume]; })"""
    )
    assert volumes == [[40, 0.4], [100, 1], [0, 0]]
    page.evaluate("() => window.probe.camera.subscribeToVideo(false)")
    assert page.evaluate(RECEIVED_ENABLED) == {"audio": True, "video": False}
    page.evaluate("() => window.probe.camera.subscribeToAudio(false).subscribeToVideo(true)")
    assert page.evaluate(RECEIVED_ENABLED) == {"audio": False, "video": True}

    # The app's own publisher has nobody to send to; the probe's two links have two ends each.
    assert page.evaluate(OPEN_PEER_CONNECTIONS) == 4
    page.evaluate("() => window.probe.receiver.unsubscribe(window.probe.camera)")
    page.wait_for_function(f"() => ({OPEN_PEER_CONNECTIONS})() === 2")  # its bye closed the other
    page.evaluate("() => window.probe.sender.disconnect()")
    page.wait_for_function(f"() => ({OPEN_PEER_CONNECTIONS})() === 0")
    assert page.locator("[data-ot-local=subscriber]").count() == 0
    assert complaints == []


# --- The page as a new user finds it (issue 13) ----------------------------------------------


def _in_first_screen(page, selector: str) -> bool:
    """Visible without scrolling: the element lies wholly inside the viewport at the top."""
    return page.evaluate(
        """(selector) => { const box = document.querySelector(selector).getBoundingClientRect();
        return window.scrollY === 0 && box.height > 0 && box.top >= 0
          && box.bottom <= window.innerHeight; }""",
        selector,
    )


def test_on_a_phone_the_recording_shows_without_scrolling_and_focus_follows(
    dev: DevProcess, browser
) -> None:
    """At 375x740 the host sees Stop and the recording's state in the first screen, the video
    and the tab title say "recording", the logo is not red unless something records, the
    keyboard's focus moves from Start to Stop and back, and the participant reads
    "Recording stopped — processing…" until the watch link replaces it. axe-core finds
    nothing at each step, in the light scheme (host) and the dark one (participant)."""
    room = "phone-room"
    host = open_page(browser, f"{dev.url}/?room={room}#host={dev.host_key}", width=375, height=740)
    guest = open_page(browser, participant_link(host), width=375, height=740, color_scheme="dark")
    guest.wait_for_selector("[data-testid=connection-status][data-state=connected]")
    host.wait_for_selector("#start:enabled")
    red = "rgb(185, 28, 28)"
    assert host.locator(".brand-mark").evaluate("m => getComputedStyle(m).backgroundColor") != red
    assert not host.title().startswith("●")
    host.screenshot(path=SCREENSHOTS / "sample-page-phone-host-before.png")
    assert_accessible(host, "host before recording")
    assert_accessible(guest, "participant before recording")

    host.focus("#start")
    host.keyboard.press("Enter")
    host.locator("#stop:enabled").wait_for()
    assert host.evaluate("document.activeElement.id") == "stop"
    for page in (host, guest):
        page.locator("#tile-recording").wait_for(state="visible")
        page.wait_for_function("() => document.title.startsWith('● Recording — Room phone-room')")
        assert _in_first_screen(page, "#recording-indicator")
        assert page.locator("#tile-recording").inner_text() == "Recording"
        brand = page.locator(".brand-mark").evaluate("m => getComputedStyle(m).backgroundColor")
        assert brand != red  # only the indicator is red
    assert _in_first_screen(host, "#stop")
    host.screenshot(path=SCREENSHOTS / "sample-page-recording-phone-host.png")
    assert_accessible(host, "host while recording")
    assert_accessible(guest, "participant while recording")

    host.keyboard.press("Enter")  # still on Stop
    # One wait for both: the ready signal may replace the words right after.
    guest.locator(
        "#recording-news[data-state=processing]"
        " #recording-news-text:text-is('Recording stopped — processing…')"
    ).wait_for()
    host.locator("#start:enabled").wait_for()
    assert host.evaluate("document.activeElement.id") == "start"
    assert not host.title().startswith("●") and host.locator("#tile-recording").is_hidden()
    for page in (host, guest):
        page.locator("#watch-link").wait_for(state="visible")
        assert page.locator("#recording-news-text").is_hidden()  # the link replaced it
    assert_accessible(host, "host after recording")
    assert_accessible(guest, "participant after recording")


def test_the_host_stays_the_host_across_tabs_until_they_forget_the_key(
    dev: DevProcess, browser
) -> None:
    """The key from the host link serves every tab of the site (the Recordings page, a
    recording); "Forget host key" ends that on a shared computer."""
    host = open_page(browser, f"{dev.url}/?room=tabs#host={dev.host_key}")
    host.wait_for_selector("#start:enabled")
    other_tab = host.context.new_page()
    other_tab.set_default_timeout(WAIT_MS)
    other_tab.goto(f"{dev.url}/?room=tabs")  # a second tab, as a Ctrl-click opens one
    other_tab.wait_for_selector("#start:enabled")  # still the host: the controls are there
    assert other_tab.locator("#host-only-note").is_hidden()
    history = host.context.new_page()
    history.set_default_timeout(WAIT_MS)
    history.goto(f"{dev.url}/archives.html")
    history.wait_for_selector("#archives[aria-busy=false]", state="attached")
    assert history.locator("#error").is_hidden()
    assert_accessible(history, "history, as the host")

    history.click("[data-testid=forget-host-key]")
    history.locator("#error").wait_for(state="visible")
    assert "Only the host" in history.locator("#error").inner_text()
    assert history.locator("[data-testid=forget-host-key]").count() == 0
    other_tab.reload()
    # A participant now, who opens a room in `host` control by its participant link only.
    other_tab.locator("#error").wait_for(state="visible")
    assert "participant link" in other_tab.locator("#error").inner_text()
    assert not other_tab.locator("#start").is_enabled()
    assert_accessible(history, "history, as a participant")


def _host_records(dev: DevProcess, browser, room: str) -> tuple[object, str]:
    """The host's page in the room, recording; and the recording's id."""
    host = open_page(browser, f"{dev.url}/?room={room}#host={dev.host_key}")
    host.wait_for_selector("#start:enabled")
    host.click("#start")
    host.locator("#stop:enabled").wait_for()
    return host, eventually(lambda: _recording_of_room(dev, room))["id"]


def _row(page, archive_id: str):
    return page.locator(f"tr[data-archive-id='{archive_id}']")


def test_the_history_speaks_plainly_updates_itself_and_lets_the_host_delete(
    dev: DevProcess, browser
) -> None:
    """Rows name the room, the time and the length, in plain states (never OpenTok's
    `uploaded`); a row still recording follows its recording to Ready without a reload; the
    host deletes one after confirming, and the row says Deleted."""
    room = "history-room"
    host, archive_id = _host_records(dev, browser, room)

    history = host.context.new_page()
    history.set_default_timeout(WAIT_MS)
    history.goto(f"{dev.url}/archives.html")
    row = _row(history, archive_id)
    row.wait_for()
    assert row.locator(".badge").inner_text() == "Recording"
    assert row.locator(".archive-name").inner_text() == room  # the room, not "room · date"
    assert re.search(r"\d{4}", row.locator("td[data-label=Recorded]").inner_text())
    assert row.locator("[data-testid=delete]").count() == 0  # OpenTok refuses while recording
    waiting = host.context.new_page()
    waiting.set_default_timeout(WAIT_MS)
    waiting.goto(f"{dev.url}/view.html?archiveId={archive_id}")
    waiting.wait_for_function(
        "() => document.querySelector('#status').textContent.includes('Still')"
    )
    assert_accessible(waiting, "view, waiting")
    seen: set[str] = set()
    history.on(
        "framenavigated", lambda frame: seen.add(frame.url) if frame == history.main_frame else None
    )

    host.click("#stop")
    history.locator(f"tr[data-archive-id='{archive_id}'] .badge:text-is('Ready')").wait_for()
    assert not seen  # no reload: the row followed on its own
    assert re.fullmatch(r"\d\d:\d\d", row.locator("td[data-label=Duration]").inner_text())
    labels = history.locator("#archive-rows .badge").all_inner_texts()
    assert set(labels) <= {"Recording", "Paused", "Processing", "Ready", "Failed", "Deleted"}
    assert "Ready" not in history.locator("thead").inner_text()  # one plain status column
    assert_accessible(history, "history with a ready recording")
    history.screenshot(path=SCREENSHOTS / "archives-page-plain.png")

    history.once("dialog", lambda dialog: dialog.dismiss())
    row.locator("[data-testid=delete]").click()
    assert row.locator(".badge").inner_text() == "Ready"  # dismissed: nothing deleted
    history.once("dialog", lambda dialog: dialog.accept())
    row.locator("[data-testid=delete]").click()
    history.locator(f"tr[data-archive-id='{archive_id}'] .badge:text-is('Deleted')").wait_for()
    assert _row(history, archive_id).locator("[data-testid=delete]").count() == 0
    answer = requests.get(f"{dev.url}/archive/{archive_id}", timeout=10).json()
    assert answer["status"] == "deleted"
    assert_accessible(history, "history with a deleted recording")


def test_the_history_looks_again_soon_once_a_row_changes(dev: DevProcess, browser) -> None:
    """The history looks at a row still changing less and less often (3 s, 4.5 s, ... up to a
    minute), but 3 s after it has changed: a recording that stops is Processing, then Ready
    seconds later, not at the slowed-down pace. The page's clock is Playwright's, so the looks
    come when the test moves it; the first look after Stop is shown Processing (processing here
    takes a second)."""
    room = "history-looks-room"
    host, archive_id = _host_records(dev, browser, room)
    processing: list[int] = []

    def shown_processing(archive: dict) -> None:
        if processing:
            processing.pop()
            archive.update(status="stopped", ready=False)

    history = host.context.new_page()
    history.set_default_timeout(WAIT_MS)
    history.clock.install()
    _rewrite_lookups(history, re.compile(rf"/archive/{archive_id}$"), shown_processing)
    history.goto(f"{dev.url}/archives.html")
    _row(history, archive_id).locator(".badge:text-is('Recording')").wait_for()

    def looked(move) -> str:
        """Moves the page's clock (one look at most comes of it) and gives the row's badge
        once the row has been looked at again (each look builds the row anew)."""
        _row(history, archive_id).evaluate("row => { row.dataset.before = 'yes'; }")
        move()
        again = history.locator(f"tr[data-archive-id='{archive_id}']:not([data-before])")
        again.wait_for()
        return again.locator(".badge").inner_text()

    # An hour on in one jump, which fires the one look due (3 s after the page loaded).
    now = history.evaluate("Date.now()")
    assert looked(lambda: history.clock.pause_at(now + 3_600_000)) == "Recording"
    processing.append(1)
    host.click("#stop")
    eventually(
        lambda: requests.get(f"{dev.url}/archive/{archive_id}", timeout=10).json()["ready"],
        timeout=WAIT_MS / 1000,
        interval=0.2,
    )
    # Jumps, which fire a timer due at most once, the look's own: not its request's timeout.
    assert looked(lambda: history.clock.fast_forward(60_000)) == "Processing"
    # Unchanged, the next look would come 6.75 s on (after 3 s, then 4.5 s): 3 s on, now.
    assert looked(lambda: history.clock.fast_forward(3_000)) == "Ready"


def test_broken_links_and_room_names_get_a_plain_sentence_and_a_way_back(
    dev: DevProcess, browser
) -> None:
    """A mangled, unknown or missing recording id, an expired recording (served by the browser
    as GET /archive/{id} describes one, as in the failed test above), and a room name the API
    would refuse: each gets a sentence in plain words and a way back, never the API's wording.
    The same for the original sample's View Archive links (/archive/{id}/view) that lead nowhere."""
    unknown = "0b7c6a1e-2f43-4d6b-9a51-3f0c2d9e8a18"
    for link, title in [
        ("view.html?archiveId=garbage", "This link is broken"),
        (f"view.html?archiveId={unknown}", "Recording not found"),
        ("view.html?archiveId=", "No recording chosen"),
        ("archive/garbage/view", "This link is broken"),
        (f"archive/{unknown}/view", "Recording not found"),
    ]:
        page = open_page(browser, f"{dev.url}/{link}")
        assert "/view.html?" in page.url
        page.wait_for_function(f"() => document.querySelector('#title').textContent === {title!r}")
        status = page.locator("#status").inner_text()
        assert "{" not in status and "HTTP" not in status and "UUID" not in status
        assert page.locator("#way-back a[href='index.html']").is_visible()
        assert page.locator("#stage").is_hidden() and page.locator("#spinner").is_hidden()
        assert_accessible(page, f"view of {title!r}")
        page.context.close()

    expired_id = "0b7c6a1e-2f43-4d6b-9a51-3f0c2d9e8a19"
    expired = {"id": expired_id, "status": "expired", "name": "Old · 2025-01-01 10:00"}
    expired.update(createdAt=1735725600000, duration=60, size=0, ready=False, url=None)
    context = browser.new_context()
    context.route(
        re.compile(rf"/archive/{expired_id}$"),
        lambda route: route.fulfill(status=200, json=expired),
    )
    page = context.new_page()
    page.goto(f"{dev.url}/view.html?archiveId={expired_id}")
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.includes('expired')"
    )
    assert page.locator("#status").inner_text() == (
        "This recording has expired and is no longer available."
    )
    assert page.locator("#way-back a[href='index.html']").is_visible()
    assert_accessible(page, "view of an expired recording")
    context.close()

    for room in ["%25%25%25%25", "a" * 88]:
        # As the host: in `host` control the default room is no participant's to open.
        page = open_page(browser, f"{dev.url}/?room={room}#host={dev.host_key}")
        error = page.locator("#error")
        error.wait_for(state="visible")
        assert "room name is invalid" in error.inner_text()
        assert "Starting your camera" not in page.locator("#publisher-placeholder").inner_text()
        assert_accessible(page, f"invalid room {room[:8]}")
        page.click("#error-retry")  # "Open the default room"
        page.wait_for_selector("[data-testid=connection-status][data-state=connected]")
        page.wait_for_selector("#start:enabled")
        assert page.url.endswith("?room=session")
        page.context.close()


def test_a_new_room_says_nobody_else_is_there(dev: DevProcess, browser) -> None:
    # A typo of a room in use, by its host (only hosts make rooms in `host` control).
    first = open_page(browser, f"{dev.url}/?room=standupp#host={dev.host_key}")
    first.locator("[data-testid=new-room]").wait_for(state="visible")
    assert "new room" in first.locator("#subscribers-empty").inner_text()
    second = open_page(browser, participant_link(first))
    second.wait_for_selector("[data-testid=connection-status][data-state=connected]")
    assert second.locator("[data-testid=new-room]").is_hidden()


def test_make_dev_says_it_is_the_local_stack_and_forgets_everything(
    dev: DevProcess, browser
) -> None:
    printed = "".join(dev.output)
    assert "records\nwhat they publish" in printed and "restart forgets it" in printed
    assert "test pattern" not in printed
    for path in ("/", "/archives.html", "/view.html?archiveId=garbage"):
        page = open_page(browser, f"{dev.url}{path}")
        notice = page.locator("[data-testid=local-notice]")
        notice.wait_for(state="visible")
        assert "local test stack" in notice.inner_text().lower()
        assert "forgets" in notice.inner_text() and "test pattern" not in notice.inner_text()
        page.context.close()


# Every text the page's recording news shows, as it changes.
NEWS_LOG = """() => {
  window.__news = [];
  const news = document.getElementById('recording-news');
  new MutationObserver(() => window.__news.push(news.textContent)).observe(
    news, {childList: true, subtree: true, characterData: true, attributes: true});
}"""
# Another client of the room, in the page, signals `archive` as a page may in OpenTok.js;
# resolves once OpenTok took the signal (it is then on its way to every client of the room).
FORGE = """([key, sessionId, token, data]) => new Promise((done, failed) => {
  const session = OT.initSession(key, sessionId);
  setTimeout(() => failed(new Error('no answer in 20 s')), 20000);
  session.connect(token, (error) => error ? failed(error)
    : session.signal({type: 'archive', data}, (refused) => refused ? failed(refused) : done(true)));
})"""


def test_a_page_in_the_room_cannot_pass_off_news_of_the_recording(dev: DevProcess, browser) -> None:
    """Only the server's signal (it has no sender) changes what the room is told."""
    room = "forged-news"
    host = open_page(browser, f"{dev.url}/?room={room}#host={dev.host_key}")
    host.wait_for_selector("#start:enabled")
    host.evaluate(NEWS_LOG)
    link = participant_link(host)
    invite = link.split("?room=", 1)[1]
    joined = requests.get(f"{dev.url}/room/{invite}", timeout=10).json()  # a participant's
    forged = json.dumps({"archiveId": str(uuid.uuid4()), "state": "deleted"})
    other = open_page(browser, link)
    assert other.evaluate(FORGE, [joined["apiKey"], joined["sessionId"], joined["token"], forged])

    host.click("#start")
    host.wait_for_function(
        "() => document.querySelector('#recording-indicator').textContent.includes('00:01')"
    )
    host.click("#stop")
    host.locator("#watch-link").wait_for(state="visible")  # the server's word came after

    shown = host.evaluate("window.__news")
    assert not any("deleted" in text for text in shown), shown


def test_an_individual_recording_plays_each_stream_in_a_player_of_its_own(
    dev: DevProcess, browser
) -> None:
    """Two people publish, the host records each stream (outputMode individual), and the
    page of the recording, once its zip is split, has a playing video per stream."""
    host = requests.get(f"{dev.url}/room/panel", headers={"x-host-key": dev.host_key}, timeout=10)
    guest = requests.get(f"{dev.url}/room/{host.json()['invite']}", timeout=10)
    session_id = host.json()["sessionId"]

    def publish(token: str, name: str) -> None:
        connected = requests.post(
            f"{dev.url}/_emulator/sessions/{session_id}/connections",
            json={"token": token},
            timeout=10,
        )
        connection_id = connected.json()["connectionId"]
        requests.post(
            f"{dev.url}/_emulator/connections/{connection_id}/streams",
            json={"name": name, "hasAudio": True, "hasVideo": True},
            timeout=10,
        ).raise_for_status()

    authorization = {"authorization": f"Bearer {host.json()['token']}"}
    publish(host.json()["token"], "host")
    started = requests.post(
        f"{dev.url}/archive/start",
        json={"sessionId": session_id, "outputMode": "individual", "name": "Panel"},
        headers=authorization,
        timeout=20,
    )
    assert started.status_code == 200, started.text
    archive_id = started.json()["id"]
    publish(guest.json()["token"], "guest")  # joins the recording a little later
    stopped = requests.post(
        f"{dev.url}/archive/{archive_id}/stop", headers=authorization, timeout=20
    )
    assert stopped.status_code == 200, stopped.text
    ready = dev.wait_until_ready(archive_id)
    assert len(ready["streams"]) == 2

    page = open_page(browser, f"{dev.url}/view.html?archiveId={archive_id}")
    players = page.locator("[data-testid=stream-player]")
    players.first.wait_for(state="visible")
    assert players.count() == 2
    for index in range(2):
        page.wait_for_function(
            "(i) => { const v = document.querySelectorAll('[data-testid=stream-player]')[i];"
            " return v.readyState >= 1 && v.duration > 0; }",
            arg=index,
        )
    whos = page.locator(".stream-who").all_inner_texts()
    assert whos == ["Participant 1", "Participant 2"]
    for when in page.locator(".stream-when").all_inner_texts():
        assert re.fullmatch(r"\d\d:\d\d \u2013 \d\d:\d\d into the recording|from \d\d:\d\d", when)
    download = page.locator("#download")
    assert download.inner_text() == "Download ZIP"
    assert "archive.zip" in download.get_attribute("href")
    assert page.locator("#player").is_hidden()  # the one-video player is the composed one's
    assert_accessible(page, "a player per stream")
    page.screenshot(path=SCREENSHOTS / "per-stream-view.png", full_page=True)


_CALL_THE_API = """async ({url, key}) => {
  try {
    const answer = await fetch(url, {method: "DELETE", headers: {"x-host-key": key}});
    return answer.status;
  } catch (error) {
    return String(error);
  }
}"""


def test_the_api_answers_a_page_of_an_allowed_origin_and_refuses_another(
    dev: DevProcess, browser
) -> None:
    # make dev's own origin is allowed (AllowedOrigins, as the deployed site's is): a page there
    # calling the API under another name (localhost) makes the browser preflight the DELETE
    # with x-host-key. The same page served from localhost is a foreign origin.
    port = dev.url.rsplit(":", 1)[1]
    archive = f"archive/{uuid.uuid4()}"
    context = browser.new_context()
    try:
        allowed = context.new_page()
        allowed.goto(f"{dev.url}/")
        answered = allowed.evaluate(
            _CALL_THE_API, {"url": f"http://localhost:{port}/{archive}", "key": dev.host_key}
        )
        assert answered == 404  # the preflight passed, and the page reads the API's answer
        foreign = context.new_page()
        foreign.goto(f"http://localhost:{port}/")
        refused = foreign.evaluate(
            _CALL_THE_API, {"url": f"{dev.url}/{archive}", "key": dev.host_key}
        )
        assert refused == "TypeError: Failed to fetch"
    finally:
        context.close()


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (375, 740)], ids=["desktop", "phone"])
def test_a_second_recording_offers_nothing_of_the_first_while_it_runs(
    dev: DevProcess, browser, width: int, height: int
) -> None:
    """Issue 24, point 2: a "View recording" beside "Recording 00:03" was the previous one's."""
    host = open_page(
        browser, f"{dev.url}/?room=second-take-{width}#host={dev.host_key}", width, height
    )
    host.wait_for_selector("#start:enabled")
    host.click("#start")
    host.locator("#stop:enabled").wait_for()
    host.click("#stop")
    host.locator("#view-link:visible, #watch-link:visible").first.wait_for()
    first = host.get_attribute("#view-link", "data-archive-id")

    host.click("#start")
    host.locator("#recording-indicator").wait_for(state="visible")
    host.locator("#stop:enabled").wait_for()
    assert host.locator("#view-link").is_hidden()
    assert host.locator("#recording-news").is_hidden()
    host.screenshot(path=SCREENSHOTS / f"second-recording-{width}.png")

    host.click("#stop")
    host.locator("#view-link:visible, #watch-link:visible").first.wait_for()
    second = host.get_attribute("#view-link", "data-archive-id")
    assert second and second != first
    news = host.locator("#recording-news")
    if news.is_visible():
        assert news.get_attribute("data-archive-id") == second


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (375, 740)], ids=["desktop", "phone"])
def test_the_hosts_start_and_the_outcome_of_stop_are_in_view_without_scrolling(
    dev: DevProcess, browser, width: int, height: int
) -> None:
    """Issue 24, points 1 and 6: Start was at 783-827 px of an 800 px window, and after Stop
    the recording options pushed "Recording ready — watch" below the fold."""
    host = open_page(browser, f"{dev.url}/?room=in-view-{width}#host={dev.host_key}", width, height)
    host.wait_for_selector("#start:enabled")
    assert _in_first_screen(host, "#start")
    host.click("#start")
    host.locator("#stop:enabled").wait_for()
    assert _in_first_screen(host, "#stop")
    host.click("#stop")
    host.locator("#watch-link").wait_for(state="visible")  # ready, as the room is told
    host.locator("#recording-options").wait_for(state="visible")  # the options are back
    assert _in_first_screen(host, "#watch-link")
    host.screenshot(path=SCREENSHOTS / f"outcome-in-view-{width}.png")


def test_a_recording_opentok_fails_says_so_with_its_reason_on_the_page_and_in_the_history(
    dev: DevProcess, browser
) -> None:
    """Issue 24, points 4 and 9: the emulator's fail-recording fault, as README lists it."""
    fault = requests.post(
        f"{dev.url}/_emulator/faults", json={"kind": "fail-recording"}, timeout=10
    )
    assert fault.status_code < 300, fault.text
    host = open_page(browser, f"{dev.url}/?room=fails-{uuid.uuid4().hex[:6]}#host={dev.host_key}")
    guest = open_page(browser, participant_link(host), width=375, height=740)
    host.wait_for_selector("#start:enabled")
    host.click("#start")
    host.locator("#stop:enabled").wait_for()
    host.click("#stop")
    for page in (host, guest):
        page.locator("#recording-news[data-state=failed]").wait_for()
        assert _in_first_screen(page, "#recording-news")
    guest.screenshot(path=SCREENSHOTS / "sample-page-failed-phone.png")
    archive_id = host.locator("#recording-news").get_attribute("data-archive-id")

    history = host.context.new_page()
    history.set_default_timeout(WAIT_MS)
    history.goto(f"{dev.url}/archives.html")
    row = history.locator(f"tr[data-archive-id='{archive_id}']")
    row.wait_for()
    assert "Failed" in row.inner_text()
    reason = row.locator("[data-testid=archive-reason]")
    assert reason.inner_text() == "OpenTok could not produce or store the video"
    assert_accessible(history, "history with a failed recording")
    history.screenshot(path=SCREENSHOTS / "archives-page-failed.png")
    history.set_viewport_size({"width": 375, "height": 740})
    assert reason.is_visible()
    history.screenshot(path=SCREENSHOTS / "archives-page-failed-phone.png")


# The widest the recording's indicator gets: hours recorded and hours left, as 4 hours near.
WIDEST_INDICATOR = """() => {
  document.querySelector('#recording-elapsed').textContent = '3:59:59';
  const left = document.querySelector('#recording-left');
  left.hidden = false;
  left.textContent = '0:00:01 left';
  return document.documentElement.scrollWidth;
}"""


@pytest.mark.parametrize("width", [320, 375])
def test_a_recording_page_reflows_at_narrow_widths(dev: DevProcess, browser, width: int) -> None:
    """Issue 24, point 5 (WCAG 1.4.10): at 320 px the page was 359 px wide while recording, and
    at 375 px an hour's indicator left 2 px of margin. No sideways scrolling, whatever it says."""
    room = f"narrow-{width}"
    host = open_page(browser, f"{dev.url}/?room={room}#host={dev.host_key}", width, 740)
    host.wait_for_selector("#start:enabled")
    assert host.evaluate("() => document.documentElement.scrollWidth") <= width
    host.click("#start")
    host.locator("#layout-change").wait_for(state="visible")  # the widest control while recording
    assert host.evaluate(WIDEST_INDICATOR) <= width
    indicator = host.locator("#recording-indicator").bounding_box()
    assert indicator is not None and indicator["x"] + indicator["width"] <= width - 16
    host.screenshot(path=SCREENSHOTS / f"recording-at-{width}.png")


def test_the_host_records_a_video_per_person_named_as_in_the_call(dev: DevProcess, browser) -> None:
    """Issue 24, point 7: the page offers individual streams, and each stream's player on the
    recording's page has the name its person had in the call, not "Participant 1"."""
    room = f"per-person-{uuid.uuid4().hex[:6]}"
    host = open_page(browser, f"{dev.url}/?room={room}#host={dev.host_key}")
    guest = open_page(browser, participant_link(host), width=375, height=740)
    guest_name = host.locator("#subscribers .tile-caption").first
    host_name = guest.locator("#subscribers .tile-caption").first
    guest_name.wait_for()
    host_name.wait_for()
    names = {guest_name.inner_text(), host_name.inner_text()}
    assert len(names) == 2

    host.select_option("#option-output", "individual")
    assert host.locator("#option-layout").is_disabled()  # no layout for a video per person
    host.click("#start")
    host.wait_for_function(
        "() => document.querySelector('#recording-indicator').textContent.includes('00:01')"
    )
    host.click("#stop")
    watch = host.locator("#watch-link")
    watch.wait_for(state="visible")  # ready once its zip is split into streams
    page = open_page(browser, f"{dev.url}/{watch.get_attribute('href')}")
    phone = open_page(browser, page.url, width=375, height=740)
    for viewer in (page, phone):
        viewer.locator("[data-testid=stream-player]").first.wait_for(state="visible")
        assert set(viewer.locator(".stream-who").all_inner_texts()) == names
    page.screenshot(path=SCREENSHOTS / "per-person-view.png", full_page=True)
    phone.screenshot(path=SCREENSHOTS / "per-person-view-phone.png", full_page=True)


@pytest.fixture
def cameras(browser, tmp_path) -> Iterator[tuple[object, object]]:
    """Two browsers with a fake camera and microphone each: red with a tone, blue and silent."""
    launched = [
        browser.browser_type.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS + fake_camera(tmp_path, colour, tone)
        )
        for colour, tone in ((RED, 440.0), (BLUE, None))
    ]
    yield launched[0], launched[1]
    for each in launched:
        each.close()


# The colour in the middle of the other's video as the page shows it.
SUBSCRIBER_COLOUR = """() => {
  const video = document.querySelector('#subscribers video');
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const context = canvas.getContext('2d');
  context.drawImage(video, 0, 0);
  const middle = context.getImageData(canvas.width / 2, canvas.height / 2, 1, 1);
  return Array.from(middle.data).slice(0, 3);
}"""


def _record(dev: DevProcess, host, room: str, seconds: int) -> tuple[dict, bytes]:
    """The host records for `seconds` by the page's own timer; the recording, once ready, and
    its file as the view link serves it (one stream's for a video per person: see the caller)."""
    host.click("#start")
    host.locator("#recording-indicator").wait_for(state="visible")
    archive = eventually(lambda: _recording_of_room(dev, room))
    host.wait_for_function(
        "(s) => document.querySelector('#recording-elapsed').textContent >= s",
        arg=f"00:{seconds:02d}",
    )
    host.click("#stop")
    host.locator("#recording-indicator").wait_for(state="hidden")
    return dev.wait_until_ready(archive["id"]), _view(dev, archive["id"])


def _view(dev: DevProcess, archive_id: str) -> dict:
    answer = requests.get(
        f"{dev.url}/archive/{archive_id}/view", headers={"accept": "application/json"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_recording_is_the_call_that_was_made_composed_and_per_person(
    dev: DevProcess, cameras
) -> None:
    """Two people with cameras of their own see and hear each other; the host records the call
    as one video in HD, then as a video per person without sound, and each holds what was
    published: the tiles, the streams, the sound, the size and the length asked for."""
    red_browser, blue_browser = cameras
    room = f"call-{uuid.uuid4().hex[:6]}"
    host = open_page(red_browser, f"{dev.url}/?room={room}#host={dev.host_key}")
    guest = open_page(blue_browser, participant_link(host))
    for page, other in ((host, BLUE), (guest, RED)):
        page.wait_for_function(PLAYS_THE_OTHER)
        eventually(lambda page=page, other=other: near(page.evaluate(SUBSCRIBER_COLOUR), other))
    red_stream = guest.locator(".subscriber-tile").get_attribute("data-stream-id")
    blue_stream = host.locator(".subscriber-tile").get_attribute("data-stream-id")
    host.screenshot(path=SCREENSHOTS / "call-host-sees-guest.png")

    host.get_by_label("Resolution").select_option("1280x720")
    ready, view = _record(dev, host, room, seconds=2)
    body = requests.get(view["url"], timeout=10).content
    found = probe(body)
    assert (found.video, found.audio, found.width, found.height) == ("h264", "aac", 1280, 720)
    # As long as OpenTok says it recorded (our record may learn the duration after it is ready).
    assert abs(found.seconds - _at_opentok(dev, ready["id"])["archive"]["duration"]) <= 1
    # Best fit, side by side in the order they joined: the host's camera, then the guest's.
    left, right = colours(body, (0.1, 0.3, 0.3, 0.4)), colours(body, (0.6, 0.3, 0.3, 0.4))
    assert near(left[len(left) // 2], RED) and near(right[len(right) // 2], BLUE)
    # The host's tone, quieter for the browser's processing of a microphone; silence is 0.
    assert loudness(body) > 0.01

    host.get_by_label("Videos").select_option("individual")
    host.get_by_label("Record", exact=True).select_option("video")
    ready, view = _record(dev, host, room, seconds=2)
    streams = {stream["streamId"]: stream for stream in view["streams"]}
    assert set(streams) == {red_stream, blue_stream}
    # The zip OpenTok uploaded holds the two, each the file the site serves of it.
    manifest, zipped = individual_streams(requests.get(view["url"], timeout=10).content)
    assert set(zipped) == {red_stream, blue_stream} == {f["streamId"] for f in manifest["files"]}
    for stream_id, colour in ((red_stream, RED), (blue_stream, BLUE)):
        body = requests.get(streams[stream_id]["url"], timeout=10).content
        assert body == zipped[stream_id]
        found = probe(body)
        assert (found.video, found.audio) == ("vp8", None)
        frames = colours(body)
        # From its start in the recording, which the page's first chunk follows closely.
        assert all(near(frame, colour) for frame in frames[len(frames) // 3 :])
    host.screenshot(path=SCREENSHOTS / "call-recorded.png")
