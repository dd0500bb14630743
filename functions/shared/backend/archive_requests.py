"""Work on an archive asked for over SQS: a copy of a recording OpenTok kept in its cloud
(`available`) into our bucket (functions/copy_recording), or the split of an individual
archive's zip into one object per stream (functions/extract_streams).

A message is `{"archiveId"}` and names the archive only: the function that does the work reads
everything else itself. Both functions read their messages, hold the archive while they work
(bucketWriteUntil), hand what did not fit in one invocation on to the next, and report the messages
that failed, in the same way: here, once. What each one does to an archive stays in its own app.
"""

import functools
import json
from collections.abc import Callable
from typing import Any, Literal

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend import archives, config, validation
from backend.errors import BadRequest

logger = Logger(child=True)

Work = Literal["copy", "split"]
# The setting that names each work's queue, as the template gives it to the functions.
QUEUE_SETTINGS: dict[Work, str] = {"copy": "COPY_QUEUE_URL", "split": "STREAMS_QUEUE_URL"}


# Made on first use: most functions that import this rarely send, and a client costs
# cold-start time.
@functools.cache
def _sqs() -> Any:
    return boto3.client("sqs")


def request(work: Work, archive_id: str) -> None:
    """Asks for `work` on the archive, by a message on that work's queue."""
    setting = QUEUE_SETTINGS[work]
    queue_url = getattr(config, setting)
    if not queue_url:
        raise RuntimeError(f"{setting} is not set for this function")
    _sqs().send_message(QueueUrl=queue_url, MessageBody=json.dumps({"archiveId": archive_id}))


def _archive_id(body: str, work: Work) -> str | None:
    """The archive a message names; None, logged, for a message that names none: it is
    dropped, as trying it again would not make it name one."""
    try:
        message = json.loads(body)
        return validation.archive_id(
            message.get("archiveId") if isinstance(message, dict) else None
        )
    except (ValueError, BadRequest):
        logger.warning(
            f"dropped a {work} request that names no archive", extra={"body": body[:200]}
        )
        return None


def do_while_held(
    archive_id: str, work: Work, context: LambdaContext, do: Callable[[], bool | None]
) -> None:
    """Runs `do` while this invocation holds the archive, until its own time is up: a second
    request for the same archive finds it held and leaves it. `do` answers False when time ran
    short before the work was done; the rest is then asked for, for a new invocation."""
    until = archives.now_ms() + context.get_remaining_time_in_millis()
    if not archives.claim_bucket_write(archive_id, until):
        logger.info(f"another invocation holds the archive for its {work}, or it is ready")
        return
    try:
        done = do()
    finally:
        archives.release_bucket_write(archive_id)
    if done is False:
        request(work, archive_id)
        logger.info(f"did what fitted of the {work} in this invocation; carrying on in the next")


def handle_batch(
    event: dict[str, Any], work: Work, handle: Callable[[str], None]
) -> dict[str, list[dict[str, str]]]:
    """Handles the archive each message names; answers the messages that failed, for SQS to
    try again (ReportBatchItemFailures), so that one failure does not repeat the whole batch."""
    failures = []
    for message in event.get("Records") or []:
        try:
            archive_id = _archive_id(message["body"], work)
            if archive_id is None:
                continue
            logger.append_keys(archive_id=archive_id)
            handle(archive_id)
        except Exception:
            logger.exception(f"the {work} failed; SQS tries again")
            failures.append({"itemIdentifier": message["messageId"]})
    return {"batchItemFailures": failures}
