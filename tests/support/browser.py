"""The sample page in a real browser: Debian's chromium, driven by Playwright, fake camera.

Every page a test opens lives in a context of its own; tests/browser/conftest.py closes every
context a test left open when it ends, so that no fake camera keeps running for the next.
"""

import os
import shutil
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe

from local.aws.template import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS", ROOT / "artifacts"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 20_000


def assert_accessible(page, state: str) -> None:
    """axe-core (bundled by axe-playwright-python) finds nothing on the page as it is now."""
    found = Axe().run(page).response["violations"]
    described = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:3])
        for v in found
    ]
    assert not found, f"{state}: " + "; ".join(described)


def participant_link(host) -> str:
    """The participant link a host's page offers, once its room has answered: the room's
    invite in `host` control, which the host's join made (backend.rooms)."""
    link = host.locator("#invite-link")
    link.wait_for(state="visible")
    return link.get_attribute("href")


def open_page(
    browser,
    url: str,
    width: int = 1280,
    height: int = 860,
    color_scheme: str = "light",
    before_load: str | None = None,
):
    """`before_load`: a script that runs in the page before its own (Playwright's init script,
    which the page's CSP does not govern), to watch what the page does."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, color_scheme=color_scheme
    )
    if before_load:
        context.add_init_script(before_load)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(url)
    return page
