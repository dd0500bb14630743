"""`make dev`: the whole recording flow over real HTTP on one origin, S3 events included."""

import json
import re
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from local.aws.template import Template
from tests.support.dev_process import DevProcess, make_dev
from tests.support.waiting import eventually

# Where a person serves the original OpenTok.js Archiving sample page, another origin.
SAMPLE_ORIGIN = "http://localhost:8000"


@pytest.fixture(scope="module")
def dev() -> Iterator[DevProcess]:
    stack = DevProcess()
    yield stack
    assert stack.stop() == 0, "".join(stack.output)


def _events(url: str, seen: list[tuple[str, dict]], stop: threading.Event) -> None:
    with requests.get(url, stream=True, timeout=30) as answer:
        kind = None
        # One byte at a time: a bigger chunk would wait for more events before yielding.
        for line in answer.iter_lines(chunk_size=1, decode_unicode=True):
            if stop.is_set():
                return
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind:
                seen.append((kind, json.loads(line.split(":", 1)[1])))


def test_a_recording_goes_from_start_to_playable_through_make_dev(
    dev: DevProcess,
) -> None:
    joined = requests.get(
        f"{dev.url}/room/local-flow", headers={"x-host-key": dev.host_key}, timeout=10
    ).json()
    host = {"authorization": f"Bearer {joined['token']}"}
    connection = requests.post(
        f"{dev.url}/_emulator/sessions/{joined['sessionId']}/connections",
        json={"token": joined["token"]},
        timeout=10,
    )
    assert connection.status_code == 201
    seen: list[tuple[str, dict]] = []
    stop = threading.Event()
    listener = threading.Thread(
        target=_events,
        args=(
            f"{dev.url}/_emulator/connections/{connection.json()['connectionId']}/events",
            seen,
            stop,
        ),
        daemon=True,
    )
    listener.start()

    started = dev.start(joined["sessionId"], host).json()
    eventually(lambda: ("archiveStarted", started["id"]) in [(k, e.get("id")) for k, e in seen])
    stopped = requests.post(
        f"{dev.url}/archive/{started['id']}/stop", headers=host, timeout=10
    ).json()
    assert stopped["status"] == "stopped"
    eventually(lambda: ("archiveStopped", started["id"]) in [(k, e.get("id")) for k, e in seen])

    # Ready only through the bucket's own notification, delivered to the ready function.
    archive = dev.wait_until_ready(started["id"])
    assert archive["status"] == "uploaded"

    view = requests.get(
        f"{dev.url}/archive/{started['id']}/view", allow_redirects=False, timeout=10
    )
    assert view.status_code == 302
    video = requests.get(view.headers["location"], headers={"Range": "bytes=0-99"}, timeout=10)
    assert video.status_code == 206
    assert video.content[4:8] == b"ftyp"
    stop.set()


def test_the_site_and_its_config_are_served_from_the_same_origin(dev: DevProcess) -> None:
    page = requests.get(f"{dev.url}/", timeout=10)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    config = requests.get(f"{dev.url}/js/config.js", timeout=10).text
    assert f'SAMPLE_SERVER_BASE_URL = "{dev.url}"' in config
    assert f"{dev.url}/local/opentok.js" in config
    assert requests.get(f"{dev.url}/local/opentok.js", timeout=10).status_code == 200
    assert requests.get(f"{dev.url}/../template.yaml", timeout=10).status_code == 404


def _policy_headers() -> dict[str, str]:
    """The headers of the response headers policy the site's distribution names, rendered for
    make dev's stack, as CloudFront writes them; Strict-Transport-Security aside."""
    template = Template()
    behavior = template.translated()["Resources"]["SiteDistribution"]["Properties"][
        "DistributionConfig"
    ]["DefaultCacheBehavior"]
    rendered = template.render({"OpenTokApiKey": "12345", "OpenTokApiSecret": "secret"})
    named = rendered["Resources"][behavior["ResponseHeadersPolicyId"]["Ref"]]
    security = named["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    return {
        "content-security-policy": security["ContentSecurityPolicy"]["ContentSecurityPolicy"],
        "x-content-type-options": "nosniff",
        "x-frame-options": security["FrameOptions"]["FrameOption"],
        "referrer-policy": security["ReferrerPolicy"]["ReferrerPolicy"],
    }


def _directives(policy: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (part.split() for part in policy.split(";"))}


def test_make_dev_answers_its_pages_with_the_headers_of_the_sites_policy(dev: DevProcess) -> None:
    expected = _policy_headers()
    local = re.compile(r"http://(127\.0\.0\.1|localhost):\d+")
    for path in (
        "/",
        "/index.html",
        "/view.html",
        "/archives.html",
        "/js/app.js",
        "/js/config.js",
        "/local/opentok.js",
        "/missing.html",
    ):
        served = requests.get(f"{dev.url}{path}", timeout=10).headers
        for name in ("x-content-type-options", "x-frame-options", "referrer-policy"):
            assert served[name] == expected[name], (path, name)
        # Plain HTTP on this machine: a host must not send HSTS there (RFC 6797, 7.2).
        assert "strict-transport-security" not in served, path
        policy = _directives(expected["content-security-policy"])
        given = _directives(served["content-security-policy"])
        assert set(given) == set(policy), path
        for directive, sources in policy.items():
            added = [source for source in given[directive] if source not in sources]
            assert given[directive][: len(sources)] == sources, (path, directive)
            # Only the local API's and bucket's origins, where the policy names AWS's.
            assert all(local.fullmatch(source) for source in added), (path, directive, added)
            assert not added or directive in ("connect-src", "media-src"), (path, directive)


def test_make_dev_prints_a_host_link_and_a_participant_link(dev: DevProcess) -> None:
    assert dev.participant_link.startswith(f"{dev.url}/?room=session.")
    assert "#" not in dev.participant_link
    # The key rides in the fragment, which browsers never send: not in any request or log.
    assert dev.host_link == f"{dev.url}/?room=session#host={dev.host_key}"
    room = f"{dev.url}/room/session"
    host = requests.get(room, headers={"x-host-key": dev.host_key}, timeout=10).json()
    invited = f"{dev.url}/room/{dev.participant_link.split('room=', 1)[1]}"
    participant = requests.get(invited, timeout=10).json()
    assert (host["role"], participant["role"]) == ("moderator", "publisher")
    assert host["sessionId"] == participant["sessionId"]
    assert host["archiveControl"] == "host"
    assert requests.get(room, timeout=10).status_code == 404  # the room's name opens nothing


def test_api_answers_like_api_gateway(dev: DevProcess) -> None:
    unknown = requests.get(f"{dev.url}/archive/not-an-id", timeout=10)
    assert unknown.status_code == 400
    assert unknown.headers["content-type"] == "application/json"
    preflight = requests.options(
        f"{dev.url}/archive/start",
        headers={
            "Origin": dev.url,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == dev.url
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "x-host-key"} <= set(
        allowed.replace(" ", "").split(",")
    )
    foreign = requests.get(
        f"{dev.url}/archive", headers={"Origin": "https://elsewhere.example"}, timeout=10
    )
    assert "access-control-allow-origin" not in foreign.headers


def test_ctrl_c_stops_everything() -> None:
    stack = DevProcess()
    port = int(stack.url.rsplit(":", 1)[1])
    # Functions warm, as after any use: their workers get the terminal's Ctrl-C too.
    assert requests.get(
        f"{stack.url}/room/session", headers={"x-host-key": stack.host_key}, timeout=10
    ).ok
    assert requests.get(
        f"{stack.url}/archive", headers={"x-host-key": stack.host_key}, timeout=10
    ).ok
    started = time.monotonic()
    assert stack.stop() == 0, "".join(stack.output)
    assert time.monotonic() - started < 15
    # Issue 24, point 9: no KeyboardInterrupt or BrokenPipe tracebacks on the way out.
    assert "Traceback" not in "".join(stack.output), "".join(stack.output)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/session", timeout=2)


def test_make_dev_refuses_callbacks_its_opentok_did_not_sign(dev: DevProcess) -> None:
    # make dev runs with secure callbacks on: the emulator signs, the callback route checks.
    forged = requests.post(
        f"{dev.url}/archive/callback",
        json={"id": "b40ef09b-3811-4726-b508-e41a0f96c68f", "status": "available"},
        timeout=10,
    )
    assert forged.status_code == 401
    assert "error" in forged.json()


@pytest.fixture(scope="module")
def open_dev() -> Iterator[DevProcess]:
    """make dev PARAMETER_OVERRIDES="ArchiveControl=open AllowedOrigins=<the sample's origin>"."""
    stack = DevProcess(parameters={"ArchiveControl": "open", "AllowedOrigins": SAMPLE_ORIGIN})
    yield stack
    assert stack.stop() == 0, "".join(stack.output)


def test_with_archive_control_open_the_sample_page_records_without_any_token(
    open_dev: DevProcess,
) -> None:
    """The original sample page's requests, from its own origin: GET /session, then a form
    POST of sessionId to /archive/start ($.post), /archive/<id>/stop, /archive/<id>/view."""
    printed = "".join(open_dev.output)
    assert "Host link" not in printed and "#host=" not in printed  # nobody is the host
    assert open_dev.participant_link == f"{open_dev.url}/?room=session"
    sample = {"Origin": SAMPLE_ORIGIN}
    session = requests.get(f"{open_dev.url}/session", headers=sample, timeout=10)
    assert session.headers["access-control-allow-origin"] == SAMPLE_ORIGIN
    joined = session.json()
    assert (joined["archiveControl"], joined["role"]) == ("open", "publisher")
    # The page connects with the publisher token it was given (OpenTok records no empty room).
    connection = requests.post(
        f"{open_dev.url}/_emulator/sessions/{joined['sessionId']}/connections",
        json={"token": joined["token"]},
        timeout=10,
    )
    assert connection.status_code == 201

    started = requests.post(
        f"{open_dev.url}/archive/start",
        data={"sessionId": joined["sessionId"]},  # form-encoded, as $.post sends it
        headers=sample,
        timeout=20,
    )
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "started"
    assert started.headers["access-control-allow-origin"] == SAMPLE_ORIGIN
    archive_id = started.json()["id"]
    stopped = requests.post(f"{open_dev.url}/archive/{archive_id}/stop", headers=sample, timeout=10)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "stopped"

    open_dev.wait_until_ready(archive_id)
    view = requests.get(
        f"{open_dev.url}/archive/{archive_id}/view", allow_redirects=False, timeout=10
    )
    assert view.status_code == 302
    # make dev's own page stays allowed beside the origin the override added.
    own = requests.get(f"{open_dev.url}/session", headers={"Origin": open_dev.url}, timeout=10)
    assert own.headers["access-control-allow-origin"] == open_dev.url


def test_make_dev_prints_the_parameters_in_force_and_masks_secrets(
    open_dev: DevProcess,
) -> None:
    printed = open_dev.printed_parameters()
    specs = Template().document["Parameters"]
    assert list(printed) == list(specs)
    assert printed["ArchiveControl"] == ("open", "PARAMETER_OVERRIDES")
    assert printed["ArchiveMode"] == ("manual", "")  # the template's default
    assert printed["SiteUrl"] == (open_dev.url, "make dev")
    assert printed["AllowedOrigins"] == (
        f"{open_dev.url},{SAMPLE_ORIGIN}",
        "make dev + PARAMETER_OVERRIDES",
    )
    secret = [name for name, spec in specs.items() if spec.get("NoEcho")]
    assert secret, "the template has NoEcho parameters to mask"
    for name in secret:
        assert printed[name][0] == "****", name
    # The emulator's API secret (40 hex digits) is printed nowhere.
    assert not re.search(r"\b[0-9a-f]{40}\b", "".join(open_dev.output))


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ("ArchiveControll=open", "ArchiveControll"),  # no such parameter
        ("ArchiveControl=closed", "ArchiveControl"),  # not in AllowedValues
        ("ParameterKey=PresignedUrlTtlSeconds,ParameterValue=5", "PresignedUrlTtlSeconds"),
        ('ArchiveMode=always OpenTokApiSecret="my own"', "OpenTokApiSecret"),  # make dev's own
    ],
)
def test_make_dev_stops_at_once_on_a_bad_override_with_a_one_line_error(
    overrides: str, named: str
) -> None:
    started = time.monotonic()
    ended = make_dev(overrides)
    assert time.monotonic() - started < 20
    assert ended.returncode != 0
    output = ended.stdout + ended.stderr
    assert "Traceback" not in output
    assert "Open http" not in output  # nothing started
    assert "my own" not in output  # a secret given is not echoed
    # make's own "make: *** [dev] Error 1" aside, one line: ours.
    ours = [line for line in ended.stderr.splitlines() if not re.match(r"make(\[\d+\])?: ", line)]
    assert len(ours) == 1, output
    assert ours[0].startswith("make dev: ") and named in ours[0], output
