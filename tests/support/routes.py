"""A function's route asked as API Gateway asks it, in this process, for the unit layer.

The event is the one local/aws/gateway.py's `build_event` makes of an HTTP request (payload format
2.0: text bodies as they are, others base64-encoded), and the answer is the function's own
router's (`app.resolve`), status and JSON body, as the client reads them. No stack, no worker:
the function's settings are the unit layer's `project` fixture's (tests/unit/conftest.py),
which name no table, bucket or OpenTok URL, so a request that got past the checks would not
answer a 4xx.
"""

import json
import time
from dataclasses import dataclass
from typing import Any

import opentok

from local.aws.gateway import build_event
from local.opentok.auth import new_session_id
from tests.support.credentials import forged_token
from tests.support.functions import function_module

ARCHIVE_ID = "b40ef09b-3811-4726-b508-e41a0f96c68f"
STREAM_ID = "8d0b6f6e-6b1c-4a8b-9b0c-1c2d3e4f5a6b"


@dataclass(frozen=True)
class Project:
    """The OpenTok project whose secret the functions read from Secrets Manager."""

    api_key: str
    api_secret: str
    secret_arn: str
    host_key: str

    def session(self) -> str:
        """A session id of this project, shaped as OpenTok's (the SDK's tokens check it)."""
        return new_session_id(self.api_key)

    def token(self, session_id: str, role: str = "moderator") -> str:
        """The token the room route issues, signed by the SDK itself (no call to OpenTok)."""
        sdk = opentok.Client(self.api_key, self.api_secret)
        return sdk.generate_token(
            session_id, role=opentok.Roles(role), expire_time=int(time.time()) + 3600
        )

    def forged(self, *, signed_with: str | None = None, **claims: Any) -> str:
        """A moderator token of the SDK's shape for `session_id`, some claims changed (None:
        left out), signed with the project's secret unless `signed_with` another."""
        return forged_token(self.api_key, signed_with or self.api_secret, **claims)

    def host(self, session_id: str) -> dict[str, str]:
        """The header a host's page sends for the session: its moderator token."""
        return {"authorization": f"Bearer {self.token(session_id)}"}


def ask(
    folder: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """The status and JSON body functions/<folder>/app.py answers: `body` sent as JSON,
    or `raw` bytes as they are, with `content_type`."""
    sent = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    all_headers = {"content-type": content_type, **(headers or {})}
    event = build_event(method, path, path, "", all_headers, sent, {})
    answer = function_module(folder).app.resolve(event, None)
    assert answer["headers"]["Content-Type"] == "application/json", answer
    return answer["statusCode"], json.loads(answer["body"])
