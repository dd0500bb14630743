"""The template's functions run in this process, behind an HTTP API that behaves like API
Gateway's (payload format 2.0): the same events in, the same HTTP answers out."""

import base64
import importlib.util
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

from local.template import Function, Template

logger = logging.getLogger(__name__)
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


class LambdaContext:
    """What the Lambda runtime passes as `context`, as far as Powertools reads it."""

    def __init__(self, function_name: str, timeout_seconds: float = 15.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        )
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Functions:
    """Loads each function's handler module from its CodeUri, the way the runtime would."""

    def __init__(self, template: Template) -> None:
        self.specs = template.functions()
        self._handlers: dict[str, Callable[[Any, LambdaContext], Any]] = {}
        self._loading = threading.Lock()

    def handler(self, name: str) -> Callable[[Any, LambdaContext], Any]:
        with self._loading:  # concurrent first requests share one cold start
            if name not in self._handlers:
                self._handlers[name] = _load_handler(self.specs[name])
            return self._handlers[name]

    def invoke(self, name: str, event: Any) -> Any:
        return self.handler(name)(event, LambdaContext(name))


def _load_handler(function: Function) -> Callable[[Any, LambdaContext], Any]:
    # Layers are unpacked on the import path (/opt/python) in Lambda; here, their folders.
    for layer_dir in function.layer_dirs:
        if str(layer_dir) not in sys.path:
            sys.path.append(str(layer_dir))
    module_file, attribute = function.handler.rsplit(".", 1)
    module_name = f"functions.{function.code_dir.name}.{module_file}"
    spec = importlib.util.spec_from_file_location(
        module_name, function.code_dir / f"{module_file}.py"
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {function.handler} from {function.code_dir}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return getattr(module, attribute)


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
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ",".join(str(value) for value in values)
    return ApiResponse(int(result["statusCode"]), headers, raw, list(result.get("cookies") or []))


def _json_answer(status: int, body: Any) -> ApiResponse:
    return ApiResponse(status, {"content-type": "application/json"}, json.dumps(body).encode())
