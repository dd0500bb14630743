"""S3 event notifications delivered to the template's S3-triggered functions.

On AWS the bucket invokes the function itself. moto cannot run a function, so the bucket
notifies an SQS queue instead, with the same event filters, and `deliver` hands each event
S3 wrote to the function: the function still gets the event that S3 produced, not one of ours.
"""

import copy
import json
import threading
from collections.abc import Callable
from typing import Any

import boto3

from local.emulator.faults import Faults
from local.resources import Deployment
from local.template import resolve


def connect(deployment: Deployment, region: str = "us-east-1") -> dict[str, str]:
    """Wires each S3 trigger of the template to a queue; returns queue url per function."""
    s3 = boto3.client("s3", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    queues: dict[str, str] = {}
    per_bucket: dict[str, list[dict[str, Any]]] = {}
    for trigger in deployment.template.s3_triggers():
        if trigger.function not in queues:
            name = f"{deployment.names['AWS::StackName']}-{trigger.function}-events"
            queues[trigger.function] = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(
            QueueUrl=queues[trigger.function], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        rules = [
            {"Name": name, "Value": resolve(value, deployment.names)}
            for name, value in (("prefix", trigger.prefix), ("suffix", trigger.suffix))
            if value
        ]
        per_bucket.setdefault(deployment.physical(trigger.bucket), []).append(
            {
                "QueueArn": queue_arn,
                "Events": [trigger.events],
                "Filter": {"Key": {"FilterRules": rules}},
            }
        )
    for bucket, configurations in per_bucket.items():
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={"QueueConfigurations": configurations},
        )
    return queues


def deliver(
    queue_url: str,
    invoke: Callable[[dict[str, Any]], Any],
    region: str = "us-east-1",
    wait_seconds: int = 0,
    faults: Faults | None = None,
) -> int:
    """Hands every waiting S3 event to `invoke`; returns how many events were delivered.

    With `faults` (the emulator's), an event may be lost, or delivered twice at once, as
    S3's at-least-once delivery allows: two invocations of the function on two threads.
    """
    sqs = boto3.client("sqs", region_name=region)
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
