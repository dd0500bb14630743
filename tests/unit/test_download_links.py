"""OpenTok's download links (backend.download_links, backend.copy_upload): the view redirects
to one and the copy fetches one only where OpenTok serves archives from, and no redirect
leads the copy anywhere else (issue 23: a doctored answer made /view answer
`302 javascript:alert(1)` and the copy fetch a local address)."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend import config, copy_upload, download_links

# The host of the download links in OpenTok's SDK tests (backend.download_links cites them).
OPENTOK = "https://tokbox.com.archive2.s3.amazonaws.com/123456/b40ef09b/archive.mp4?X=1"
EMULATOR = "http://127.0.0.1:4570"

REFUSED = {
    "a script": "javascript:alert(1)",
    "plain http to OpenTok's host": OPENTOK.replace("https:", "http:"),
    "another host": "https://evil.example/archive.mp4",
    "OpenTok's host as a subdomain of another": OPENTOK.replace(".com/", ".com.evil.example/"),
    "OpenTok's host as a user name": "https://tokbox.com.archive2.s3.amazonaws.com@evil.example/",
    "another port of OpenTok's host": OPENTOK.replace(".com/", ".com:8443/"),
    "a local address": "http://169.254.169.254/latest/meta-data/",
    "the emulator's host on another port": "http://127.0.0.1:4571/_emulator/archives/a/archive.mp4",
    "a port that is no number": "https://tokbox.com.archive2.s3.amazonaws.com:x/",
    # urlsplit reads OpenTok's host in these; urllib3 and browsers read evil.example.
    "a backslash before OpenTok's host": "https://evil.example\\@tokbox.com.archive2.s3.amazonaws.com/a.mp4",
    "a port and a backslash": "https://evil.example:8443\\@tokbox.com.archive2.s3.amazonaws.com/",
    "a tab in the host": "https://tokbox.com.archive2.s3.amazonaws.com\t.evil.example/",
    "no link at all": None,
    "a link that is no text": 42,
}


@pytest.mark.parametrize("url", REFUSED.values(), ids=REFUSED.keys())
def test_a_link_elsewhere_is_not_believed(url: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "OPENTOK_API_URL", EMULATOR)
    assert download_links.trusted(url) is None


def test_opentoks_own_link_is_believed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "OPENTOK_API_URL", "")
    assert download_links.trusted(OPENTOK) == OPENTOK


def test_the_emulators_link_is_believed_only_where_the_emulator_is_the_api(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    link = f"{EMULATOR}/_emulator/archives/b40ef09b/archive.mp4?expires=1"
    monkeypatch.setattr(config, "OPENTOK_API_URL", "")
    assert download_links.trusted(link) is None
    monkeypatch.setattr(config, "OPENTOK_API_URL", EMULATOR)
    assert download_links.trusted(link) == link


class Redirecting:
    """A loopback server whose every GET is sent on to `/elsewhere` of itself, counted."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        seen = self.asked

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                self.send_response(302)
                self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def redirecting() -> Iterator[Redirecting]:
    server = Redirecting()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_the_copy_follows_no_redirect(
    redirecting: Redirecting, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "OPENTOK_API_URL", redirecting.url)
    link = copy_upload.Link(f"{redirecting.url}/archive.mp4", lambda: "")
    with pytest.raises(copy_upload.CopyFailed, match="redirect"):
        copy_upload._read_part(link, 0)
    assert "/elsewhere" not in redirecting.asked
    assert redirecting.asked  # it was asked, and said go elsewhere


def test_a_fresh_link_elsewhere_is_not_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "OPENTOK_API_URL", "")
    link = copy_upload.Link(OPENTOK, lambda: "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(copy_upload.CopyFailed, match="not where OpenTok serves archives"):
        link.current(force=True)
