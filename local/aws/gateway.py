"""An HTTP API in front of the template's functions that behaves like API Gateway's (payload
format 2.0): the same events in, the same HTTP answers out, CORS included.

CORS is API Gateway's, from the translated API's x-amazon-apigateway-cors
(docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html): it answers preflight
requests itself, adds the configured headers to an allowed origin's answers and drops those the
function gave. A configuration this stand-in cannot read is refused when the API is made.
"""

import base64
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from local.aws.functions import Functions
from local.aws.template import Template

logger = logging.getLogger(__name__)
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)


CORS_KEYS = {"allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge"}


@dataclass
class HttpApi:
    """Routes requests to functions by the translated API's routes, with its CORS."""

    template: Template
    functions: Functions
    cors: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.routes = self.template.routes()
        readable = isinstance(self.cors, dict) and not set(self.cors) - CORS_KEYS
        origins = self.cors.get("allowOrigins", []) if readable else None
        if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
            # e.g. an Fn::If left unresolved, or allowCredentials: not served half-understood.
            raise ValueError(f"x-amazon-apigateway-cors the local gateway cannot read: {self.cors}")

    def cors_headers(self, origin: str | None, *, preflight: bool) -> dict[str, str]:
        """What API Gateway adds for a request from `origin`: nothing for an origin not allowed."""
        allowed = self.cors.get("allowOrigins", [])
        if not origin or not ("*" in allowed or origin in allowed):
            return {}
        headers = {"access-control-allow-origin": "*" if "*" in allowed else origin}
        if preflight:
            headers["access-control-allow-methods"] = ",".join(self.cors.get("allowMethods", []))
            headers["access-control-allow-headers"] = ",".join(self.cors.get("allowHeaders", []))
            if "maxAge" in self.cors:
                headers["access-control-max-age"] = str(self.cors["maxAge"])
        elif self.cors.get("exposeHeaders"):
            headers["access-control-expose-headers"] = ",".join(self.cors["exposeHeaders"])
        headers["vary"] = "origin"
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: bytes | str = b"",
    ) -> ApiResponse:
        method = method.upper()
        lowered = {name.lower(): value for name, value in (headers or {}).items()}
        origin = lowered.get("origin")
        if self.cors and method == "OPTIONS" and "access-control-request-method" in lowered:
            return ApiResponse(204, self.cors_headers(origin, preflight=True), b"")
        answer = self._route(method, path, query, headers or {}, body)
        if self.cors:
            answer.headers = {
                name: value
                for name, value in answer.headers.items()
                if not name.startswith("access-control-")
            } | self.cors_headers(origin, preflight=False)
        return answer

    def _route(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes | str
    ) -> ApiResponse:
        for route in self.routes:
            parameters = route.match(method, path)
            if parameters is not None:
                break
        else:
            return _json_answer(404, {"message": "Not Found"})
        event = build_event(route.method, route.path, path, query, headers, body, parameters)
        try:
            result = self.functions.invoke(route.function, event)
        except Exception:
            # Where CloudWatch would have the trace.
            logger.exception("%s failed", route.function)
            return _json_answer(500, {"message": "Internal Server Error"})
        return _http_answer(result)


def build_event(
    method: str,
    route_path: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes | str,
    path_parameters: dict[str, str],
) -> dict[str, Any]:
    """An API Gateway HTTP API event, payload format 2.0, as the function would receive it."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    raw_body = body.encode() if isinstance(body, str) else body
    content_type = lowered.get("content-type", "")
    is_text = any(content_type.startswith(kind) for kind in TEXT_TYPES)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {route_path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lowered.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {route_path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if "cookie" in lowered:
        event["cookies"] = [part.strip() for part in lowered.pop("cookie").split(";")]
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    if parameters:
        event["queryStringParameters"] = parameters
    if path_parameters:
        event["pathParameters"] = path_parameters
    if raw_body:
        # Like API Gateway: text passes as it is, anything else arrives base64-encoded.
        if is_text:
            event["body"] = raw_body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(raw_body).decode()
            event["isBase64Encoded"] = True
    return event


def _http_answer(result: Any) -> ApiResponse:
    # Payload 2.0: a dict with statusCode is a response; anything else is a 200 JSON body.
    if not (isinstance(result, dict) and "statusCode" in result):
        return _json_answer(200, result)
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    headers = {name.lower(): str(value) for name, value in (result.get("headers") or {}).items()}
    return ApiResponse(int(result["statusCode"]), headers, raw, list(result.get("cookies") or []))


def _json_answer(status: int, body: Any) -> ApiResponse:
    return ApiResponse(status, {"content-type": "application/json"}, json.dumps(body).encode())
