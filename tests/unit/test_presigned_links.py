"""A recording's presigned link (backend.bucket.presigned_url) is good for downloading it, so
nothing of it reaches a log, at DEBUG included (issue 23, point 7): botocore logs each
signature it computes at DEBUG, and a presigned link's signature is the link."""

import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.routes import Project


def test_a_presigned_link_leaves_no_signature_in_the_logs_at_debug(
    project: Project, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from backend import bucket, config

    monkeypatch.setattr(config, "ARCHIVE_BUCKET", "archives")
    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)  # as Lambda's root logger at DEBUG
    link = bucket.presigned_url(f"{project.api_key}/b40ef09b/archive.mp4", "v1")
    signature = parse_qs(urlsplit(link).query)["X-Amz-Signature"][0]
    assert "versionId=v1" in link  # the version that was marked ready
    assert caplog.records  # botocore did log, at DEBUG
    assert signature not in caplog.text
