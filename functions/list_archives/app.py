"""GET /archive: archives newest first, optionally of one session, a page at a time.

In `host` control, for hosts only (the host key): the history names every room's recordings.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import api, archives, host_key, validation
from backend.errors import BadRequest
from backend.observability import tracer

logger = Logger()
app = api.resolver()

QUERY_PARAMETERS = {"sessionId", "limit", "cursor"}
DEFAULT_PAGE, MAX_PAGE = 20, 100


@app.get("/archive")
def list_archives() -> dict[str, Any]:
    host_key.require_host(app.current_event, "see the archive history")
    query = app.current_event.query_string_parameters or {}
    unknown = set(query) - QUERY_PARAMETERS
    if unknown:
        raise BadRequest(f"unknown query parameter: {sorted(unknown)[0]}")
    session_id = validation.session_id(query["sessionId"]) if "sessionId" in query else None
    limit = validation.bounded_int(query.get("limit"), "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    items, cursor = archives.page(session_id, limit, query.get("cursor"))
    return {
        "count": len(items),
        "items": [archives.public(item) for item in items],
        "cursor": cursor,
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
