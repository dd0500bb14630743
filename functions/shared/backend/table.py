"""The one DynamoDB table that holds rooms and archives, through the low-level client.

The low-level client, not boto3's resource layer: the resource layer costs cold-start time.
"""

from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

from backend import config

# Throttled requests are retried with backoff and jitter (standard mode: up to 1 s, then 2 s;
# three attempts in all): enough to ride out a burst of an on-demand table, and short enough
# that the request still answers (503, to retry) inside the functions' 15 s, not time out.
RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 3})

dynamodb = boto3.client("dynamodb", config=RETRIES)
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class ConditionFailed(Exception):
    """A conditional write found the item in a state it must not overwrite."""


class ItemTooLarge(Exception):
    """A write would make the item larger than DynamoDB's 400 KB: the same write always would."""


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(_deserializer.deserialize(value)) for name, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    # Lists and maps too: an individual archive's streams are a list of maps.
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {name: _plain(item) for name, item in value.items()}
    return value


def get(pk: str) -> dict[str, Any] | None:
    answer = dynamodb.get_item(
        TableName=config.TABLE_NAME, Key=to_item({"pk": pk}), ConsistentRead=True
    )
    return from_item(answer["Item"]) if "Item" in answer else None


def put_new(values: dict[str, Any]) -> None:
    """Writes an item that must not exist yet; raises ConditionFailed if it does."""
    try:
        dynamodb.put_item(
            TableName=config.TABLE_NAME,
            Item=to_item(values),
            ConditionExpression="attribute_not_exists(pk)",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        raise ConditionFailed(values["pk"]) from None


def update(
    pk: str, expression: str, condition: str, values: dict[str, Any], names: dict[str, str]
) -> dict[str, Any]:
    """A conditional update; returns the item as written, raises ConditionFailed or
    ItemTooLarge."""
    request: dict[str, Any] = {
        "TableName": config.TABLE_NAME,
        "Key": to_item({"pk": pk}),
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ReturnValues": "ALL_NEW",
    }
    # DynamoDB refuses empty maps here.
    if values:
        request["ExpressionAttributeValues"] = to_item(values)
    if names:
        request["ExpressionAttributeNames"] = names
    try:
        answer = dynamodb.update_item(**request)
    except dynamodb.exceptions.ConditionalCheckFailedException:
        raise ConditionFailed(pk) from None
    except dynamodb.exceptions.ClientError as error:
        if _too_large(error):
            raise ItemTooLarge(pk) from None
        raise
    return from_item(answer["Attributes"])


def _too_large(error: Any) -> bool:
    # DynamoDB says so in words only, in a ValidationException as for a malformed request.
    answer = error.response["Error"]
    return (
        answer["Code"] == "ValidationException" and "item size" in answer.get("Message", "").lower()
    )


def query(
    index: str,
    key_name: str,
    key_value: str,
    limit: int,
    start: dict[str, Any] | None,
    *,
    after: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of an index, newest first, and where the next page starts.

    `after` keeps to the items whose sort key (createdSort) is greater.
    """
    condition, values = "#key = :value", {":value": key_value}
    if after is not None:
        condition, values = condition + " AND createdSort > :after", values | {":after": after}
    request: dict[str, Any] = {
        "TableName": config.TABLE_NAME,
        "IndexName": index,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": {"#key": key_name},
        "ExpressionAttributeValues": to_item(values),
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if start:
        request["ExclusiveStartKey"] = to_item(start)
    answer = dynamodb.query(**request)
    last = answer.get("LastEvaluatedKey")
    return [from_item(item) for item in answer["Items"]], from_item(last) if last else None
