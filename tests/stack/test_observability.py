"""Powertools metrics and structured logs: what an operator sees in CloudWatch."""

import json

import pytest

from tests.support.stack import Stack


def _emitted(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def _metrics(output: str) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for line in _emitted(output):
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
            assert directive["Namespace"] == "OpenTokArchiving"
            for metric in directive["Metrics"]:
                found.setdefault(metric["Name"], []).extend(line[metric["Name"]])
    return found


def test_start_stop_and_ready_are_counted_with_the_time_from_stop_to_ready(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = stack.record()
    assert _metrics(capsys.readouterr().out)["ArchiveStarted"] == [1.0]
    stack.post(f"/archive/{archive['id']}/stop")
    assert _metrics(capsys.readouterr().out)["ArchiveStopped"] == [1.0]
    stack.wait_until_uploaded(archive["id"])
    stack.deliver_s3_events()
    metrics = _metrics(capsys.readouterr().out)
    assert metrics["ArchiveReady"] == [1.0]
    (seconds,) = metrics["SecondsFromStopToReady"]
    assert 0 <= seconds < 30


def test_log_lines_carry_the_request_id_as_correlation_id(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    event = {
        "version": "2.0",
        "routeKey": "GET /archive/{archiveId}",
        "rawPath": "/archive/nope",
        "rawQueryString": "",
        "headers": {},
        "pathParameters": {"archiveId": "nope"},
        "requestContext": {
            "http": {"method": "GET", "path": "/archive/nope", "sourceIp": "203.0.113.9"},
            "requestId": "req-1234",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    answer = stack.invoke("GetArchiveFunction", event)
    assert answer["statusCode"] == 400
    logged = [line for line in _emitted(capsys.readouterr().out) if "level" in line]
    assert logged
    assert all(line["correlation_id"] == "req-1234" for line in logged)
    assert all(line["service"] == "opentok-archiving" for line in logged)
