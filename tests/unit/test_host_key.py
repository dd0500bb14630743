"""The host key (functions/shared/backend/host_key.py): a secret the stack generates in Secrets
Manager (template: HostKeySecret, named to the functions by HOST_KEY_SECRET_ARN), sent in the
`X-Host-Key` header by hosts only; with ArchiveControl `open` anyone is a host, as in the
sample. What a refusal answers is what the history and delete routes (require_host) answer.
"""

import secrets
import uuid

import boto3
import pytest

from backend import api, config
from backend.errors import Forbidden, Unauthorized

HOST_KEY = secrets.token_urlsafe(32)


@pytest.fixture
def host_key(aws: None, monkeypatch: pytest.MonkeyPatch):
    from backend import host_key

    arn = boto3.client("secretsmanager").create_secret(
        Name=f"host-key-{uuid.uuid4()}", SecretString=HOST_KEY
    )["ARN"]
    monkeypatch.setattr(config, "HOST_KEY_SECRET_ARN", arn)
    monkeypatch.setattr(config, "ARCHIVE_CONTROL", "host")
    return host_key


def _request(**headers: str) -> api.Request:
    return api.Request({"headers": headers})


def test_the_host_key_lets_its_holder_act(host_key) -> None:
    assert host_key.matches(HOST_KEY)
    host_key.require_host(_request(**{"X-Host-Key": HOST_KEY}), "list recordings")  # taken


def test_without_the_key_it_says_where_to_send_it(host_key) -> None:
    for request in (_request(), _request(**{"x-host-key": ""})):
        with pytest.raises(Unauthorized) as refused:
            host_key.require_host(request, "list recordings")
        assert refused.value.status == 401
        assert refused.value.message == (
            "only hosts may list recordings: send the host key in X-Host-Key"
        )


@pytest.mark.parametrize(
    "presented",
    [HOST_KEY[:-1], HOST_KEY + "x", HOST_KEY.upper(), f" {HOST_KEY}", "\udcff" + HOST_KEY[1:]],
    ids=["one short", "one more", "upper case", "a leading space", "not UTF-8"],
)
def test_any_other_key_is_forbidden(host_key, presented: str) -> None:
    assert not host_key.matches(presented)
    with pytest.raises(Forbidden) as refused:
        host_key.require_host(_request(**{"x-host-key": presented}), "delete recordings")
    assert refused.value.status == 403
    assert refused.value.message == "only hosts may delete recordings, and that is not the host key"


def test_with_open_control_anyone_acts_and_no_key_is_read(
    host_key, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "ARCHIVE_CONTROL", "open")
    monkeypatch.setattr(config, "HOST_KEY_SECRET_ARN", "")
    host_key.require_host(_request(), "list recordings")
    host_key.require_host(_request(**{"x-host-key": "wrong"}), "list recordings")


def test_a_function_not_given_the_secret_fails_rather_than_let_anyone_in(
    host_key, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "HOST_KEY_SECRET_ARN", "")
    with pytest.raises(RuntimeError, match="HOST_KEY_SECRET_ARN"):
        host_key.require_host(_request(**{"x-host-key": HOST_KEY}), "list recordings")


def test_a_rotated_key_takes_effect_once_the_cache_is_past(host_key) -> None:
    """Powertools caches a secret (secret_store.CACHE_SECONDS): a new value is read after."""
    from backend import secret_store

    assert host_key.matches(HOST_KEY)  # read, and cached
    boto3.client("secretsmanager").put_secret_value(
        SecretId=config.HOST_KEY_SECRET_ARN, SecretString="rotated"
    )
    assert host_key.matches(HOST_KEY)  # still the cached one
    secret_store._provider.clear_cache()
    assert host_key.matches("rotated")
    assert not host_key.matches(HOST_KEY)
