"""The unit layer's fixtures: the functions' settings, as the template gives them, with the
OpenTok project's secret in (moto's) Secrets Manager; nothing else is made."""

import json
import secrets
import uuid

import boto3
import pytest

from tests.support.routes import Project
from tests.support.stack import API_KEY


@pytest.fixture
def project(aws: None, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The project's `{apiKey, apiSecret}` secret, named by OPENTOK_SECRET_ARN, and the host
    key by HOST_KEY_SECRET_ARN; ArchiveControl `host`, ArchiveMode `manual`. Secrets of their
    own per test: Powertools caches by name."""
    from backend import config

    api_secret = secrets.token_hex(20)
    arn = boto3.client("secretsmanager").create_secret(
        Name=f"opentok-{uuid.uuid4()}",
        SecretString=json.dumps({"apiKey": API_KEY, "apiSecret": api_secret}),
    )["ARN"]
    host_key = secrets.token_urlsafe(30)
    host_key_arn = boto3.client("secretsmanager").create_secret(
        Name=f"host-key-{uuid.uuid4()}", SecretString=host_key
    )["ARN"]
    for name, value in {
        "OPENTOK_SECRET_ARN": arn,
        "HOST_KEY_SECRET_ARN": host_key_arn,
        "OPENTOK_API_KEY": API_KEY,
        "ARCHIVE_CONTROL": "host",
        "ARCHIVE_MODE": "manual",
    }.items():
        monkeypatch.setattr(config, name, value)
    return Project(API_KEY, api_secret, arn, host_key)
