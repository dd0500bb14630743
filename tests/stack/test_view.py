"""GET /archive/{archiveId}/view: the sample's View Archive link, opened by a browser."""

import uuid

import boto3
import pytest
import requests

from tests.support.stack import API_KEY, SITE_URL, Stack


def _stopped_archive(stack: Stack) -> dict:
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    return archive


def test_view_redirects_to_our_copy_once_ready(stack: Stack) -> None:
    archive = _stopped_archive(stack)
    stack.wait_until_uploaded(archive["id"])
    stack.deliver_s3_events()
    calls = len(stack.opentok.calls)
    view = stack.get(f"/archive/{archive['id']}/view", accept="text/html")
    assert view.status == 302
    assert f"{API_KEY}/{archive['id']}/archive.mp4" in view.headers["location"]
    assert view.headers["cache-control"] == "no-store"
    assert len(stack.opentok.calls) == calls  # a ready archive costs no OpenTok call


def test_view_sends_browsers_to_the_waiting_page_until_ready(stack: Stack) -> None:
    archive = stack.record()
    view = stack.get(f"/archive/{archive['id']}/view", accept="text/html")
    assert view.status == 302
    assert view.headers["location"] == f"{SITE_URL}/view.html?archiveId={archive['id']}"


def test_view_answers_json_clients_with_202_and_retry_after_until_ready(stack: Stack) -> None:
    archive = stack.record()
    view = stack.get(f"/archive/{archive['id']}/view", accept="application/json")
    assert view.status == 202
    assert int(view.headers["retry-after"]) > 0
    assert view.json() == {"id": archive["id"], "status": "started", "ready": False, "url": None}


def test_view_answers_json_clients_with_the_link_once_ready(stack: Stack) -> None:
    archive = _stopped_archive(stack)
    stack.wait_until_uploaded(archive["id"])
    stack.deliver_s3_events()
    view = stack.get(f"/archive/{archive['id']}/view", accept="application/json")
    assert view.status == 200
    body = view.json()
    assert body["ready"] is True
    assert f"{archive['id']}/archive.mp4" in body["url"]


def test_view_of_an_archive_kept_in_the_opentok_cloud_redirects_to_a_fresh_opentok_link(
    stack: Stack,
) -> None:
    stack.sdk()  # no upload target: OpenTok keeps the file and serves it itself
    import requests

    requests.delete(
        f"{stack.opentok.url}/v2/project/{API_KEY}/archive/storage",
        headers=stack.sdk().get_json_headers(),
        timeout=5,
    ).raise_for_status()
    archive = _stopped_archive(stack)
    stack.opentok.wait_for(lambda: stack.sdk().get_archive(archive["id"]).status == "available")
    view = stack.get(f"/archive/{archive['id']}/view", accept="text/html")
    assert view.status == 302
    assert view.headers["location"].startswith(stack.opentok.url)
    assert requests.get(view.headers["location"], timeout=5).content[4:8] == b"ftyp"
    # Watchable, yet not ready: `ready` means our copy is in the bucket, here as in GET.
    answer = stack.get(f"/archive/{archive['id']}/view", accept="application/json").json()
    assert (answer["status"], answer["ready"]) == ("available", False)
    assert answer["url"].startswith(stack.opentok.url)
    assert stack.get(f"/archive/{archive['id']}").json()["ready"] is False


@pytest.mark.parametrize(("status", "code"), [("failed", 409), ("expired", 410), ("deleted", 410)])
def test_view_of_an_archive_that_cannot_be_watched_is_a_clear_4xx(
    stack: Stack, status: str, code: int
) -> None:
    archive = stack.record()
    boto3.client("dynamodb").update_item(
        TableName=stack.table,
        Key={"pk": {"S": f"archive#{archive['id']}"}},
        UpdateExpression="SET #s = :s, statusRank = :r",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": status}, ":r": {"N": "4"}},
    )
    view = stack.get(f"/archive/{archive['id']}/view", accept="application/json")
    assert view.status == code
    assert status in view.json()["error"]
    assert "location" not in view.headers
    _sends_browsers_to_the_page(stack, archive["id"])


def test_view_of_an_unknown_archive_is_not_found(stack: Stack) -> None:
    view = stack.get(f"/archive/{uuid.uuid4()}/view")
    assert view.status == 404
    assert "location" not in view.headers


def test_a_stale_or_mangled_view_link_takes_a_browser_to_the_page_and_others_to_a_4xx(
    stack: Stack,
) -> None:
    """The original sample opens /archive/{id}/view in a new window: a person following a dead
    link gets our page, which says what happened; API clients keep the JSON error."""
    for archive_id, code in [(str(uuid.uuid4()), 404), ("not-an-archive", 400)]:
        for accept in ("*/*", "application/json"):
            view = stack.get(f"/archive/{archive_id}/view", accept=accept)
            assert view.status == code
            assert view.json()["error"]
        _sends_browsers_to_the_page(stack, archive_id)


def _sends_browsers_to_the_page(stack: Stack, archive_id: str) -> None:
    # What Chromium sends when a person opens a link.
    navigation = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    view = stack.get(f"/archive/{archive_id}/view", accept=navigation)
    assert view.status == 302
    assert view.headers["location"] == f"{SITE_URL}/view.html?archiveId={archive_id}"


@pytest.mark.parametrize("stack_parameters", [{"SiteUrl": ""}], indirect=True)
def test_view_sends_browsers_to_the_site_the_stack_hosts_by_default(stack: Stack) -> None:
    archive = stack.record()
    view = stack.get(f"/archive/{archive['id']}/view", accept="text/html")
    assert view.status == 302
    distribution = stack.deployment.names["SiteDistribution.DomainName"]
    assert view.headers["location"].startswith(f"https://{distribution}/view.html?")


def test_a_failed_recording_says_so_with_opentoks_reason(stack: Stack) -> None:
    """Upload failed with fallback none: OpenTok keeps nothing and says `failed` (contract §6).
    OpenTok's reason is read from its own JSON (the SDK's Archive drops it)."""
    archive = stack.failed_recording()
    reason = stack.opentok.state.archives[archive["id"]].reason
    assert reason
    view = stack.get(f"/archive/{archive['id']}/view", accept="application/json")
    assert view.status == 409
    assert view.json()["error"] == f"the archive failed: {reason}"
    assert "location" not in view.headers
    _sends_browsers_to_the_page(stack, archive["id"])  # which says why, from GET /archive/{id}
    shown = stack.get(f"/archive/{archive['id']}").json()
    assert (shown["status"], shown["reason"], shown["ready"]) == ("failed", reason, False)


def test_a_later_read_without_the_reason_keeps_it(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A callback read through the SDK (which drops `reason`) does not blank what we know."""
    archive = stack.failed_recording()
    stack.get(f"/archive/{archive['id']}/view", accept="application/json")
    from backend import archives, config
    from backend.opentok_client import archive_fields

    # The product's own module, here in the test, writing to the stack's table.
    monkeypatch.setattr(config, "TABLE_NAME", stack.table)

    archives.record(archive_fields(stack.sdk().get_archive(archive["id"])))
    assert stack.get(f"/archive/{archive['id']}").json()["reason"]


def test_opentok_failing_to_describe_the_archive_is_a_bad_gateway(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _stopped_archive(stack)
    stack.opentok.faults.fail("GET", archive["id"], 500)
    failing = stack.get(f"/archive/{archive['id']}/view", accept="application/json")
    assert failing.status == 502
    assert failing.headers["retry-after"]
    monkeypatch.setattr(stack.opentok.state, "get_archive", lambda *args: {"id": "another"})
    strange = stack.get(f"/archive/{archive['id']}/view", accept="application/json")
    assert strange.status == 502
    assert "Traceback" not in strange.body.decode()
    assert stack.get(f"/archive/{archive['id']}").json()["status"] == "stopped"


def test_a_recording_written_over_after_it_was_ready_is_not_what_its_links_serve(
    stack: Stack,
) -> None:
    """The bucket's upload key may write any key under the project (issue 23, point 5): the
    links name the version that was marked ready, and a later write changes neither."""
    archive = _stopped_archive(stack)
    stack.wait_until_uploaded(archive["id"])
    stack.deliver_s3_events()
    key = f"{API_KEY}/{archive['id']}/archive.mp4"
    recorded = boto3.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read()
    boto3.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=b"not the recording")
    stack.deliver_s3_events()  # the overwrite's own event marks nothing anew

    view = stack.get(f"/archive/{archive['id']}/view", accept="text/html")
    assert requests.get(view.headers["location"], timeout=10).content == recorded
    shown = stack.get(f"/archive/{archive['id']}").json()
    assert requests.get(shown["url"], timeout=10).content == recorded
    assert shown["size"] == len(recorded)
