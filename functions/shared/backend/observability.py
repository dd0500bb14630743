"""The functions' tracer: Powertools' Tracer where traces are sent, a stand-in elsewhere.

Making a Powertools Tracer loads the X-Ray SDK, about a tenth of a second of cold start,
even when tracing is off. It is off outside Lambda, under `sam local` and whenever
POWERTOOLS_TRACE_DISABLED says so, and then nothing would use what was loaded.
"""

import os
from collections.abc import Callable
from typing import Any

_TRUE = ("1", "y", "yes", "t", "true", "on")


def tracing_enabled() -> bool:
    """Powertools' own rule for when its Tracer is on."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in _TRUE:
        return False
    in_lambda = bool(os.environ.get("LAMBDA_TASK_ROOT"))
    emulated = bool(os.environ.get("AWS_SAM_LOCAL") or os.environ.get("AWS_CHALICE_CLI_MODE"))
    return in_lambda and not emulated


class Untraced:
    """Takes the Tracer's decorators and calls, and does nothing with them."""

    def capture_lambda_handler(self, handler: Callable | None = None, **_: Any) -> Any:
        return handler if handler is not None else lambda function: function

    def capture_method(self, method: Callable | None = None, **_: Any) -> Any:
        return method if method is not None else lambda function: function

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        pass


def _tracer() -> Any:
    if not tracing_enabled():
        return Untraced()
    from aws_lambda_powertools import Tracer

    return Tracer()


# One for every module of the function, as Powertools' Tracer instances share their state.
tracer = _tracer()
