"""Creates the template's AWS resources in whatever AWS endpoint boto3 is pointed at (moto).

The table's keys and indexes, the bucket's name and the secret's contents are read from
template.yaml; the function environments are resolved against what was created.
"""

import json
import uuid
from dataclasses import dataclass
from typing import Any

import boto3

from local.template import Template, resolve

ACCOUNT_ID = "123456789012"
TABLE_API_FIELDS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")


@dataclass
class Deployment:
    template: Template
    names: dict[str, Any]

    def environment(self, function: str) -> dict[str, str]:
        variables = self.template.functions()[function].environment
        return {name: str(resolve(value, self.names)) for name, value in variables.items()}

    def all_environments(self) -> dict[str, str]:
        """Every function's variables together: in one process they share one environment."""
        merged: dict[str, str] = {}
        for function in self.template.functions():
            merged |= self.environment(function)
        return merged

    def physical(self, logical_id: str) -> str:
        return self.names[logical_id]

    def opentok_storage(self) -> dict[str, Any]:
        """OpenTok's archive storage pointed at the archive bucket, as configure-opentok sets it
        (locally with moto's any-credentials, and no fallback: a failed upload shows)."""
        return {
            "type": "s3",
            "config": {
                "accessKey": "local",
                "secretKey": "local",
                "bucket": self.physical("ArchiveBucket"),
            },
            "fallback": "none",
        }

    def secret_value(self, logical_id: str) -> str:
        """The current value of one of the template's secrets, e.g. the host key."""
        secrets = boto3.client("secretsmanager", region_name=self.names["AWS::Region"])
        return secrets.get_secret_value(SecretId=self.names[logical_id])["SecretString"]


def deploy(
    template: Template,
    parameters: dict[str, str],
    *,
    stack_name: str = "local",
    region: str = "us-east-1",
) -> Deployment:
    names: dict[str, Any] = {
        **template.parameter_defaults(),
        **parameters,
        "AWS::StackName": stack_name,
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/"
        f"{uuid.uuid4()}",
    }
    for name, value in list(names.items()):
        # CommaDelimitedList parameters are lists once given, as CloudFormation splits them.
        spec = template.document.get("Parameters", {}).get(name, {})
        if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
            names[name] = value.split(",")
    names |= template.conditions(names)
    for logical_id in template.resources:
        names.setdefault(logical_id, f"{stack_name}-{logical_id}".lower())
    # What moto does not run: the site's distribution is named, not created.
    for logical_id in template.of_type("AWS::CloudFront::Distribution"):
        names[f"{logical_id}.DomainName"] = f"{logical_id.lower()}.cloudfront.example"
    _create_access_keys(template, names, region)
    _create_tables(template, names, region)
    _create_buckets(template, names, region)
    _create_queues(template, names, region)
    _create_secrets(template, names, region, stack_name)
    return Deployment(template, names)


def _create_access_keys(template: Template, names: dict[str, Any], region: str) -> None:
    iam = boto3.client("iam", region_name=region)
    for logical_id, resource in template.of_type("AWS::IAM::AccessKey").items():
        user = names[resource["Properties"]["UserName"]["Ref"]]
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        names[logical_id] = key["AccessKeyId"]
        names[f"{logical_id}.SecretAccessKey"] = key["SecretAccessKey"]


def _create_tables(template: Template, names: dict[str, Any], region: str) -> None:
    dynamodb = boto3.client("dynamodb", region_name=region)
    for logical_id, resource in template.of_type("AWS::DynamoDB::Table").items():
        properties = resource["Properties"]
        table_name = names[logical_id]
        dynamodb.create_table(
            TableName=table_name,
            **{key: properties[key] for key in TABLE_API_FIELDS if key in properties},
        )
        names[f"{logical_id}.Arn"] = f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{table_name}"


def _create_buckets(template: Template, names: dict[str, Any], region: str) -> None:
    s3 = boto3.client("s3", region_name=region)
    for logical_id, resource in template.of_type("AWS::S3::Bucket").items():
        properties = resource["Properties"]
        bucket = resolve(properties.get("BucketName"), names) or names[logical_id]
        s3.create_bucket(Bucket=bucket)
        if properties.get("VersioningConfiguration"):
            s3.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration=properties["VersioningConfiguration"]
            )
        names[logical_id] = bucket
        names[f"{logical_id}.Arn"] = f"arn:aws:s3:::{bucket}"


def _create_queues(template: Template, names: dict[str, Any], region: str) -> None:
    sqs = boto3.client("sqs", region_name=region)
    queues = template.of_type("AWS::SQS::Queue")
    # Dead-letter queues first: a redrive policy names one by its ARN.
    for logical_id in sorted(
        queues, key=lambda name: "RedrivePolicy" in queues[name]["Properties"]
    ):
        properties = resolve(queues[logical_id]["Properties"], names)
        attributes = {
            name: json.dumps(properties[name]) if name == "RedrivePolicy" else str(properties[name])
            for name in ("VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy")
            if name in properties
        }
        url = sqs.create_queue(QueueName=names[logical_id], Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        names[f"{logical_id}.QueueName"] = names[logical_id]
        names[f"{logical_id}.Arn"] = arn["QueueArn"]
        names[logical_id] = url  # Ref of a queue is its URL


def _create_secrets(template: Template, names: dict[str, Any], region: str, stack: str) -> None:
    secrets = boto3.client("secretsmanager", region_name=region)
    for logical_id, resource in template.of_type("AWS::SecretsManager::Secret").items():
        if "Condition" in resource and not names[f"Condition:{resource['Condition']}"]:
            continue  # CloudFormation creates a resource only when its condition holds
        properties = resource["Properties"]
        if "GenerateSecretString" in properties:
            # Secrets Manager makes the value, with the template's rules, as at deploy time.
            secret_string = secrets.get_random_password(
                **_password_rules(properties["GenerateSecretString"])
            )["RandomPassword"]
        else:
            secret_string = resolve(properties["SecretString"], names)
            if "Fn::Sub" in properties["SecretString"]:
                json.loads(secret_string)  # a template that writes broken JSON should fail here
        created = secrets.create_secret(Name=f"{stack}-{logical_id}", SecretString=secret_string)
        names[logical_id] = created["ARN"]


def _password_rules(generate: dict[str, Any]) -> dict[str, Any]:
    unsupported = set(generate) - {"PasswordLength", "ExcludePunctuation", "ExcludeCharacters"}
    if unsupported:
        raise ValueError(f"GenerateSecretString options not deployed locally: {unsupported}")
    return generate
