"""What every HTTP route shares: a small router, the one error mapping, and request bodies.

Each function serves a single route, so API Gateway has already routed the request: what is
left is reading the path's parameters, turning what the route returns or raises into an HTTP
API answer, and reading bodies. That is a few dozen lines, so they are ours: Powertools' event
handler does far more and costs more cold-start time to import than the rest of Powertools
together (docs/performance.md).
"""

import base64
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from backend.errors import ApiError, BadRequest, PayloadTooLarge, UnsupportedMediaType

logger = Logger(child=True)

MAX_BODY_BYTES = 8 * 1024
THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}
RETRY_LATER = {"Retry-After": "2"}
# A path parameter is one segment: word characters and what RFC 3986 allows in a segment,
# plus the unsafe characters API Gateway passes on decoded.
_PARAMETER = r"[\w\-.~()'!*:@,;=+&$%<> \[\]{}|^]+"

Route = Callable[..., Any]


class Request:
    """The parts of an API Gateway HTTP API event (payload format 2.0) that routes read."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.raw_event = event
        self.headers: dict[str, str] = {
            name.lower(): value for name, value in (event.get("headers") or {}).items()
        }
        self.query_string_parameters: dict[str, str] | None = event.get("queryStringParameters")
        self.body: str | None = event.get("body")
        self.is_base64_encoded = bool(event.get("isBase64Encoded"))
        context = event.get("requestContext") or {}
        self.method = str((context.get("http") or {}).get("method") or "").upper()
        path = str(event.get("rawPath") or "/")
        stage = context.get("stage") or "$default"
        # On a named stage the raw path starts with it; routes are written without it.
        if stage != "$default" and path.startswith(f"/{stage}"):
            path = path[len(stage) + 1 :] or "/"
        self.path = path

    @property
    def decoded_body(self) -> str | None:
        """The body as text; raises ValueError or UnicodeDecodeError if it is not."""
        if self.is_base64_encoded and self.body:
            return base64.b64decode(self.body.encode()).decode()
        return self.body


class Response:
    """An answer with a status, headers and a text body (None for no body)."""

    def __init__(
        self,
        status_code: int,
        content_type: str | None = None,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.headers = dict(headers or {})
        if content_type:
            self.headers.setdefault("Content-Type", content_type)
        self.body = body

    def to_event_answer(self) -> dict[str, Any]:
        """The answer in the shape API Gateway expects from a payload 2.0 integration."""
        return {
            "statusCode": self.status_code,
            "body": self.body,
            "isBase64Encoded": False,
            "headers": {name: value for name, value in self.headers.items() if value is not None},
            "cookies": [],
        }


_NO_REQUEST = Request({})  # what routes see outside a request: no headers, no body


class Router:
    """Routes by method and path template (`/archive/<archive_id>`) to a function."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Route]] = []
        # The request being served: an execution environment serves one event at a time.
        self.current_event = _NO_REQUEST
        self.lambda_context: Any = None

    def route(self, path: str, method: str) -> Callable[[Route], Route]:
        pattern = re.compile(
            re.sub(r"<(\w+)>", lambda name: f"(?P<{name.group(1)}>{_PARAMETER})", path)
        )

        def register(function: Route) -> Route:
            self._routes.append((method.upper(), pattern, function))
            return function

        return register

    def get(self, path: str) -> Callable[[Route], Route]:
        return self.route(path, "GET")

    def post(self, path: str) -> Callable[[Route], Route]:
        return self.route(path, "POST")

    def put(self, path: str) -> Callable[[Route], Route]:
        return self.route(path, "PUT")

    def delete(self, path: str) -> Callable[[Route], Route]:
        return self.route(path, "DELETE")

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        """Calls the event's route; every outcome, error or not, is an HTTP API answer."""
        self.current_event, self.lambda_context = Request(event), context
        try:
            return self._answer(self.current_event).to_event_answer()
        finally:
            self.current_event, self.lambda_context = _NO_REQUEST, None

    def _answer(self, request: Request) -> Response:
        try:
            for method, pattern, function in self._routes:
                found = pattern.fullmatch(request.path) if method == request.method else None
                if found:
                    return _as_response(function(**found.groupdict()))
            return json_response(404, {"error": "no such route"})
        except ApiError as error:
            logger.info("request refused", extra={"status": error.status, "reason": error.message})
            return json_response(error.status, {"error": error.message}, error.headers)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in THROTTLED:
                # Still throttled after the client's retries: the client may retry later.
                logger.warning("throttled by AWS", extra={"operation": error.operation_name})
                return json_response(503, {"error": "too busy: try again"}, RETRY_LATER)
            logger.exception("unexpected error")
            return json_response(500, {"error": "internal error"})
        except Exception:
            # The trace goes to the log, never to the client.
            logger.exception("unexpected error")
            return json_response(500, {"error": "internal error"})


def resolver() -> Router:
    """A router whose every error, expected or not, is a JSON `{"error": ...}`."""
    return Router()


def _as_response(result: Any) -> Response:
    # A route returns a Response, or what to send as a JSON body with a 200.
    if isinstance(result, Response):
        return result
    return Response(200, "application/json", json.dumps(result, separators=(",", ":")))


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, "application/json", json.dumps(body), headers)


def request_fields(event: Request) -> dict[str, Any]:
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


def wants_json(event: Request) -> bool:
    accept = (event.headers.get("accept") or "").lower()
    return "application/json" in accept and "text/html" not in accept


def opened_by_browser(event: Request) -> bool:
    """A page a person navigates to: browsers ask for HTML first, API clients never do."""
    return "text/html" in (event.headers.get("accept") or "").lower()
