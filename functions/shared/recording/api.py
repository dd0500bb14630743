"""What every HTTP route shares: the resolver, the one error mapping, and request bodies."""

import json
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from recording.errors import ApiError, BadRequest, PayloadTooLarge, UnsupportedMediaType

logger = Logger(child=True)

MAX_BODY_BYTES = 8 * 1024


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body),
        headers=headers,
    )


def resolver() -> APIGatewayHttpResolver:
    """An HTTP API resolver whose every error, expected or not, is a JSON `{"error": ...}`."""
    app = APIGatewayHttpResolver()
    app.exception_handler(ApiError)(_answer_api_error)
    app.exception_handler(Exception)(_answer_unexpected_error)
    app.not_found(_answer_no_route)
    return app


def _answer_api_error(error: ApiError) -> Response:
    logger.info("request refused", extra={"status": error.status, "reason": error.message})
    return json_response(error.status, {"error": error.message}, error.headers)


def _answer_unexpected_error(error: Exception) -> Response:
    # The trace goes to the log, never to the client.
    logger.exception("unexpected error")
    return json_response(500, {"error": "internal error"})


def _answer_no_route(error: Exception) -> Response:
    return json_response(404, {"error": "no such route"})


def request_fields(event: APIGatewayProxyEventV2) -> dict[str, Any]:
    """The fields of a JSON or form-encoded body; an empty body has none."""
    raw = event.body or ""
    if len(raw) > MAX_BODY_BYTES * 2:
        raise PayloadTooLarge(f"the body must be at most {MAX_BODY_BYTES} bytes")
    try:
        body = event.decoded_body or ""
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body must be UTF-8 text") from None
    if len(body.encode()) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body must be at most {MAX_BODY_BYTES} bytes")
    if not body.strip():
        return {}
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        return _form_fields(body)
    if content_type in ("application/json", "") or content_type.endswith("+json"):
        return _json_fields(body)
    raise UnsupportedMediaType("send the body as application/json or form-encoded")


def _json_fields(body: str) -> dict[str, Any]:
    try:
        fields = json.loads(body)
    except ValueError:
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(fields, dict):
        raise BadRequest("the body must be a JSON object")
    return fields


def _form_fields(body: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(body, keep_blank_values=True, strict_parsing=True, max_num_fields=32)
    except ValueError:
        raise BadRequest("the form body is malformed") from None
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name in fields:
            raise BadRequest(f"{name} is given more than once")
        fields[name] = value
    return fields


def wants_json(event: APIGatewayProxyEventV2) -> bool:
    accept = (event.headers.get("accept") or "").lower()
    return "application/json" in accept and "text/html" not in accept
