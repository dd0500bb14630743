"""The browser layer: one chromium per file, make dev's stack, and nothing left open."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.support.dev_process import DevProcess


@pytest.fixture(scope="module")
def dev() -> Iterator[DevProcess]:
    stack = DevProcess(processing_delay=1.0)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module", autouse=True)
def screenshot_folder() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {SCREENSHOTS}")
    return SCREENSHOTS


@pytest.fixture(autouse=True)
def close_what_the_test_opened(request: pytest.FixtureRequest) -> Iterator[None]:
    """Closes every context (its pages, their fake cameras) a test opened, pass or fail."""
    yield
    if "browser" in request.fixturenames:
        for context in request.getfixturevalue("browser").contexts:
            # A route a test set may still be answering a poll of the page: let it go quietly.
            context.unroute_all(behavior="ignoreErrors")
            for page in context.pages:
                page.unroute_all(behavior="ignoreErrors")
            context.close()
