"""Moderator tokens (functions/shared/backend/moderator_tokens.py): what a host's page sends to
start, stop and change its room's recording, checked with the project secret alone.

A good token is the one the room route issues: the OpenTok SDK's own `generate_token` (signed
here, locally; nothing calls OpenTok), a JWT with `iss` the API key, `scope` session.connect,
`role`, `session_id`, `iat` and `exp` (opentok 3.15.0, HS256 with the project secret), or,
for Vonage application credentials, RS256 with the application's private key and
`application_id`. The project secret is read from Secrets Manager (the `project` fixture).
"""

import time

import jwt
import opentok
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from backend import api, config
from backend.errors import Forbidden, Unauthorized
from local.opentok.auth import new_session_id
from tests.support.routes import Project


@pytest.fixture
def tokens(project: Project):
    from backend import moderator_tokens

    return moderator_tokens


def _request(authorization: str | None) -> api.Request:
    return api.Request({"headers": {"Authorization": authorization} if authorization else {}})


def _bearer(token: str) -> api.Request:
    return _request(f"Bearer {token}")


def test_the_room_route_s_moderator_token_is_a_host_s(tokens, project: Project) -> None:
    session_id = project.session()

    claims = tokens.authorize(_bearer(project.token(session_id)), "start recordings")

    assert (claims["role"], claims["session_id"]) == ("moderator", session_id)
    tokens.require_session(claims, session_id, "start this recording")  # no refusal


def test_the_token_of_another_session_may_not_act_on_this_one(tokens, project: Project) -> None:
    claims = tokens.authorize(_bearer(project.token(project.session())), "stop recordings")
    with pytest.raises(Forbidden, match="this moderator token is for another session") as refused:
        tokens.require_session(claims, project.session(), "stop this recording")
    assert refused.value.status == 403


@pytest.mark.parametrize("role", ["publisher", "subscriber"])
def test_a_participant_s_token_is_forbidden(tokens, project: Project, role: str) -> None:
    with pytest.raises(Forbidden) as refused:
        tokens.authorize(_bearer(project.token(project.session(), role)), "start recordings")
    assert refused.value.status == 403
    assert refused.value.message == "only hosts may start recordings: this token is a participant's"


def test_an_expired_token_says_to_join_again(tokens, project: Project) -> None:
    expired = project.forged(session_id=project.session(), exp=int(time.time()) - 3600)
    with pytest.raises(Unauthorized, match="has expired: join the room again") as refused:
        tokens.authorize(_bearer(expired), "start recordings")
    assert refused.value.status == 401
    assert refused.value.headers == {"WWW-Authenticate": "Bearer"}


def test_a_token_a_few_seconds_past_its_exp_is_still_taken(tokens, project: Project) -> None:
    """Clocks differ a little: 30 seconds of leeway."""
    late = project.forged(session_id=project.session(), exp=int(time.time()) - 10)
    assert tokens.authorize(_bearer(late), "start recordings")["role"] == "moderator"


NOT_OURS = {
    "another project's issuer": {"iss": "99999999"},
    "no issuer": {"iss": None},
    "another scope": {"scope": "session.admin"},
    "no scope": {"scope": None},
    "no session_id": {"session_id": None},
    "no role": {"role": None},
    "no exp": {"exp": None},
    "no iat": {"iat": None},
}


@pytest.mark.parametrize("changes", NOT_OURS.values(), ids=NOT_OURS.keys())
def test_a_token_not_of_our_shape_is_not_ours(tokens, project: Project, changes: dict) -> None:
    forged = project.forged(**{"session_id": project.session(), **changes})
    with pytest.raises(Unauthorized, match="that token is not one of ours"):
        tokens.authorize(_bearer(forged), "start recordings")


def test_a_token_signed_with_another_secret_is_not_ours(tokens, project: Project) -> None:
    forged = project.forged(session_id=project.session(), signed_with="0" * 40)
    with pytest.raises(Unauthorized, match="that token is not one of ours"):
        tokens.authorize(_bearer(forged), "start recordings")


def test_an_unsigned_token_is_not_ours(tokens, project: Project) -> None:
    genuine = jwt.decode(project.token(project.session()), options={"verify_signature": False})
    unsigned = jwt.encode(genuine, None, algorithm="none")
    with pytest.raises(Unauthorized, match="that token is not one of ours"):
        tokens.authorize(_bearer(unsigned), "start recordings")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_a_token_signed_with_another_algorithm_is_not_ours(tokens, project: Project) -> None:
    genuine = jwt.decode(project.token(project.session()), options={"verify_signature": False})
    other = jwt.encode(genuine, project.api_secret, algorithm="HS512")
    with pytest.raises(Unauthorized, match="that token is not one of ours"):
        tokens.authorize(_bearer(other), "start recordings")


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token abc"],
    ids=["no header", "empty", "Bearer alone", "Bearer and spaces", "Basic", "another scheme"],
)
def test_without_a_bearer_token_it_says_to_send_one(tokens, authorization: str | None) -> None:
    with pytest.raises(Unauthorized) as refused:
        tokens.authorize(_request(authorization), "stop recordings")
    assert refused.value.message == (
        "only hosts may stop recordings: send a moderator token as a Bearer token"
    )


@pytest.mark.parametrize("token", ["x" * 8193, "ünï.ünï.ünï", "not.a.jwt"])
def test_what_cannot_be_a_token_of_ours_is_refused(tokens, token: str) -> None:
    with pytest.raises(Unauthorized, match="that token is not one of ours"):
        tokens.authorize(_bearer(token), "start recordings")


def test_the_scheme_is_read_in_any_case(tokens, project: Project) -> None:
    request = _request(f"bearer {project.token(project.session())}")
    assert tokens.authorize(request, "start recordings")["role"] == "moderator"


def test_with_open_control_anyone_may_and_no_token_is_read(
    tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "ARCHIVE_CONTROL", "open")
    claims = tokens.authorize(_request("Bearer not.a.jwt"), "start recordings")
    assert claims is None
    tokens.require_session(claims, "1_MX40NzAwMDAwMH5-fg", "start this recording")


def test_a_vonage_application_s_moderator_token_is_checked_with_its_public_key(
    tokens, project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """Vonage credentials: the SDK signs RS256 with the private key, `application_id` naming
    the application; a token HS256-signed with the old project secret is then not ours."""
    import json

    import boto3

    application_id = "3c1a9f2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    arn = boto3.client("secretsmanager").create_secret(
        Name=f"vonage-{application_id}",
        SecretString=json.dumps({"apiKey": application_id, "apiSecret": pem}),
    )["ARN"]
    monkeypatch.setattr(config, "OPENTOK_SECRET_ARN", arn)
    (tmp_path / "private.key").write_text(pem)
    sdk = opentok.Client(application_id, str(tmp_path / "private.key"))
    session_id = new_session_id(application_id)

    token = sdk.generate_token(session_id, role=opentok.Roles.moderator)
    claims = tokens.authorize(_bearer(token), "start recordings")

    assert (claims["application_id"], claims["session_id"]) == (application_id, session_id)
    with pytest.raises(Unauthorized, match="not one of ours"):
        tokens.authorize(_bearer(project.forged(session_id=session_id)), "start recordings")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        jwt.decode(token, options={"verify_signature": False}), other_key, algorithm="RS256"
    )
    with pytest.raises(Unauthorized, match="not one of ours"):
        tokens.authorize(_bearer(forged), "start recordings")
