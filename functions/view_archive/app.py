"""GET /archive/{archiveId}/view: the sample's "View Archive" link, opened by a browser.

Ready: a redirect to our copy. Not ready: a redirect to the site's waiting page, which polls
GET /archive/{archiveId}. Clients that ask for JSON get the same answer as JSON instead. A
browser following a link that leads nowhere (a mistyped id, a deleted, expired or failed
recording) goes to that page too, which says what happened in plain words; other clients get
the 4xx JSON. An
archive this view finds failed is announced to its room (room_signals). An individual
archive has a video per stream, not one: browsers go to the site's page, which plays each,
and JSON clients get a link per stream besides the zip's.
"""

from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import api, archives, bucket, config, validation
from backend.api import Response
from backend.errors import BadRequest, Conflict, Gone, NotFound
from backend.observability import tracer

logger = Logger()
metrics = Metrics()
app = api.resolver()

NO_STORE = {"Cache-Control": "no-store"}
RETRY_AFTER_SECONDS = 2


@app.get("/archive/<archive_id>/view")
def view_archive(archive_id: str) -> Response:
    try:
        return _view(archive_id)
    except (BadRequest, NotFound, Gone, Conflict):
        if not (config.SITE_URL and api.opened_by_browser(app.current_event)):
            raise
        return _to_page(archive_id)


def _view(archive_id: str) -> Response:
    archive = archives.get(validation.archive_id(archive_id))
    if archive is None:
        raise NotFound("no archive with that id")
    if archive.get("ready") and archive.get("outputMode") == "individual":
        return _watch_streams(archive)
    if archive.get("ready"):
        return _watch(archive, bucket.presigned_url(archive["s3Key"], archive.get("s3VersionId")))
    if archive.get("streamsFailure") and archive["status"] != "deleted":
        if api.wants_json(app.current_event):
            raise Conflict(
                "the archive's streams could not be taken out of its zip:"
                f" {archive['streamsFailure']}; GET /archive/{archive['id']} links the zip"
            )
        return _wait(archive)  # the page says why, and offers the zip
    opentok_url = None
    if archive["status"] in ("stopped", "available"):
        archive, opentok_url = _ask_opentok(archive["id"])
    status = archive["status"]
    if status in ("expired", "deleted"):
        raise Gone(f"the archive is {status}")
    if status == "failed":
        raise Conflict(f"the archive failed: {archive.get('reason') or 'no reason given'}")
    if status == "available":
        if not opentok_url:
            raise Conflict("OpenTok has no download link for the archive")
        return _watch(archive, opentok_url)
    return _wait(archive)


def _watch(archive: dict[str, Any], url: str) -> Response:
    if api.wants_json(app.current_event):
        return api.json_response(200, _summary(archive, url), NO_STORE)
    return Response(status_code=302, headers={"Location": url, **NO_STORE})


def _watch_streams(archive: dict[str, Any]) -> Response:
    if api.wants_json(app.current_event) or not config.SITE_URL:
        shown = archives.public(archive, stream_url=bucket.presigned_url)
        zipped = bucket.presigned_url(archive["s3Key"], archive.get("s3VersionId"))
        summary = _summary(archive, zipped)
        return api.json_response(200, summary | {"streams": shown["streams"]}, NO_STORE)
    return _to_page(archive["id"])


def _wait(archive: dict[str, Any]) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), **NO_STORE}
    if api.wants_json(app.current_event) or not config.SITE_URL:
        return api.json_response(202, _summary(archive, None), headers)
    return _to_page(archive["id"])


def _to_page(archive_id: str) -> Response:
    """The site's page of the archive, which follows it until it plays and then plays it."""
    query = urlencode({"archiveId": archive_id})
    return Response(status_code=302, headers={"Location": f"{config.SITE_URL}/view.html?{query}"})


def _summary(archive: dict[str, Any], url: str | None) -> dict[str, Any]:
    # `ready` as everywhere (docs/api.md): our copy is in the bucket. A recording OpenTok keeps
    # in its cloud is not, yet has a `url` to watch it by.
    ready = bool(archive.get("ready"))
    return {"id": archive["id"], "status": archive["status"], "ready": ready, "url": url}


def _ask_opentok(archive_id: str) -> tuple[dict[str, Any], str | None]:
    """One read of the archive from OpenTok: where a stopped archive went, and, for projects
    that store in OpenTok's cloud, a fresh download link (they live ten minutes).

    Imported here, not at the top: the ready path, which is most views, never needs the SDK.
    """
    from backend import download_links, room_signals
    from backend.opentok_client import read_archive

    found = read_archive(archive_id)  # OpenTok's own JSON: a failed archive's reason with it
    archive = archives.record(found)
    if archive["status"] == "failed":  # it was stopped or available: this view found it failed
        room_signals.announce_failure(archive)
    url = download_links.trusted(found.get("url"))
    if found.get("url") and url is None:
        logger.error("OpenTok's download link is not on a host OpenTok serves archives from")
        metrics.add_metric(name="DownloadLinkRefused", unit=MetricUnit.Count, value=1)
    return archive, url


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
