"""Publishes web/ to the stack's site bucket, with a config.js that points at the stack's API.

Only files whose content changed are uploaded, and only those are invalidated in CloudFront,
so that running it again is quick and changes nothing when nothing changed.
"""

import hashlib
import json
import mimetypes
import os
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from deploy import stack

WEB = stack.ROOT / "web"
OPENTOK_JS_URL = "https://static.opentok.com/v2/js/opentok.min.js"
# Pages and the configuration are checked on every visit; the rest may be cached a while.
REVALIDATE = "no-cache"
SHORT_CACHE = "public, max-age=300"
TEXT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


def config_js(api_url: str) -> bytes:
    # `make deploy OPENTOK_JS_URL=... OPENTOK_JS_INTEGRITY=...` pins one file (docs/security.md).
    settings = {
        "SAMPLE_SERVER_BASE_URL": api_url.rstrip("/"),
        "OPENTOK_JS_URL": os.environ.get("OPENTOK_JS_URL") or OPENTOK_JS_URL,
        "OPENTOK_JS_INTEGRITY": os.environ.get("OPENTOK_JS_INTEGRITY", ""),
    }
    lines = [f"window.{key} = {json.dumps(value)};" for key, value in settings.items()]
    return ("// Written by `make deploy` for this stack.\n" + "\n".join(lines) + "\n").encode()


def site_files(api_url: str, web: Path = WEB) -> dict[str, bytes]:
    """Every file of the site by key, with the generated config.js in place of the sample's."""
    files = {
        path.relative_to(web).as_posix(): path.read_bytes()
        for path in sorted(web.rglob("*"))
        if path.is_file()
    }
    files["js/config.js"] = config_js(api_url)
    return files


def _content_type(key: str) -> str:
    suffix = Path(key).suffix
    if suffix in TEXT_TYPES:
        return f"{TEXT_TYPES[suffix]}; charset=utf-8"
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def _cache_control(key: str) -> str:
    return REVALIDATE if key.endswith(".html") or key == "js/config.js" else SHORT_CACHE


def _unchanged(s3: Any, bucket: str, key: str, body: bytes) -> bool:
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    # A single-part upload's ETag is the MD5 of its content.
    digest = hashlib.md5(body, usedforsecurity=False).hexdigest()
    return head["ETag"].strip('"') == digest and head.get("CacheControl") == _cache_control(key)


def publish(
    outputs: dict[str, str], *, web: Path = WEB, s3: Any = None, cloudfront: Any = None
) -> list[str]:
    """Uploads what changed and invalidates it; returns the keys it uploaded."""
    s3 = s3 or boto3.client("s3")
    cloudfront = cloudfront or boto3.client("cloudfront")
    bucket = outputs["SiteBucketName"]
    uploaded = []
    for key, body in site_files(outputs["ApiUrl"], web).items():
        if _unchanged(s3, bucket, key, body):
            continue
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=_content_type(key),
            CacheControl=_cache_control(key),
        )
        uploaded.append(key)
    if uploaded:
        cloudfront.create_invalidation(
            DistributionId=outputs["SiteDistributionId"],
            InvalidationBatch={
                "Paths": {"Quantity": len(uploaded), "Items": [f"/{key}" for key in uploaded]},
                "CallerReference": f"publish-{time.time_ns()}",
            },
        )
    return uploaded


def main() -> None:
    outputs = stack.outputs()
    uploaded = publish(outputs)
    print(f"Published {len(uploaded)} changed file(s) of web/.")
    print(f"Site: {outputs['SiteUrl']}")
    print(f"API:  {outputs['ApiUrl']}")
    print(f"Next: make configure-opentok, then open {outputs['SiteUrl']}")


if __name__ == "__main__":
    main()
