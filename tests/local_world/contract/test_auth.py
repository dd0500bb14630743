"""Contract §1: how OpenTok checks the project JWT of every REST call."""

from __future__ import annotations

import time

import jwt
import opentok
import pytest
import requests
from opentok.exceptions import AuthError

from tests.support.opentok import KEY, SECRET, archive_url, project_headers


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


# Built when the test runs, so only the flaw under test can make the JWT invalid.
INVALID_JWTS = {
    "missing": lambda: {},
    "not a jwt": lambda: {"X-OPENTOK-AUTH": "not-a-jwt"},
    "expired": lambda: project_headers(exp=int(time.time()) - 5, iat=int(time.time()) - 300),
    "ist account": lambda: project_headers(ist="account"),
    "no exp": lambda: {
        "X-OPENTOK-AUTH": jwt.encode({"iss": KEY, "ist": "project"}, SECRET, algorithm="HS256")
    },
}


@pytest.mark.parametrize("flaw", INVALID_JWTS.values(), ids=INVALID_JWTS.keys())
def test_a_missing_invalid_or_expired_jwt_is_403_with_code_minus_one(emu, flaw):
    """§1: every call carries `X-OPENTOK-AUTH`, an HS256 JWT with `iss`, `ist` = `"project"`
    (`"account"` only for account-management calls) and `exp` (REST "Authentication");
    §5 "any 403": a JWT invalid or expired is refused with `code -1` (RUBY
    `OpenTok_Archives/http_client_errors/.yml`)."""
    answer = requests.get(archive_url(emu), headers=flaw())

    assert answer.status_code == 403
    assert answer.json()["code"] == -1
    assert answer.json()["message"]


def test_a_jwt_of_another_project_is_403(emu):
    """§1: `iss` is the API key the path names, `/v2/project/{apiKey}/archive...` (REST
    "Authentication"; PY `endpoints.py`); §5 "any 403": wrong issuer (RUBY)."""
    answer = requests.get(f"{emu.url}/v2/project/999999/archive", headers=project_headers())

    assert answer.status_code == 403
    assert answer.json()["code"] == -1
