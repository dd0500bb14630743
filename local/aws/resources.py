"""Creates the template's AWS resources in whatever AWS endpoint boto3 is pointed at (moto).

What is created, and with what, is the rendered CloudFormation of `Template.render`: the
table's keys and indexes, the buckets' names, the queues' redrive and the secrets' contents.
What moto makes up (a secret's ARN, an access key, a queue's URL) replaces its token there.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

import boto3

from local.aws.template import ACCOUNT_ID, S3Trigger, Schedule, SqsTrigger, Template

TABLE_API_FIELDS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
PASSWORD_RULES = {"PasswordLength", "ExcludePunctuation", "ExcludeCharacters"}
# The harness's own calls share one session: every test deploys, and five clients of fresh
# sessions take 0.3 s to make, of this one 0.04 s. moto answers every session's clients.
_SESSION = boto3.session.Session()


def share_session() -> None:
    """Makes the harness's session boto3's default one, under a mock_aws just started: moto's
    mock puts a fresh default session in place, whose clients would read the services'
    descriptions again (0.12-0.14 s for the four, every test) where this one has them."""
    boto3.DEFAULT_SESSION = _SESSION


def _client(service: str, region: str) -> Any:
    return _SESSION.client(service, region_name=region)


_RATE = re.compile(r"rate\((?P<value>\d+) (?P<unit>minutes?|hours?|days?)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass
class Deployment:
    template: Template
    rendered: dict[str, Any]
    names: dict[str, Any]

    def environment(self, function: str) -> dict[str, str]:
        properties = self.rendered["Resources"][function]["Properties"]
        variables = properties.get("Environment", {}).get("Variables", {})
        return {name: str(value) for name, value in variables.items()}

    def physical(self, logical_id: str) -> str:
        return self.names[logical_id]

    def secret_value(self, logical_id: str) -> str:
        """The current value of one of the template's secrets, e.g. the host key."""
        secrets = boto3.client("secretsmanager", region_name=self.names["AWS::Region"])
        return secrets.get_secret_value(SecretId=self.names[logical_id])["SecretString"]

    def cors(self) -> dict[str, Any]:
        """The HTTP API's CORS configuration as API Gateway reads it: the OpenAPI body's
        x-amazon-apigateway-cors, rendered for this deployment's parameters."""
        apis = _of_type(self.rendered, "AWS::ApiGatewayV2::Api").values()
        body = next(iter(apis), {}).get("Properties", {}).get("Body", {})
        return body.get("x-amazon-apigateway-cors", {})

    def response_headers_policy(self, distribution: str) -> dict[str, Any]:
        """The ResponseHeadersPolicyConfig of the policy that the distribution's default cache
        behavior names, rendered for this deployment; empty when it names none."""
        config = self.rendered["Resources"][distribution]["Properties"]["DistributionConfig"]
        policy_id = config["DefaultCacheBehavior"].get("ResponseHeadersPolicyId")
        policies = _of_type(self.rendered, "AWS::CloudFront::ResponseHeadersPolicy")
        for name, policy in policies.items():
            if policy_id is not None and self.names.get(name) == policy_id:
                return policy["Properties"]["ResponseHeadersPolicyConfig"]
        return {}

    def s3_triggers(self) -> list[S3Trigger]:
        """The buckets' notifications of a function, as the translator wrote them."""
        triggers = []
        for bucket, resource in _of_type(self.rendered, "AWS::S3::Bucket").items():
            notifications = resource["Properties"].get("NotificationConfiguration", {})
            for notification in notifications.get("LambdaConfigurations", []):
                rules = notification.get("Filter", {}).get("S3Key", {}).get("Rules", [])
                function = self._function(notification["Function"])
                # S3's API names its rules in lower case, as moto matches them.
                rules = [{"Name": r["Name"].lower(), "Value": r["Value"]} for r in rules]
                triggers.append(S3Trigger(function, bucket, notification["Event"], rules))
        return triggers

    def sqs_triggers(self) -> list[SqsTrigger]:
        """The functions' event source mappings of one of the template's queues."""
        queues = {
            self.names[f"{name}.Arn"]: name for name in _of_type(self.rendered, "AWS::SQS::Queue")
        }
        return [
            SqsTrigger(
                function=self._function(mapping["Properties"]["FunctionName"]),
                queue=queues[mapping["Properties"]["EventSourceArn"]],
                batch_size=mapping["Properties"].get("BatchSize", 10),
            )
            for mapping in _of_type(self.rendered, "AWS::Lambda::EventSourceMapping").values()
        ]

    def schedules(self) -> list[Schedule]:
        """The functions the template's EventBridge rules invoke on a schedule, and how often.

        Only `rate(value unit)` is read (minute(s), hour(s) or day(s), as EventBridge writes it:
        https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html);
        any other rule, a cron expression or an event pattern, is refused, never left unrun.
        """
        schedules = []
        for name, rule in _of_type(self.rendered, "AWS::Events::Rule").items():
            properties = rule["Properties"]
            if properties.get("State", "ENABLED") != "ENABLED":
                continue
            found = _RATE.fullmatch(properties.get("ScheduleExpression", ""))
            if found is None or "EventPattern" in properties:
                raise ValueError(f"the local stack runs rate() schedules only, not {name}'s")
            value, unit = int(found["value"]), found["unit"]
            if value < 1 or (value == 1) != (not unit.endswith("s")):
                raise ValueError(f"{name}: EventBridge refuses rate({value} {unit})")
            seconds = value * _UNIT_SECONDS[unit.rstrip("s")]
            rule_arn = f"arn:aws:events:{self.names['AWS::Region']}:{ACCOUNT_ID}:rule/{name}"
            for target in properties["Targets"]:
                schedules.append(Schedule(self._function(target["Arn"]), rule_arn, seconds))
        return schedules

    def _function(self, reference: str) -> str:
        """The function a name or ARN (of the function, or of an alias of it) stands for."""
        for name in _of_type(self.rendered, "AWS::Lambda::Function"):
            arn = self.names[f"{name}.Arn"]
            if reference in (self.names[name], arn) or reference.startswith(f"{arn}:"):
                return name
        raise KeyError(f"no function of the template is {reference}")


def deploy(
    template: Template,
    parameters: dict[str, Any],
    *,
    stack_name: str = "local",
    region: str = "us-east-1",
) -> Deployment:
    rendered = template.render(parameters, stack_name=stack_name, region=region)
    made: dict[str, str] = {}  # token: what moto made
    _create_access_keys(rendered, made, region)
    _create_tables(rendered, region)
    _create_buckets(rendered, region)
    _create_queues(rendered, made, region)
    _create_secrets(rendered, made, region, stack_name)
    rendered = _replace_tokens(rendered, made)
    names: dict[str, Any] = {
        name: spec["Value"] for name, spec in rendered.get("Parameters", {}).items()
    }
    names |= {
        "AWS::StackName": stack_name,
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT_ID,
    }
    for name, resource in rendered["Resources"].items():
        physical = resource.get("Metadata", {}).get("Cloud-Radar", {})
        if "ref" in physical:
            names[name] = physical["ref"]
        for attribute, value in physical.get("attribute-values", {}).items():
            names[f"{name}.{attribute}"] = value
    return Deployment(template, rendered, names)


def _of_type(rendered: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in rendered["Resources"].items()
        if resource["Type"] == kind
    }


def _ref(resource: dict[str, Any]) -> str:
    return resource["Metadata"]["Cloud-Radar"]["ref"]


def _replace_tokens(value: Any, made: dict[str, str]) -> Any:
    text = json.dumps(value)
    for token, physical in made.items():
        text = text.replace(token, physical)
    return json.loads(text)


def _create_access_keys(rendered: dict[str, Any], made: dict[str, str], region: str) -> None:
    iam = _client("iam", region)
    for name, resource in _of_type(rendered, "AWS::IAM::AccessKey").items():
        user = resource["Properties"]["UserName"]
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        made[_ref(resource)] = key["AccessKeyId"]
        made[f"@@{name}.SecretAccessKey@@"] = key["SecretAccessKey"]


def _create_tables(rendered: dict[str, Any], region: str) -> None:
    dynamodb = _client("dynamodb", region)
    for resource in _of_type(rendered, "AWS::DynamoDB::Table").values():
        properties = resource["Properties"]
        dynamodb.create_table(
            TableName=_ref(resource),
            **{key: properties[key] for key in TABLE_API_FIELDS if key in properties},
        )


def _create_buckets(rendered: dict[str, Any], region: str) -> None:
    s3 = _client("s3", region)
    for resource in _of_type(rendered, "AWS::S3::Bucket").values():
        bucket = _ref(resource)
        s3.create_bucket(Bucket=bucket)
        versioning = resource["Properties"].get("VersioningConfiguration")
        if versioning:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=versioning)


def _create_queues(rendered: dict[str, Any], made: dict[str, str], region: str) -> None:
    sqs = _client("sqs", region)
    queues = _of_type(rendered, "AWS::SQS::Queue")
    # Dead-letter queues first: a redrive policy names one by its ARN.
    for resource in sorted(
        queues.values(), key=lambda queue: "RedrivePolicy" in queue["Properties"]
    ):
        properties = resource["Properties"]
        attributes = {
            name: json.dumps(properties[name]) if name == "RedrivePolicy" else str(properties[name])
            for name in ("VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy")
            if name in properties
        }
        queue_name = resource["Metadata"]["Cloud-Radar"]["attribute-values"]["QueueName"]
        url = sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
        made[_ref(resource)] = url


def _create_secrets(
    rendered: dict[str, Any], made: dict[str, str], region: str, stack: str
) -> None:
    secrets = _client("secretsmanager", region)
    for name, resource in _of_type(rendered, "AWS::SecretsManager::Secret").items():
        properties = resource["Properties"]
        if "GenerateSecretString" in properties:
            # Secrets Manager makes the value, with the template's rules, as at deploy time.
            rules = properties["GenerateSecretString"]
            if set(rules) - PASSWORD_RULES:
                raise ValueError(f"GenerateSecretString options not deployed locally: {rules}")
            secret_string = secrets.get_random_password(**rules)["RandomPassword"]
        else:
            secret_string = _replace_tokens(properties["SecretString"], made)
            if secret_string.startswith("{"):
                json.loads(secret_string)  # a template that writes broken JSON should fail here
        created = secrets.create_secret(Name=f"{stack}-{name}", SecretString=secret_string)
        made[_ref(resource)] = created["ARN"]
