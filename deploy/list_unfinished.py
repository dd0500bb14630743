"""After `sam deploy`: puts the archives of the last three days that are still unfinished into
the reconciler's sparse index (UnfinishedArchives).

Archives written before the index existed lack its attribute, and the reconciler, which reads
only the index, would never look at them again: a recording OpenTok kept would not be copied.
Safe to run on every deploy: an archive already listed, ready or at an end is left alone.
"""

import time

import boto3

from deploy import stack

LOOKBACK_MS = 3 * 24 * 3600 * 1000  # the reconciler's window
FINISHED = ("failed", "expired", "deleted")


def list_unfinished(table: str, now_ms: int) -> int:
    """Lists the unfinished archives of the window that are not listed; returns how many."""
    dynamodb = boto3.client("dynamodb")
    listed = 0
    pages = dynamodb.get_paginator("query").paginate(
        TableName=table,
        IndexName="ArchivesByTime",
        KeyConditionExpression="kind = :kind AND createdSort > :after",
        ExpressionAttributeValues={
            ":kind": {"S": "archive"},
            ":after": {"S": f"{now_ms - LOOKBACK_MS:015d}#"},
        },
    )
    for page in pages:
        for item in page["Items"]:
            if "unfinished" in item or item.get("ready", {}).get("BOOL"):
                continue
            if item.get("status", {}).get("S") in FINISHED:
                continue
            try:
                dynamodb.update_item(
                    TableName=table,
                    Key={"pk": item["pk"]},
                    UpdateExpression="SET unfinished = :kind",
                    # Unless a function finished it meanwhile.
                    ConditionExpression="ready <> :true AND NOT #status IN (:failed, :expired,"
                    " :deleted) AND attribute_not_exists(unfinished)",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":kind": {"S": "archive"},
                        ":true": {"BOOL": True},
                        **{f":{status}": {"S": status} for status in FINISHED},
                    },
                )
            except dynamodb.exceptions.ConditionalCheckFailedException:
                continue
            listed += 1
    return listed


def main() -> None:
    table = stack.outputs()["ArchiveTableName"]
    listed = list_unfinished(table, int(time.time() * 1000))
    print(f"Listed {listed} unfinished archive(s) for the reconciler.")


if __name__ == "__main__":
    main()
