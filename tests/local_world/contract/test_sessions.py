"""Contract §2: POST /session/create, in the JSON and the XML forms."""

from __future__ import annotations

import base64
import uuid
from xml.dom import minidom

import opentok
import pytest
import requests
from opentok.exceptions import RequestError

from tests.support.opentok import KEY, join, project_headers

NULL_FIELDS = (
    "session_status",
    "status_invalid",
    "media_server_hostname",
    "messaging_server_url",
    "messaging_url",
    "symphony_address",
    "properties",
    "ice_server",
    "ice_servers",
)


def create(emu, accept: str | None, **form: str) -> requests.Response:
    headers = project_headers()
    if accept is not None:
        headers["Accept"] = accept
    return requests.post(f"{emu.url}/session/create", data=form, headers=headers)


def test_json_accept_answers_an_array_of_one_session(emu):
    """§2 "200, Accept: application/json": a JSON array of one object with session_id,
    project_id, partner_id, create_dt, the null fields, session_segment_id and
    ice_credential_expiration (VPY `create_session.json`; SPEC `New-Session`)."""
    answer = create(emu, "application/json", **{"p2p.preference": "disabled"})

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    [session] = answer.json()
    assert session["session_id"].startswith("1_")
    assert session["project_id"] == session["partner_id"] == KEY
    assert isinstance(session["create_dt"], str)
    assert all(session[name] is None for name in NULL_FIELDS)
    assert uuid.UUID(session["session_segment_id"])
    assert isinstance(session["ice_credential_expiration"], int)


def test_a_session_id_is_the_url_safe_base64_of_the_key(ot):
    """§2 session id: `1_` or `2_` + URL-safe base64 of `1~<apiKey>~...` (RUBY; PY
    `generate_token` decodes it to find the key)."""
    session_id = ot.create_session().session_id
    prefix, body = session_id[:2], session_id[2:]

    decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()

    assert prefix in ("1_", "2_")
    assert decoded.startswith(f"1~{KEY}~")


def test_other_accept_answers_the_xml_form(emu):
    """§2 "200, other Accept": text/xml `<sessions><Session><session_id>, <partner_id>,
    <create_dt>` (RUBY `creates_routed_media_sessions.yml`)."""
    for accept in (None, "text/xml", "*/*"):
        answer = create(emu, accept)

        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "text/xml"
        dom = minidom.parseString(answer.content)
        [session] = dom.getElementsByTagName("Session")
        assert dom.documentElement.tagName == "sessions"
        session_id = session.getElementsByTagName("session_id")[0].firstChild.data
        assert session_id.startswith("1_")
        assert session.getElementsByTagName("partner_id")[0].firstChild.data == KEY
        assert session.getElementsByTagName("create_dt")[0].firstChild.data


def test_a_session_is_routed_unless_p2p_is_asked_for(emu, ot):
    """§2 request: `p2p.preference` defaults to `disabled` (routed) (SPEC `Create-Session`);
    a routed session can be archived (§6, GUIDE)."""
    [session] = create(emu, "application/json").json()
    session_id = session["session_id"]
    join(emu, ot, session_id)

    assert ot.start_archive(session_id).status == "started"


def test_a_relayed_session_is_made_with_p2p_enabled(emu, ot):
    """§2 request: `p2p.preference=enabled` is relayed, which cannot be archived
    (SPEC `Create-Session`; §5 start 409)."""
    [session] = create(emu, "application/json", **{"p2p.preference": "enabled"}).json()
    join(emu, ot, session["session_id"])

    answer = requests.post(
        f"{emu.url}/v2/project/{KEY}/archive",
        json={"sessionId": session["session_id"]},
        headers=project_headers(),
    )

    assert answer.status_code in (400, 409)


def test_the_sdk_creates_both_kinds_of_session(emu, ot):
    """§2 SDK quirk: PY reads the JSON form only when Content-Type is exactly
    `application/json`; it sends `Accept: application/json` (PY `create_session`)."""
    routed = ot.create_session(media_mode=opentok.MediaModes.routed)
    relayed = ot.create_session()

    assert routed.session_id.startswith("1_")
    assert relayed.session_id.startswith("1_")
    assert ot.generate_token(routed.session_id)


def test_bad_credentials_make_the_sdk_fail(emu):
    """§2 403: bad credentials; PY turns its AuthError into a RequestError (PY)."""
    impostor = opentok.Client(KEY, "f" * 40, api_url=emu.url)

    with pytest.raises(RequestError, match="invalid credentials"):
        impostor.create_session()
