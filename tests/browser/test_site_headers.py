"""The pages under the site's own headers in a real browser: make dev serves the CSP of the
template's response headers policy, and pins its OpenTok.js stand-in with an integrity."""

import base64

import pytest

from tests.support.browser import WAIT_MS
from tests.support.dev_process import DevProcess

pytestmark = pytest.mark.browser

# Before any script of the page: every CSP violation the page hears, and what the console says.
WATCH_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.cspViolations.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""


def _watched_page(browser, url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.refused = []  # the console's reports of what a policy refused
    page.on(
        "console",
        lambda message: (
            page.refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(url)
    return page


def _violations(page) -> list[str]:
    return page.evaluate("window.cspViolations") + page.refused


def test_the_pages_record_and_play_under_the_sites_content_security_policy(
    dev: DevProcess, browser
) -> None:
    host = _watched_page(browser, f"{dev.url}/?room=under-policy#host={dev.host_key}")
    host.wait_for_function("() => document.querySelector('#publisher video')?.videoWidth > 0")
    host.click("#start")
    host.wait_for_function(
        "() => document.querySelector('#recording-indicator').textContent.includes('00:02')"
    )
    host.click("#stop")
    host.locator("#view-link:visible, #watch-link:visible").first.wait_for()
    archive_id = host.get_attribute("#view-link", "data-archive-id")

    # The player loads the recording from the bucket's presigned link (media-src).
    view = _watched_page(browser, f"{dev.url}/view.html?archiveId={archive_id}")
    view.locator("#player").wait_for(state="visible")
    view.evaluate("document.querySelector('#player').play()")
    view.wait_for_function("() => document.querySelector('#player').currentTime > 0.5")

    history = _watched_page(browser, f"{dev.url}/archives.html#host={dev.host_key}")
    history.locator(f"[data-archive-id='{archive_id}']").wait_for()
    for page in (host, view, history):
        assert _violations(page) == [], page.url

    # And the policy is in force: a script written into the page does not run.
    ran = history.evaluate(
        """() => {
          const script = document.createElement('script');
          script.textContent = 'window.injectedScriptRan = true';
          document.head.appendChild(script);
          return window.injectedScriptRan === true;
        }"""
    )
    assert not ran
    history.wait_for_function("() => window.cspViolations.length > 0")
    assert history.evaluate("window.cspViolations") == ["script-src-elem inline"]


def test_an_opentok_js_that_is_not_the_pinned_file_is_refused_with_a_plain_error(
    dev: DevProcess, browser
) -> None:
    # The stand-in as make dev serves it, but config.js pins another file's digest.
    other_file = "sha384-" + base64.b64encode(bytes(48)).decode()

    def pin_another_file(route) -> None:
        fetched = route.fetch()
        pinned = f'{fetched.text()}window.OPENTOK_JS_INTEGRITY = "{other_file}";\n'
        route.fulfill(response=fetched, body=pinned)

    context = browser.new_context()
    context.route("**/js/config.js", pin_another_file)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{dev.url}/?room=pinned-elsewhere")

    page.locator("#error").wait_for(state="visible")
    said = page.locator("#error-message").inner_text()
    assert "Couldn't load OpenTok.js" in said and "OPENTOK_JS_INTEGRITY" in said, said
    assert page.evaluate("typeof window.OT") == "undefined"
    assert any("integrity" in line for line in console), console  # the browser's own reason
    assert page.locator("#publisher video").count() == 0
