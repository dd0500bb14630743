"""GET /room/{name}: the room's session, created on its first request, and a token to join it."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from recording import api, rooms, validation
from recording.observability import tracer

logger = Logger()
app = api.resolver()


@app.get("/room/<name>")
def room(name: str) -> dict[str, str]:
    return rooms.join(validation.room_name(name))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
