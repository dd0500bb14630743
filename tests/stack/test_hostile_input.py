"""Property-based: whatever a client throws at a route, the answer is a clean 4xx or a success.

Never a 5xx of ours, never a trace, and a refusal changes nothing that is stored.
"""

import json
import uuid
from urllib.parse import urlencode

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.stack import Stack

ROUTES = [
    ("GET", "/session"),
    ("GET", "/room/{segment}"),
    ("POST", "/archive/start"),
    ("POST", "/archive/{segment}/stop"),
    ("PUT", "/archive/{segment}/layout"),
    ("POST", "/archive/{segment}/streams"),
    ("GET", "/archive/{segment}"),
    ("GET", "/archive"),
    ("GET", "/archive/{segment}/view"),
    ("POST", "/archive/callback"),
    ("DELETE", "/archive/{segment}"),
]
FIELDS = [
    "sessionId",
    "name",
    "outputMode",
    "streamMode",
    "resolution",
    "hasAudio",
    "hasVideo",
    "layout",
    "stylesheet",
    "screenshareType",
    "addStream",
    "removeStream",
    "id",
]

text = st.text(max_size=300)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
segments = st.one_of(
    st.uuids().map(str),
    st.text(
        alphabet=st.characters(blacklist_characters="/?#", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=120,
    ),
)
bodies = st.one_of(
    st.binary(max_size=12_000),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.dictionaries(st.sampled_from(FIELDS), json_values).map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(FIELDS), text).map(lambda v: urlencode(v).encode()),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "",
        "application/json; charset=utf-16",
        "multipart/form-data; boundary=x",
    ]
)
queries = st.dictionaries(
    st.sampled_from(["limit", "cursor", "sessionId", "extra"]), text, max_size=3
)


def _stored(stack: Stack) -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName=stack.table)["Items"]
    return sorted(items, key=lambda item: item["pk"]["S"])


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_a_route_answers_anything_with_a_clean_answer(
    stack: Stack, method: str, template: str
) -> None:
    archive = stack.record()  # something stored, for a refusal to leave alone
    # A host's credentials let the input reach the checks behind them; forged ones must not.
    host = {**stack.host_headers(archive["sessionId"]), "x-host-key": stack.host_key}
    credentials = st.one_of(
        st.just({}),
        st.just(host),
        st.builds(lambda forged: {"authorization": forged, "x-host-key": forged}, text),
        st.builds(lambda forged: {"authorization": f"Bearer {forged}"}, text),
    )

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        segment=segments,
        body=bodies,
        content_type=content_types,
        query=queries,
        credential=credentials,
    )
    def answers_cleanly(
        segment: str, body: bytes, content_type: str, query: dict, credential: dict
    ) -> None:
        before = _stored(stack)
        answer = stack.api.request(
            method,
            template.replace("{segment}", segment),
            query=urlencode(query),
            headers={"content-type": content_type, "accept": "application/json", **credential},
            body=body,
        )
        # 502/504 name OpenTok's failure, not ours; none is expected from a well emulator.
        assert answer.status < 500, (answer.status, answer.body[:300])
        assert b"Traceback" not in answer.body
        if answer.status >= 400:
            assert json.loads(answer.body).keys() >= {"error"} or answer.status == 404
            assert _stored(stack) == before

    answers_cleanly()


def test_an_unknown_archive_id_is_never_a_server_error(stack: Stack) -> None:
    session = stack.join()
    host = {**stack.host_headers(session["sessionId"]), "x-host-key": stack.host_key}
    for method, template in ROUTES:
        if "{segment}" in template:
            path = template.replace("{segment}", str(uuid.uuid4()))
            answer = stack.api.request(method, path, headers=host)
            assert answer.status in (200, 400, 404, 409), (method, template, answer.status)
