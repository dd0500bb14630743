"""What the Lambda runtime passes a handler as `context`, for the harness's workers and the
benchmark's cold starts alike: this module imports nothing that a cold start would not."""

import os
import time
import uuid


class LambdaContext:
    """What the Lambda runtime passes as `context`: the function's names and its time left.

    `time_left_ms`, when given, is what successive calls of `get_remaining_time_in_millis`
    answer (the last one repeated): a test's way to make an invocation run short of time.
    """

    def __init__(
        self,
        function_name: str,
        account_id: str,
        timeout_s: float,
        time_left_ms: list[int] | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s
        self._time_left = list(time_left_ms or [])

    def get_remaining_time_in_millis(self) -> int:
        if self._time_left:
            return self._time_left.pop(0) if len(self._time_left) > 1 else self._time_left[0]
        return max(0, int((self._deadline - time.monotonic()) * 1000))
