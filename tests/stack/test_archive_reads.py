"""GET /archive/{archiveId} and GET /archive: what we know, without asking OpenTok."""

import time
import uuid
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from tests.support.stack import API_KEY, Stack


def _ready_archive(stack: Stack) -> dict:
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"])
    stack.deliver_s3_events()
    return archive


def test_get_shows_opentok_fields_and_ours(stack: Stack) -> None:
    archive = stack.record(name="Review")
    shown = stack.get(f"/archive/{archive['id']}")
    assert shown.status == 200
    body = shown.json()
    for field in (
        "id",
        "status",
        "name",
        "sessionId",
        "createdAt",
        "duration",
        "size",
        "outputMode",
        "resolution",
        "hasAudio",
        "hasVideo",
        "reason",
        "ready",
        "url",
    ):
        assert field in body
    assert body["createdAt"] == pytest.approx(time.time() * 1000, abs=5000)
    assert body["ready"] is False
    assert body["url"] is None


def test_get_of_a_ready_archive_gives_a_short_lived_link_to_our_copy(stack: Stack) -> None:
    archive = _ready_archive(stack)
    calls = len(stack.opentok.calls)
    body = stack.get(f"/archive/{archive['id']}").json()
    assert body["ready"] is True
    link = urlsplit(body["url"])
    assert f"{API_KEY}/{archive['id']}/archive.mp4" in link.path + link.netloc
    query = parse_qs(link.query)
    assert query["X-Amz-Expires"] == ["300"]
    assert stack.bucket in link.netloc + link.path
    assert len(stack.opentok.calls) == calls  # polling never costs an OpenTok call


def test_the_link_downloads_the_recording(stack: Stack) -> None:
    archive = _ready_archive(stack)
    url = stack.get(f"/archive/{archive['id']}").json()["url"]
    key = f"{API_KEY}/{archive['id']}/archive.mp4"
    stored = boto3.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read()
    assert stored[4:8] == b"ftyp"  # an MP4 really is behind the link
    assert urlsplit(url).path.endswith(key)


def test_get_of_an_unknown_archive_is_not_found(stack: Stack) -> None:
    answer = stack.get(f"/archive/{uuid.uuid4()}")
    assert answer.status == 404
    assert answer.json() == {"error": "no archive with that id"}


def test_get_refuses_ids_that_are_not_archive_ids(stack: Stack) -> None:
    answer = stack.get("/archive/xyz")
    assert answer.status == 400
    assert "UUID" in answer.json()["error"]


def _seed(stack: Stack, count: int, session_id: str) -> list[str]:
    dynamodb = boto3.client("dynamodb")
    ids = []
    base = 1_795_000_000_000
    for index in range(count):
        archive_id = str(uuid.uuid4())
        ids.append(archive_id)
        created = base + index * 1000
        dynamodb.put_item(
            TableName=stack.table,
            Item={
                "pk": {"S": f"archive#{archive_id}"},
                "id": {"S": archive_id},
                "kind": {"S": "archive"},
                "sessionId": {"S": session_id},
                "createdAt": {"N": str(created)},
                "createdSort": {"S": f"{created:015d}#{archive_id}"},
                "status": {"S": "uploaded"},
                "statusRank": {"N": "3"},
                "ready": {"BOOL": True},
            },
        )
    return ids


def test_list_is_newest_first_and_pages_with_a_cursor(stack: Stack) -> None:
    session = "2_MX40NzAwMDAwMH5-c2VlZGVkLXNlc3Npb24tb25l"
    ids = _seed(stack, 7, session)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        page = stack.get("/archive", query).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    assert pages == 3


def test_list_filters_by_session(stack: Stack) -> None:
    mine = _seed(stack, 3, "2_MX40NzAwMDAwMH5-bWluZS1zZXNzaW9u")
    _seed(stack, 4, "2_MX40NzAwMDAwMH5-b3RoZXItc2Vzc2lvbg")
    page = stack.get("/archive", {"sessionId": "2_MX40NzAwMDAwMH5-bWluZS1zZXNzaW9u"}).json()
    assert [item["id"] for item in page["items"]] == list(reversed(mine))
    assert page["count"] == 3


def test_list_is_a_query_never_a_scan(stack: Stack) -> None:
    _seed(stack, 3, "2_MX40NzAwMDAwMH5-c2Nhbi1zZXNzaW9u")
    before = len(stack.aws_calls())
    stack.get("/archive")
    stack.get("/archive", {"sessionId": "2_MX40NzAwMDAwMH5-c2Nhbi1zZXNzaW9u"})
    assert [call.operation for call in stack.aws_calls("dynamodb", since=before)] == [
        "Query",
        "Query",
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"cursor": "garbage!"},
        {"cursor": "eyJwayI6ICJyb29tI3gifQ"},
        {"sessionId": "nope"},
        {"sort": "asc"},
    ],
)
def test_list_refuses_bad_query_parameters(stack: Stack, query: dict[str, str]) -> None:
    answer = stack.get("/archive", query)
    assert answer.status == 400
    assert answer.json()["error"]


def test_a_cursor_does_not_carry_over_to_another_session(stack: Stack) -> None:
    _seed(stack, 3, "2_MX40NzAwMDAwMH5-Zmlyc3Qtc2Vzc2lvbg")
    page = stack.get("/archive", {"limit": "1"}).json()
    answer = stack.get(
        "/archive", {"cursor": page["cursor"], "sessionId": "2_MX40NzAwMDAwMH5-Zmlyc3Qtc2Vzc2lvbg"}
    )
    assert answer.status == 400
