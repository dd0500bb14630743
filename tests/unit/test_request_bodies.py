"""How every route reads its request (functions/shared/backend/api.py): API Gateway's HTTP API
event (payload format 2.0: headers, `rawPath` with a named stage in front, a body that is
base64-encoded unless it is text) and a JSON or form-encoded body, as the sample pages post
it; and the one error mapping, which answers every refusal as a JSON `{"error": ...}`.

The events are local/aws/gateway.py's `build_event`, which the stack layer's API answers with.
"""

import base64
import json

import pytest

from backend import api
from backend.errors import BadRequest, Conflict, PayloadTooLarge, UnsupportedMediaType
from local.aws.gateway import build_event


def _request(body: bytes | str, content_type: str = "application/json") -> api.Request:
    headers = {"Content-Type": content_type} if content_type else {}
    return api.Request(build_event("POST", "/x", "/x", "", headers, body, {}))


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", '{"sessionId": "1_MX4", "hasVideo": false}'),
        ("application/json; charset=utf-8", '{"sessionId": "1_MX4", "hasVideo": false}'),
        ("application/merge-patch+json", '{"sessionId": "1_MX4", "hasVideo": false}'),
        ("", '{"sessionId": "1_MX4", "hasVideo": false}'),
    ],
    ids=["JSON", "JSON with a charset", "a +json type", "no content type"],
)
def test_a_json_object_s_fields_are_read(content_type: str, body: str) -> None:
    fields = api.request_fields(_request(body, content_type))
    assert fields == {"sessionId": "1_MX4", "hasVideo": False}


def test_a_form_s_fields_are_read_as_text_even_base64_encoded() -> None:
    """A form is not text to API Gateway: it arrives base64-encoded."""
    request = _request(
        "sessionId=1_MX4&name=Kick%2Doff+1&hasVideo=", "application/x-www-form-urlencoded"
    )
    assert request.is_base64_encoded
    assert api.request_fields(request) == {
        "sessionId": "1_MX4",
        "name": "Kick-off 1",
        "hasVideo": "",
    }


@pytest.mark.parametrize("body", ["", "   ", "\n"])
def test_an_empty_body_has_no_fields(body: str) -> None:
    assert api.request_fields(_request(body, "text/plain")) == {}


@pytest.mark.parametrize(
    ("body", "content_type", "error", "message"),
    [
        ("[1, 2]", "application/json", BadRequest, "the body must be a JSON object"),
        ('"text"', "application/json", BadRequest, "the body must be a JSON object"),
        ("a=1&b", "application/x-www-form-urlencoded", BadRequest, "the form body is malformed"),
        (
            "&".join(f"f{n}=1" for n in range(33)),
            "application/x-www-form-urlencoded",
            BadRequest,
            "the form body is malformed",
        ),
        ("<xml/>", "application/xml", UnsupportedMediaType, "application/json or form-encoded"),
        ("{" + " " * 8192 + "}", "application/json", PayloadTooLarge, "at most 8192 bytes"),
    ],
    ids=[
        "a JSON array",
        "a JSON string",
        "a form pair without '='",
        "33 form fields",
        "XML",
        "8194 bytes",
    ],
)
def test_a_body_that_is_not_an_object_of_fields_is_refused(
    body: str, content_type: str, error: type, message: str
) -> None:
    with pytest.raises(error) as refused:
        api.request_fields(_request(body, content_type))
    assert message in refused.value.message


def test_a_body_of_exactly_8_kib_is_taken() -> None:
    body = json.dumps({"name": "x" * (8192 - len('{"name": ""}'))})
    assert len(body) == 8192
    assert api.request_fields(_request(body))["name"].startswith("x")


def test_a_base64_body_over_8_kib_once_decoded_is_too_large() -> None:
    raw = json.dumps({"name": "é" * 4200}).encode()  # 8400 bytes, 4200 characters
    request = api.Request({"body": base64.b64encode(raw).decode(), "isBase64Encoded": True})
    with pytest.raises(PayloadTooLarge):
        api.request_fields(request)


def test_headers_are_read_whatever_their_case_and_a_named_stage_is_not_the_path() -> None:
    request = api.Request(
        {
            "headers": {"X-Host-Key": "k", "Content-Type": "application/json"},
            "rawPath": "/prod/archive/start",
            "requestContext": {"stage": "prod", "http": {"method": "post"}},
        }
    )
    assert (request.headers["x-host-key"], request.path, request.method) == (
        "k",
        "/archive/start",
        "POST",
    )


def _router_answer(raised: Exception) -> dict:
    app = api.resolver()

    @app.post("/archive/<archive_id>/stop")
    def stop(archive_id: str) -> dict:
        raise raised

    event = build_event("POST", "/x", "/archive/abc/stop", "", {}, b"", {})
    return app.resolve(event, None)


def test_a_refusal_is_its_status_and_a_json_error_with_its_headers() -> None:
    answer = _router_answer(Conflict("already stopped", headers={"Retry-After": "5"}))
    assert answer["statusCode"] == 409
    assert json.loads(answer["body"]) == {"error": "already stopped"}
    assert answer["headers"]["Retry-After"] == "5"
    assert answer["headers"]["Content-Type"] == "application/json"


def test_an_unexpected_error_is_a_500_that_tells_nothing_of_it() -> None:
    answer = _router_answer(KeyError("apiSecret=hunter2"))
    assert (answer["statusCode"], json.loads(answer["body"])) == (500, {"error": "internal error"})
    assert "hunter2" not in json.dumps(answer)


def test_a_path_no_route_takes_is_a_404_json_error() -> None:
    app = api.resolver()
    event = build_event("GET", "/x", "/nowhere", "", {}, b"", {})
    answer = app.resolve(event, None)
    assert (answer["statusCode"], json.loads(answer["body"])) == (404, {"error": "no such route"})
