"""Asks for an individual archive's zip to be split into one object per stream.

The message names the archive only; the function that splits it reads everything else itself.
"""

import functools
import json
from typing import Any

import boto3

from backend import config


# Made on first use: the functions that import this need it only for individual archives.
@functools.cache
def _sqs() -> Any:
    return boto3.client("sqs")


def send(archive_id: str) -> None:
    if not config.STREAMS_QUEUE_URL:
        raise RuntimeError("STREAMS_QUEUE_URL is not set for this function")
    _sqs().send_message(
        QueueUrl=config.STREAMS_QUEUE_URL, MessageBody=json.dumps({"archiveId": archive_id})
    )
