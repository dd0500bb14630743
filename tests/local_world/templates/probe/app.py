"""A function that tells what its environment holds, for the tests of the local harness."""

import os
import time
from typing import Any

EVENTS: list[Any] = []  # module state: what this environment has served


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    EVENTS.append(event)
    time.sleep(event.get("sleep", 0))
    return {
        "variables": {name: os.environ.get(name) for name in event["names"]},
        "events": len(EVENTS),
        "process": os.getpid(),
        "function": context.function_name,
    }
