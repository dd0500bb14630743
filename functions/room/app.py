"""GET /room/{name}: the room's session, created on its first request, and a token to join it.

With the host key in `X-Host-Key` the token is a moderator's: the host's page may then start
and stop the room's recording, and the answer holds the room's invite for participants. A
wrong key is refused rather than quietly demoted, so that a host with a stale link finds out
at once. With ArchiveControl `host`, participants name the room by its invite (backend.rooms).
"""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import api, host_key, rooms, validation
from backend.errors import Forbidden
from backend.observability import tracer

logger = Logger()
app = api.resolver()


@app.get("/room/<name>")
def room(name: str) -> api.Response:
    presented = host_key.presented_key(app.current_event)
    if presented is not None and not host_key.matches(presented):
        raise Forbidden("that is not the host key: ask for the host link again")
    host = presented is not None
    # The person's name as the page shows it (`?name=`), for their stream in recordings.
    query = app.current_event.query_string_parameters or {}
    who = validation.optional_text(query.get("name"), "name", 64)
    if host or host_key.control_is_open():
        return rooms.answer(rooms.join(validation.room_name(name), host=host, who=who))
    return rooms.answer(rooms.join(validation.invite(name), who=who))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
