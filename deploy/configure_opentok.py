"""Points the OpenTok project's archive storage at the stack's bucket, through the REST API.

OpenTok gets the upload-only access key the stack made (from Secrets Manager), never ours.
With the `opentok` fallback, OpenTok keeps a recording it could not upload and serves it
itself, so that no recording is lost to a failed upload; `none` fails the archive instead.
"""

import argparse
import json
from typing import Any

import boto3
import opentok
import requests

from deploy import stack

OPENTOK_API_URL = "https://api.opentok.com"


def _secret(secrets: Any, arn: str) -> dict[str, str]:
    return json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])


def configure(
    outputs: dict[str, str],
    *,
    fallback: str = "opentok",
    api_url: str = OPENTOK_API_URL,
    secrets: Any = None,
) -> dict[str, Any]:
    """Sets the project's S3 upload target; returns what OpenTok answered."""
    secrets = secrets or boto3.client("secretsmanager")
    project = _secret(secrets, outputs["OpenTokSecretArn"])
    uploader = _secret(secrets, outputs["ArchiveUploaderSecretArn"])
    client = opentok.Client(project["apiKey"], project["apiSecret"], api_url=api_url)
    answer = requests.put(
        f"{api_url}/v2/project/{project['apiKey']}/archive/storage",
        json={
            "type": "s3",
            "config": {
                "accessKey": uploader["accessKey"],
                "secretKey": uploader["secretKey"],
                "bucket": outputs["ArchiveBucketName"],
            },
            "fallback": fallback,
        },
        headers=client.get_json_headers(),
        timeout=15,
    )
    if not answer.ok:
        raise SystemExit(
            f"OpenTok refused the storage settings ({answer.status_code}): {answer.text}"
        )
    return answer.json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fallback", choices=("opentok", "none"), default="opentok")
    parser.add_argument("--api-url", default=OPENTOK_API_URL)
    options = parser.parse_args()
    outputs = stack.outputs()
    configure(outputs, fallback=options.fallback, api_url=options.api_url)
    print(f"OpenTok now uploads recordings to s3://{outputs['ArchiveBucketName']}/")
    print("Paste this as the project's archive callback URL in your Vonage Video account:")
    print(f"  {outputs['CallbackUrl']}")


if __name__ == "__main__":
    main()
