"""GET /session: the sample's default room, as the official sample page asks for it.

With ArchiveControl `open` that page works unchanged. In `host` a room is joined by its invite
only (backend.rooms), so this route answers 404 there: a name everybody knows opens nothing.
"""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import api, config, rooms
from backend.observability import tracer

logger = Logger()
app = api.resolver()


@app.get("/session")
def default_room() -> api.Response:
    return rooms.answer(rooms.join(config.DEFAULT_ROOM))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
