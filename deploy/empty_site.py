"""Empties the site bucket before `sam delete`: CloudFormation cannot delete a full bucket.

Only the site, which `make deploy` publishes again from web/. The archive bucket and the
table are kept by the stack's deletion policy, recordings and all.
"""

import boto3
from botocore.exceptions import ClientError

from deploy import stack


def empty(bucket: str) -> int:
    s3 = boto3.client("s3")
    removed = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            removed += len(keys)
    return removed


def main() -> None:
    try:
        outputs = stack.outputs()
    except ClientError as error:
        print(f"Nothing to empty: {error}")
        return
    print(f"Removed {empty(outputs['SiteBucketName'])} file(s) of the site.")


if __name__ == "__main__":
    main()
