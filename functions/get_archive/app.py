"""GET /archive/{archiveId}: the archive as we know it; a short-lived link once our copy is in.

An individual archive lists its streams once they are split out of its zip, each with a link
of its own; the link in `url` is then the zip's.

It never calls OpenTok: waiting pages poll it, and readiness comes from our table.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import api, archives, bucket, validation
from backend.errors import NotFound
from backend.observability import tracer

logger = Logger()
app = api.resolver()


@app.get("/archive/<archive_id>")
def get_archive(archive_id: str) -> dict[str, Any]:
    archive = archives.get(validation.archive_id(archive_id))
    if archive is None:
        raise NotFound("no archive with that id")
    if not archive.get("ready") and not archive.get("streamsFailure"):
        return archives.public(archive)
    # An individual archive's zip is offered even when it could not be split into streams.
    url = (
        bucket.presigned_url(archive["s3Key"], archive.get("s3VersionId"))
        if archive.get("s3Key")
        else None
    )
    return archives.public(archive, url, bucket.presigned_url)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
