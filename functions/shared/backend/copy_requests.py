"""Asks for a copy of a recording that OpenTok kept in its cloud (`available`) into our bucket.

The message names the archive only; the copy function reads everything else itself.
"""

import functools
import json
from typing import Any

import boto3

from backend import config


# Made on first use: the callback, which imports this, rarely needs it, and a client costs
# cold-start time.
@functools.cache
def _sqs() -> Any:
    return boto3.client("sqs")


def send(archive_id: str) -> None:
    if not config.COPY_QUEUE_URL:
        raise RuntimeError("COPY_QUEUE_URL is not set for this function")
    _sqs().send_message(
        QueueUrl=config.COPY_QUEUE_URL, MessageBody=json.dumps({"archiveId": archive_id})
    )
