"""An HTTP API in front of the template's functions that behaves like API Gateway's (payload
format 2.0): the same events in, the same HTTP answers out."""

import base64
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from local.functions import Functions
from local.template import Template

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


@dataclass
class HttpApi:
    """Routes requests to functions by the template's HttpApi events."""

    template: Template
    functions: Functions

    def __post_init__(self) -> None:
        self.routes = self.template.routes()

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
        for route in self.routes:
            parameters = route.match(method, path)
            if parameters is not None:
                break
        else:
            return _json_answer(404, {"message": "Not Found"})
        event = build_event(route.method, route.path, path, query, headers or {}, body, parameters)
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
