"""Contract §1: how OpenTok checks the project JWT of every REST call."""

from __future__ import annotations

import time

import jwt
import opentok
import pytest
import requests
from opentok.exceptions import AuthError

from tests.contract.support import KEY, archive_url, project_headers


def test_the_sdks_three_minute_jwt_is_accepted(emu, ot):
    """§1: PY signs `exp` = iat + 180, within OpenTok's 5-minute limit (REST; PY)."""
    assert list(ot.get_archives()) == []


def test_a_jwt_living_exactly_five_minutes_is_accepted(emu):
    """§1: `exp` at most 5 min after `iat` (REST "Authentication")."""
    now = int(time.time())

    answer = requests.get(archive_url(emu), headers=project_headers(iat=now, exp=now + 300))

    assert answer.status_code == 200


def test_a_jwt_living_longer_than_five_minutes_is_refused_403(emu):
    """§1: a JWT whose `exp` is more than 5 min after `iat` is refused (REST "Authentication")."""
    now = int(time.time())

    answer = requests.get(archive_url(emu), headers=project_headers(iat=now, exp=now + 301))

    assert answer.status_code == 403
    assert answer.json()["code"] == -1


def test_a_wrong_issuer_is_403_issuer_not_found(emu):
    """§1 / §5 "any 403": the body recorded in 2019 for an unknown issuer
    (RUBY `OpenTok_Archives/http_client_errors/.yml`)."""
    now = int(time.time())
    claims = {"iss": "654321", "ist": "project", "iat": now, "exp": now + 180}
    token = jwt.encode(claims, "f" * 40, algorithm="HS256")

    answer = requests.get(archive_url(emu), headers={"X-OPENTOK-AUTH": token})

    assert answer.status_code == 403
    assert answer.json() == {
        "code": -1,
        "message": "Issuer not found",
        "description": "Issuer not found",
    }


def test_a_wrong_secret_is_403_with_code_minus_one(emu):
    """§1: bad credentials answer 403, body code -1; PY raises AuthError (RUBY; PY)."""
    impostor = opentok.Client(KEY, "f" * 40, api_url=emu.url)
    token = jwt.encode(
        {"iss": KEY, "ist": "project", "iat": int(time.time()), "exp": int(time.time()) + 60},
        "f" * 40,
        algorithm="HS256",
    )

    answer = requests.get(archive_url(emu), headers={"X-OPENTOK-AUTH": token})

    assert answer.status_code == 403
    assert answer.json()["code"] == -1
    with pytest.raises(AuthError):
        impostor.get_archives()
