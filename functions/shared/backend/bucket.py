"""The recording files OpenTok uploads to our bucket, and short-lived links to them."""

import boto3
from botocore.config import Config

from backend import config

# Made once, when the function starts (and so in a SnapStart snapshot). Reading keys needs no
# client: backend.object_keys does that.
s3 = boto3.client("s3", config=Config(signature_version="s3v4"))


def find(api_key: str, archive_id: str) -> tuple[str, int] | None:
    """The key and size of an archive's recording in the bucket, if OpenTok uploaded it."""
    for extension in ("mp4", "zip"):
        key = f"{api_key}/{archive_id}/archive.{extension}"
        try:
            head = s3.head_object(Bucket=config.ARCHIVE_BUCKET, Key=key)
        except s3.exceptions.ClientError as error:
            if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
                raise
            continue
        return key, head["ContentLength"]
    return None


def presigned_url(key: str) -> str:
    """A link that lets whoever holds it download the recording for a few minutes."""
    params = {"Bucket": config.ARCHIVE_BUCKET, "Key": key}
    if key.endswith(".zip"):
        params["ResponseContentDisposition"] = 'attachment; filename="archive.zip"'
    return s3.generate_presigned_url(
        "get_object", Params=params, ExpiresIn=config.PRESIGNED_URL_TTL_SECONDS
    )


def delete(key: str) -> None:
    """Deletes our copy; the bucket keeps the version for a while, against accidents."""
    s3.delete_object(Bucket=config.ARCHIVE_BUCKET, Key=key)


def delete_streams(recording_key: str) -> None:
    """Deletes the stream objects split out of an individual archive's zip, by listing them:
    a split cut short leaves some that the archive's record does not name."""
    prefix = recording_key.rsplit("/", 1)[0] + "/streams/"
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=config.ARCHIVE_BUCKET, Prefix=prefix
    )
    for page in pages:
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=config.ARCHIVE_BUCKET, Delete={"Objects": keys, "Quiet": True})
