"""Contract §7, the upload target: PUT/GET/DELETE /v2/project/{apiKey}/archive/storage.

Source: S3DOC (https://tokbox.com/developer/guides/archiving/amazon-s3-encryption.html): the
body `{"type": "s3", "config": {bucket, accessKey, secretKey, endpoint (optional, a base URL
with its protocol, default https://s3.amazonaws.com), sse ("s3" or "none")}, "fallback":
"none" or "opentok"}`; only S3-managed keys. What a success answers with, and GET/DELETE of
the target, are undocumented: those tests say `_unverified`.
"""

from __future__ import annotations

import boto3
import opentok
import pytest
import requests
from moto import mock_aws

from tests.support.opentok import (
    KEY,
    archive_url,
    join,
    project_headers,
    routed_session,
    wait_status,
)

STORAGE = "/storage"


def settings(**config) -> dict:
    body = {
        "type": "s3",
        "config": {"bucket": "recordings", "accessKey": "AKIAEXAMPLE", "secretKey": "s3cr3t"},
        "fallback": "none",
    }
    body["config"].update(config)
    return body


def put(emu, body) -> requests.Response:
    return requests.put(archive_url(emu, STORAGE), json=body, headers=project_headers(), timeout=5)


def record(emu, ot) -> str:
    session_id = routed_session(ot)
    join(emu, ot, session_id)
    archive_id = ot.start_archive(session_id).id
    ot.stop_archive(archive_id)
    return archive_id


def test_the_documented_body_is_accepted_with_a_2xx(emu):
    """§7 body, S3DOC's example: endpoint, sse "s3", fallback "none"."""
    answer = put(emu, settings(endpoint="https://s3.cloudianhyperstore.com", sse="s3"))

    assert 200 <= answer.status_code < 300


def test_success_answers_200_with_the_settings_and_the_secret_masked_unverified(emu):
    """§7 response [unverified]: taken as 200 with the target as set, its secret key hidden
    (clients must take an empty 2xx as well: deploy/configure_opentok.py does)."""
    answer = put(emu, settings(endpoint="https://storage.googleapis.com", sse="s3"))

    assert answer.status_code == 200
    assert answer.json()["config"] == {
        "bucket": "recordings",
        "accessKey": "AKIAEXAMPLE",
        "secretKey": "********",
        "endpoint": "https://storage.googleapis.com",
        "sse": "s3",
    }
    assert answer.json()["fallback"] == "none"
    assert "s3cr3t" not in answer.text


def test_a_body_without_sse_uploads_unencrypted_unverified(emu):
    """S3DOC names sse in every example; bodies from before it existed had none."""
    answer = put(emu, settings())

    assert answer.json()["config"]["sse"] == "none"


BAD_BODIES = {
    "not an object": ["s3"],
    "no type": {"config": settings()["config"]},
    "azure": {**settings(), "type": "azure"},
    "no config": {"type": "s3", "fallback": "none"},
    "no bucket": settings(bucket=None),
    "empty access key": settings(accessKey=""),
    "secret key not text": settings(secretKey=123),
    "endpoint without protocol": settings(endpoint="s3.cloudianhyperstore.com"),
    "endpoint of another protocol": settings(endpoint="ftp://s3.example.com"),
    "endpoint empty": settings(endpoint=""),
    "endpoint not text": settings(endpoint=42),
    "sse kms": settings(sse="aws:kms"),
    "sse true": settings(sse=True),
    "fallback unknown": {**settings(), "fallback": "s3"},
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_bodies_are_400_with_opentok_s_error_shape(emu, body):
    """§7 body rules; §5 error shape."""
    answer = put(emu, body)

    assert answer.status_code == 400
    assert set(answer.json()) == {"code", "message", "description"}


def test_a_body_that_is_not_json_is_400(emu):
    answer = requests.put(
        archive_url(emu, STORAGE), data=b"{type: s3", headers=project_headers(), timeout=5
    )
    assert answer.status_code == 400


def test_setting_the_target_needs_the_project_s_credentials(emu):
    """§1: every REST call is signed; §5: 403 otherwise."""
    answer = requests.put(archive_url(emu, STORAGE), json=settings(), timeout=5)
    assert answer.status_code == 403


@pytest.mark.parametrize(("sse", "encryption"), [("s3", "AES256"), ("none", None)])
def test_sse_s3_uploads_with_s3_managed_keys_and_none_without(emu, ot, sse, encryption):
    """§7 SSE: "s3" is S3-managed encryption (AES256), "none" an unencrypted upload."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="recordings")
        assert put(emu, settings(sse=sse)).ok
        archive_id = record(emu, ot)
        wait_status(emu, ot, archive_id, "uploaded")
        stored = s3.head_object(Bucket="recordings", Key=f"{KEY}/{archive_id}/archive.mp4")

    assert stored.get("ServerSideEncryption") == encryption


@pytest.mark.parametrize(("fallback", "outcome"), [("opentok", "available"), ("none", "failed")])
def test_uploads_go_to_the_endpoint_given_and_a_failure_follows_the_fallback(
    emu, ot, fallback, outcome
):
    """§7 endpoint and fallback: the bucket exists at the default endpoint, but the target
    names another, where nothing answers; §6: the fallback decides what becomes of it."""
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="recordings")
        body = settings(endpoint="http://127.0.0.1:9")
        body["fallback"] = fallback
        assert put(emu, body).ok
        archive_id = record(emu, ot)
        finished = wait_status(emu, ot, archive_id, outcome)

    assert (finished.url is not None) == (outcome == "available")


def test_get_shows_the_target_and_delete_removes_it_unverified(emu):
    """§7: GET and DELETE of the target are undocumented; taken as 200 with what PUT answered,
    204, and 404 once there is none."""
    put_answer = put(emu, settings(sse="s3"))
    got = requests.get(archive_url(emu, STORAGE), headers=project_headers(), timeout=5)
    deleted = requests.delete(archive_url(emu, STORAGE), headers=project_headers(), timeout=5)
    gone = requests.get(archive_url(emu, STORAGE), headers=project_headers(), timeout=5)

    assert (got.status_code, got.json()) == (200, put_answer.json())
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert gone.status_code == 404


def test_without_a_target_archives_stay_with_opentok(emu, ot):
    """§6: no upload target, the archive becomes available in OpenTok's cloud."""
    requests.delete(archive_url(emu, STORAGE), headers=project_headers(), timeout=5)

    archive = wait_status(emu, ot, record(emu, ot), "available")

    assert isinstance(archive, opentok.Archive)
    assert archive.url
