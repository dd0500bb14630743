"""An S3 multipart upload that a later invocation takes up where an earlier one stopped.

The open upload is the record of progress: an invocation finds the one left open for its key
(the newest, should there be several) or opens one, lists the parts already there, uploads the
rest and completes it. The recording's copy from OpenTok (copy_upload) and the split of an
individual archive's zip (archive_zip) both write this way, each with its own S3 client.
"""

from typing import Any


def open_upload(s3: Any, bucket: str, key: str, content_type: str) -> str:
    """The upload an earlier invocation left open for this key, or a new one."""
    answer = s3.list_multipart_uploads(Bucket=bucket, Prefix=key)
    uploads = [upload for upload in answer.get("Uploads", []) if upload["Key"] == key]
    if uploads:
        return max(uploads, key=lambda upload: upload["Initiated"])["UploadId"]
    return s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)["UploadId"]


def uploaded_parts(s3: Any, bucket: str, key: str, upload_id: str) -> list[dict[str, Any]]:
    """Every part of the upload so far (number, ETag, size), as S3 lists them, page by page."""
    parts: list[dict[str, Any]] = []
    request: dict[str, Any] = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
    while True:
        answer = s3.list_parts(**request)
        parts += answer.get("Parts", [])
        if not answer.get("IsTruncated"):
            return parts
        request["PartNumberMarker"] = answer["NextPartNumberMarker"]


def complete(s3: Any, bucket: str, key: str, upload_id: str, parts: dict[int, str]) -> None:
    """Completes the upload with its parts (number: ETag): the object appears, with its event."""
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in sorted(parts.items())]
        },
    )
