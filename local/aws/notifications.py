"""Queued events delivered to the template's S3- and SQS-triggered functions.

On AWS the bucket invokes the function itself. moto cannot run a function, so the bucket
notifies an SQS queue instead, with the same event filters, and `deliver` hands each event
S3 wrote to the function: the function still gets the event that S3 produced, not one of ours.
A function triggered by one of the template's queues gets that queue's messages the way
Lambda's event source mapping hands them over: an SQS event of a batch, with partial batch
failures (`batchItemFailures`) left on the queue to be delivered again.
"""

import copy
import json
import threading
from collections.abc import Callable
from typing import Any, Protocol

import boto3
from moto.s3 import notifications as moto_notifications

from local.aws.resources import Deployment

# S3 names the object version in an event of a versioned bucket ("versionId": "object version
# if bucket is versioning-enabled, otherwise null", in the event message structure:
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html);
# moto's events leave it out, so the stand-in adds it as S3 writes it.
_moto_event = moto_notifications._get_s3_event


def _with_version(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict:
    event = _moto_event(event_name, bucket, key, notification_id)
    version = getattr(key, "version_id", None)
    for record in event["Records"]:
        record["s3"]["object"]["versionId"] = None if version in (None, "null") else version
    return event


moto_notifications._get_s3_event = _with_version


class Faults(Protocol):
    """What may go wrong with a delivery, asked by name: the OpenTok emulator's faults
    (`drop-s3-notification`, `duplicate-s3-notification`) are one, handed in by the harness."""

    def take(self, kind: str) -> object: ...


def connect(deployment: Deployment, region: str = "us-east-1") -> dict[str, str]:
    """Wires each S3 trigger of the template to a queue; returns the queue URL of every
    function that is fed by a queue (its S3 trigger's, or the template's queue it reads)."""
    s3 = boto3.client("s3", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    queues: dict[str, str] = {}
    per_bucket: dict[str, list[dict[str, Any]]] = {}
    for trigger in deployment.s3_triggers():
        if trigger.function not in queues:
            name = f"{deployment.names['AWS::StackName']}-{trigger.function}-events"
            queues[trigger.function] = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(
            QueueUrl=queues[trigger.function], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        per_bucket.setdefault(deployment.physical(trigger.bucket), []).append(
            {
                "QueueArn": queue_arn,
                "Events": [trigger.events],
                "Filter": {"Key": {"FilterRules": trigger.rules}},
            }
        )
    for bucket, configurations in per_bucket.items():
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={"QueueConfigurations": configurations},
        )
    for sqs_trigger in deployment.sqs_triggers():
        queues[sqs_trigger.function] = deployment.physical(sqs_trigger.queue)
    return queues


def sqs_triggered(deployment: Deployment) -> dict[str, int]:
    """The functions that read one of the template's queues, with their batch size."""
    return {trigger.function: trigger.batch_size for trigger in deployment.sqs_triggers()}


def deliver(
    queue_url: str,
    invoke: Callable[[dict[str, Any]], Any],
    region: str = "us-east-1",
    wait_seconds: int = 0,
    faults: Faults | None = None,
    batch_size: int = 0,
) -> int:
    """Hands every waiting S3 event to `invoke`; returns how many events were delivered.

    With `faults` (the emulator's), an event may be lost, or delivered twice at once, as
    S3's at-least-once delivery allows: two invocations of the function on two threads.
    With a `batch_size`, the queue is one the function reads: see `_deliver_batches`.
    """
    sqs = boto3.client("sqs", region_name=region)
    if batch_size:
        return _deliver_batches(sqs, queue_url, invoke, batch_size, wait_seconds)
    delivered = 0
    while True:
        answer = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        )
        messages = answer.get("Messages", [])
        if not messages:
            return delivered
        for message in messages:
            event = json.loads(message["Body"])
            # S3 announces a new configuration with a test event that names no object.
            if "Records" in event:
                delivered += _deliver_one(event, invoke, faults)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _deliver_one(
    event: dict[str, Any], invoke: Callable[[dict[str, Any]], Any], faults: Faults | None
) -> int:
    if faults is not None and faults.take("drop-s3-notification"):
        return 0
    if faults is None or not faults.take("duplicate-s3-notification"):
        invoke(event)
        return 1
    errors: list[Exception] = []
    gate = threading.Barrier(2)

    def run() -> None:
        try:
            gate.wait(timeout=5)
            invoke(copy.deepcopy(event))
        except Exception as error:  # noqa: BLE001 - raised below, as a lone event's would be
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return 2


def _deliver_batches(
    sqs: Any,
    queue_url: str,
    invoke: Callable[[dict[str, Any]], Any],
    batch_size: int,
    wait_seconds: int,
) -> int:
    """Hands the queue's messages to `invoke` as SQS events; returns how many it handled.

    A message the function reports failed (or all of a batch whose invocation raised) is made
    visible again at once, as it would be after its visibility timeout, and delivered by the
    next call, not this one: each call is one round of SQS's retries. Messages the function
    sends meanwhile (a copy that carries on) are delivered in the same call.
    """
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    failed: set[str] = set()
    handled = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages or all(message["MessageId"] in failed for message in messages):
            _retry_later(sqs, queue_url, messages, failed)
            return handled
        event = {
            "Records": [_sqs_record(message, arn["Attributes"]["QueueArn"]) for message in messages]
        }
        try:
            answer = invoke(event)
        except Exception:
            _retry_later(sqs, queue_url, messages, failed)
            raise
        failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
        reported = {failure["itemIdentifier"] for failure in failures or []}
        _retry_later(sqs, queue_url, [m for m in messages if m["MessageId"] in reported], failed)
        for message in messages:
            if message["MessageId"] not in reported:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                handled += 1


def _retry_later(
    sqs: Any, queue_url: str, messages: list[dict[str, Any]], failed: set[str]
) -> None:
    for message in messages:
        failed.add(message["MessageId"])
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )


def _sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A message as Lambda's event source mapping passes it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }
