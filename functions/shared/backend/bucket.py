"""The recording files OpenTok uploads to our bucket, and short-lived links to them."""

import logging

import boto3
from botocore.config import Config

from backend import config

# botocore logs every signature it computes at DEBUG: a presigned link's is the link itself,
# good for downloading the recording. Never at DEBUG, then, whatever the log level.
logging.getLogger("botocore.auth").setLevel(logging.INFO)

# Made once, when the function starts (and so in a SnapStart snapshot). Reading keys needs no
# client: backend.object_keys does that.
s3 = boto3.client("s3", config=Config(signature_version="s3v4"))


def find(api_key: str, archive_id: str) -> tuple[str, int, str | None] | None:
    """The key, size and version of an archive's recording in the bucket, if OpenTok
    uploaded it."""
    for extension in ("mp4", "zip"):
        key = f"{api_key}/{archive_id}/archive.{extension}"
        try:
            head = s3.head_object(Bucket=config.ARCHIVE_BUCKET, Key=key)
        except s3.exceptions.ClientError as error:
            if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
                raise
            continue
        return key, head["ContentLength"], head.get("VersionId")
    return None


def presigned_url(key: str, version: str | None = None) -> str:
    """A link that lets whoever holds it download the recording for a few minutes: of the
    object version that was marked ready, when one was, so that what the bucket's upload
    key writes over it later is never what the link serves."""
    params = {"Bucket": config.ARCHIVE_BUCKET, "Key": key}
    if version:
        params["VersionId"] = version
    if key.endswith(".zip"):
        params["ResponseContentDisposition"] = 'attachment; filename="archive.zip"'
    return s3.generate_presigned_url(
        "get_object", Params=params, ExpiresIn=config.PRESIGNED_URL_TTL_SECONDS
    )


def delete_archive(archive_id: str, bucket_name: str | None = None) -> int:
    """Deletes every version of every object of an archive, by its prefix: its MP4 or zip, the
    streams split out of it, and any delete marker. The bucket is versioned, so a plain delete
    would only hide a recording; and what the record knows of it (an event lost, a split cut
    short) is not asked. Returns how many versions were deleted."""
    name = bucket_name or config.ARCHIVE_BUCKET
    prefix = f"{config.OPENTOK_API_KEY}/{archive_id}/"
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name, Prefix=prefix):
        # A page lists at most 1,000 versions and markers together: one DeleteObjects call.
        versions = [
            {"Key": version["Key"], "VersionId": version["VersionId"]}
            for version in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        if not versions:
            continue
        answer = s3.delete_objects(Bucket=name, Delete={"Objects": versions, "Quiet": True})
        if answer.get("Errors"):
            # Raised, not logged and forgotten: the caller's retry deletes what is left.
            raise RuntimeError(f"S3 kept {len(answer['Errors'])} versions of the archive")
        deleted += len(versions)
    return deleted
