"""Points the OpenTok project's archive storage at the stack's bucket, through the REST API.

OpenTok gets the upload-only access key the stack made (from Secrets Manager), never ours.
With the `opentok` fallback, OpenTok keeps a recording it could not upload and serves it
itself, so that no recording is lost to a failed upload; `none` fails the archive instead.

Both kinds of credentials work (contract §1): an OpenTok API key and secret (api.opentok.com,
`X-OPENTOK-AUTH`), or a Vonage application id and its private key (video.api.vonage.com,
`Authorization: Bearer`), each signed by the OpenTok SDK as the functions sign theirs.
"""

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import boto3
import opentok
import requests

from deploy import stack

OPENTOK_API_URL = "https://api.opentok.com"
# The SDK talks to this one, whatever it is told, once given a Vonage private key.
VONAGE_API_URL = "https://video.api.vonage.com"


def _secret(secrets: Any, arn: str) -> dict[str, str]:
    return json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])


def is_vonage_application(api_secret: str) -> bool:
    """A Vonage application's credential is an RSA private key (PEM), not an API secret."""
    return api_secret.lstrip().startswith("-----BEGIN")


def default_api_url(api_secret: str) -> str:
    return VONAGE_API_URL if is_vonage_application(api_secret) else OPENTOK_API_URL


def auth_headers(api_key: str, api_secret: str) -> dict[str, str]:
    """The SDK's signed headers for a REST call of this project (contract §1)."""
    if not is_vonage_application(api_secret):
        return opentok.Client(api_key, api_secret).get_json_headers()
    # The SDK reads a Vonage private key from a file only; it lives as long as this call.
    with tempfile.TemporaryDirectory() as folder:
        key_file = Path(folder) / "private.key"
        key_file.touch(mode=0o600)
        key_file.write_text(api_secret)
        return opentok.Client(api_key, str(key_file)).get_json_headers()


def storage_settings(
    uploader: dict[str, str], bucket: str, *, fallback: str, sse: str, endpoint: str | None
) -> dict[str, Any]:
    """The body of PUT .../archive/storage (contract §7)."""
    config = {
        "accessKey": uploader["accessKey"],
        "secretKey": uploader["secretKey"],
        "bucket": bucket,
        "sse": sse,
    }
    if endpoint:
        config["endpoint"] = endpoint
    return {"type": "s3", "config": config, "fallback": fallback}


def configure(
    outputs: dict[str, str],
    *,
    fallback: str = "opentok",
    sse: str = "s3",
    endpoint: str | None = None,
    api_url: str | None = None,
    secrets: Any = None,
) -> dict[str, Any]:
    """Sets the project's S3 upload target; returns what was set, without the secret key.

    OpenTok's answer is only checked for success: its body is undocumented (contract §7),
    so an empty one will do as well as a JSON one.
    """
    secrets = secrets or boto3.client("secretsmanager")
    project = _secret(secrets, outputs["OpenTokSecretArn"])
    uploader = _secret(secrets, outputs["ArchiveUploaderSecretArn"])
    api_key, api_secret = str(project["apiKey"]), str(project["apiSecret"])
    base = (api_url or default_api_url(api_secret)).rstrip("/")
    body = storage_settings(
        uploader, outputs["ArchiveBucketName"], fallback=fallback, sse=sse, endpoint=endpoint
    )
    answer = requests.put(
        f"{base}/v2/project/{api_key}/archive/storage",
        json=body,
        headers=auth_headers(api_key, api_secret),
        timeout=15,
    )
    if not answer.ok:
        raise SystemExit(
            f"OpenTok refused the storage settings: {in_plain_words(answer)}\n"
            f"If it says it cannot write to the bucket: the upload key may only s3:PutObject "
            f"under s3://{outputs['ArchiveBucketName']}/{api_key}/, and OpenTok does not "
            "document what else its uploader needs (docs/deploy.md, first deploy)."
        )
    applied = json.loads(json.dumps(body))
    del applied["config"]["secretKey"]
    applied["answer"] = in_plain_words(answer)
    return applied


def in_plain_words(answer: requests.Response) -> str:
    """OpenTok's answer for people: its status, and its message (the `message` of a JSON error,
    contract §5: `{"code", "message", "description"}`) or its text, short."""
    said = answer.text.strip()
    try:
        parsed = json.loads(said) if said else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        said = parsed["message"]
    said = " ".join(said.split())[:300]
    status = f"{answer.status_code} {answer.reason or ''}".strip()
    return f"{status}, saying: {said}" if said else f"{status}, with nothing more to say"


def describe(applied: dict[str, Any]) -> list[str]:
    """What was set, for people: every setting but the secret key."""
    config = applied["config"]
    return [
        f"OpenTok now uploads recordings to s3://{config['bucket']}/",
        f"  endpoint: {config.get('endpoint') or 'Amazon S3 (the default)'}",
        f"  server-side encryption: {config['sse']}",
        f"  if an upload fails: {applied['fallback']}",
        f"  with the access key {config['accessKey']}",
        f"OpenTok answered {applied['answer']}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fallback", choices=("opentok", "none"), default="opentok")
    parser.add_argument("--sse", choices=("s3", "none"), default="s3")
    parser.add_argument("--endpoint", default=None, help="an S3-compatible base URL, not AWS")
    parser.add_argument(
        "--api-url",
        default=os.environ.get("OPENTOK_API_URL") or None,
        help="the OpenTok REST API (default: the one of the credential's kind)",
    )
    options = parser.parse_args()
    outputs = stack.outputs()
    applied = configure(
        outputs,
        fallback=options.fallback,
        sse=options.sse,
        endpoint=options.endpoint,
        api_url=options.api_url,
    )
    print("\n".join(describe(applied)))
    print("Paste this as the project's archive callback URL in your Vonage Video account:")
    print(f"  {outputs['CallbackUrl']}")


if __name__ == "__main__":
    main()
