"""Secrets Manager, read through Powertools' cache: one read per secret every few minutes.

Rotating a secret therefore takes effect within `CACHE_SECONDS` in every warm function.
"""

import logging
from typing import Any

import boto3
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from backend.errors import ServiceUnavailable

# botocore logs every response body at DEBUG, secrets included.
logging.getLogger("botocore.parsers").setLevel(logging.INFO)

CACHE_SECONDS = 300

# Powertools' default provider makes its client from a boto3 session of its own, which loads
# botocore's data again (about 50 ms of cold start); this one shares boto3's default session.
_provider = parameters.SecretsProvider(boto3_client=boto3.client("secretsmanager"))


def json_secret(arn: str) -> dict[str, Any]:
    return _get(arn, "json")


def text_secret(arn: str) -> str:
    return str(_get(arn, None))


def _get(arn: str, transform: str | None) -> Any:
    try:
        return _provider.get(arn, transform=transform, max_age=CACHE_SECONDS)
    except GetParameterError:
        # Throttled or briefly unreachable: the client may retry.
        raise ServiceUnavailable(
            "a secret could not be read just now: try again", headers={"Retry-After": "2"}
        ) from None
