"""template.yaml as CloudFormation deploys it: the single source of truth for what runs locally.

The SAM template is translated to CloudFormation by aws-sam-translator, as `sam deploy` does,
after cloud-radar has expanded any Fn::ForEach and the translator's own resolver the
Fn::FindInMap a loop leaves (the SAM CLI's step, which the translator lacks); cloud-radar then
renders the intrinsic functions and conditions for a deployment's parameters and its
resources' physical names. Tests and the local stack take the table's keys, the functions,
their handlers, environment and triggers from the result (the routes from the HttpApi events,
plain strings once expanded), so they cannot drift from what is deployed.
"""

import contextlib
import copy
import io
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from cfn_tools import load_yaml
from cloud_radar.cf.unit import Template as CloudRadarTemplate
from samtranslator.intrinsics.actions import FindInMapAction
from samtranslator.intrinsics.resolver import IntrinsicsResolver
from samtranslator.metrics.metrics import Metrics
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"
# CodeUri and ContentUri as S3 locations, so that the translator leaves them as they are:
# the folder's path is the key, and the harness runs the folder in place.
CODE_BUCKET = "local-code"

RENDERED_TYPES = {
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::SecretsManager::Secret",
    "AWS::IAM::AccessKey",
    "AWS::Lambda::Function",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Events::Rule",  # the schedules the local stack runs (the reconciler's)
    "AWS::ApiGatewayV2::Api",  # its OpenAPI body: the routes and the CORS API Gateway answers with
    # The site's distribution and the response headers policy it names: the headers make dev serves.
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::ResponseHeadersPolicy",
}
# Each step is done once per process for each distinct input, as JSON text (a fresh copy
# each time it is read): every test deploys, and rendering alone takes half a second
# (cloud-radar copies the template through PyYAML).
_LOADED: dict[str, str] = {}
_TRANSLATED: dict[str, str] = {}
_RENDERED: dict[str, str] = {}


@dataclass
class Route:
    method: str
    path: str
    function: str
    pattern: re.Pattern[str] = field(repr=False)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path) if method == self.method else None
        return found.groupdict() if found else None


@dataclass
class S3Trigger:
    function: str
    bucket: str
    events: str
    rules: list[dict[str, str]]  # S3's key filter rules: prefix, suffix


@dataclass
class SqsTrigger:
    function: str
    queue: str
    batch_size: int


@dataclass
class Schedule:
    function: str
    rule: str  # the rule's ARN, which the scheduled event names
    seconds: float


@dataclass
class Function:
    name: str
    code_dir: Path
    handler: str
    environment: dict[str, Any]
    layer_dirs: list[Path]
    timeout: float = 3.0  # seconds, Lambda's default


class Template:
    """The SAM template as written (`document`, any Fn::ForEach expanded) and, through the
    translator, its functions; `render` gives the CloudFormation of one deployment."""

    def __init__(self, path: Path = TEMPLATE_PATH) -> None:
        text = path.read_text()
        if text not in _LOADED:
            _LOADED[text] = json.dumps(_expand_for_each(json.loads(json.dumps(load_yaml(text)))))
        self.document: dict[str, Any] = json.loads(_LOADED[text])
        self.resources: dict[str, dict[str, Any]] = self.document["Resources"]

    def parameter_defaults(self) -> dict[str, Any]:
        return {
            name: spec["Default"]
            for name, spec in self.document.get("Parameters", {}).items()
            if "Default" in spec
        }

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return _of_type(self.resources, resource_type)

    def translated(self, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        """The template as CloudFormation, SAM's resources turned into Lambda's, IAM's and
        API Gateway's, the Globals merged in; intrinsic functions still unresolved."""
        key = json.dumps([self.document, parameters], sort_keys=True)
        if key not in _TRANSLATED:
            _TRANSLATED[key] = json.dumps(self._translate(parameters or {}))
        return json.loads(_TRANSLATED[key])

    def _translate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        document = copy.deepcopy(self.document)
        resources = [resource.get("Properties", {}) for resource in document["Resources"].values()]
        for properties in [document.get("Globals", {}).get("Function", {}), *resources]:
            for key in ("CodeUri", "ContentUri"):
                if isinstance(properties.get(key), str) and "://" not in properties[key]:
                    properties[key] = f"s3://{CODE_BUCKET}/{properties[key]}"
        # The session only tells the translator the region (for ARNs); it calls no AWS API.
        metrics = Metrics()  # the translator's usage counts, dropped by its offline publisher
        translator = Translator(
            managed_policy_map={},
            sam_parser=Parser(),
            boto_session=boto3.session.Session(region_name="us-east-1"),
            metrics=metrics,
        )
        values = _evaluated(document.get("Parameters", {}), parameters)
        translated = translator.translate(document, parameter_values=values)
        metrics.publish()
        return json.loads(json.dumps(translated))  # the translator's own dict types, as plain

    def functions(self) -> dict[str, Function]:
        translated = self.translated()
        resources = translated["Resources"]
        functions = {}
        for name, resource in _of_type(resources, "AWS::Lambda::Function").items():
            properties = resource["Properties"]
            functions[name] = Function(
                name=name,
                code_dir=ROOT / properties["Code"]["S3Key"],
                handler=properties["Handler"],
                environment=properties.get("Environment", {}).get("Variables", {}),
                layer_dirs=[
                    ROOT / resources[layer["Ref"]]["Properties"]["Content"]["S3Key"]
                    for layer in properties.get("Layers", [])
                ],
                timeout=float(properties.get("Timeout", 3)),
            )
        return functions

    def routes(self) -> list[Route]:
        """The HTTP API's routes, from the OpenAPI body the translator wrote: each operation's
        Lambda proxy integration names the function (or its alias) it invokes."""
        resources = self.translated()["Resources"]
        routes = []
        for name, api in _of_type(resources, "AWS::ApiGatewayV2::Api").items():
            for path, operations in api["Properties"]["Body"]["paths"].items():
                for method, operation in operations.items():
                    function = _integrated_function(name, path, method, operation, resources)
                    routes.append(Route(method.upper(), path, function, _path_pattern(path)))
        # API Gateway prefers the route with fewer path variables ("most specific match").
        return sorted(routes, key=lambda route: route.path.count("{"))

    def render(
        self, parameters: dict[str, Any], *, stack_name: str = "local", region: str = "us-east-1"
    ) -> dict[str, Any]:
        """The CloudFormation of one deployment, everything resolved: each resource carries its
        physical names in `Metadata.Cloud-Radar`; values only moto can make (a secret's ARN,
        an access key, a queue's URL) are `@@Logical@@` tokens for `deploy` to replace."""
        key = json.dumps([self.document, parameters, stack_name, region], sort_keys=True)
        if key not in _RENDERED:
            _RENDERED[key] = json.dumps(self._render(parameters, stack_name, region))
        return json.loads(_RENDERED[key])

    def refusals(self, parameters: dict[str, Any]) -> list[str]:
        """The AssertDescription of every rule (the template's Rules section) that the
        parameters break: CloudFormation refuses such a stack before it creates anything."""
        values = {**self.parameter_defaults(), **parameters}
        refused = []
        for rule in self.document.get("Rules", {}).values():
            if not _rule_holds(rule.get("RuleCondition", True), values):
                continue
            for assertion in rule["Assertions"]:
                if not _rule_holds(assertion["Assert"], values):
                    refused.append(assertion.get("AssertDescription", json.dumps(assertion)))
        return refused

    def _render(self, parameters: dict[str, Any], stack_name: str, region: str) -> dict[str, Any]:
        refused = self.refusals(parameters)
        if refused:
            raise ValueError("template.yaml's Rules refuse the parameters: " + " ".join(refused))
        declared = self.document.get("Parameters", {})
        values = _typed(declared, parameters)
        cloudformation = self.translated(values)
        resources = cloudformation["Resources"]
        physical_names = _physical_names(resources, stack_name, region)
        # What the harness neither creates nor reads (roles, alarms, the dashboard, checkov's
        # notes) is rendered as an empty shell, which references still find: a third the work.
        for name, resource in resources.items():
            resource["Metadata"] = {"Cloud-Radar": physical_names.get(name, {})}
            if resource["Type"] not in RENDERED_TYPES:
                resource["Properties"] = {}
        CloudRadarTemplate.AccountId = ACCOUNT_ID
        # cloud-radar's AWS::NoValue is "" by default, and it drops every property whose value
        # is "" (an empty environment variable, too): a value no template writes instead.
        CloudRadarTemplate.NoValue = "@@AWS::NoValue@@"
        CloudRadarTemplate.StackName = stack_name
        CloudRadarTemplate.StackId = (
            f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/"
            f"{uuid.uuid5(uuid.NAMESPACE_URL, stack_name)}"
        )
        with contextlib.redirect_stdout(io.StringIO()):  # cloud-radar prints each template
            stack = CloudRadarTemplate(cloudformation).create_stack(values, region=region)
        # A bucket's name may itself be rendered (BucketName): known now, put in for its token.
        text = json.dumps(stack.data)
        for name, bucket in _of_type(stack.data["Resources"], "AWS::S3::Bucket").items():
            physical = bucket["Properties"].get("BucketName") or f"{stack_name}-{name}".lower()
            text = text.replace(f"@@{name}@@", physical)
        return json.loads(text)


def _expand_for_each(document: dict[str, Any]) -> dict[str, Any]:
    transforms = document.get("Transform", [])
    if "AWS::LanguageExtensions" not in (
        transforms if isinstance(transforms, list) else [transforms]
    ):
        return document
    # Expanded without parameters: a loop's collection is written in the template.
    with contextlib.redirect_stdout(io.StringIO()):
        expanded = CloudRadarTemplate(copy.deepcopy(document)).transform().template
    # AWS::LanguageExtensions also resolves each Fn::FindInMap whose keys a loop filled in (the
    # SAM translator needs an event's Path as a string); cloud-radar leaves them, and the
    # translator's own resolver does it.
    mappings = IntrinsicsResolver(
        expanded.get("Mappings", {}), {FindInMapAction.intrinsic_name: FindInMapAction()}
    )
    expanded["Resources"] = mappings.resolve_parameter_refs(expanded["Resources"])
    return expanded


def _typed(declared: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Parameters as cloud-radar compares them: a Number given as text, as the number
    CloudFormation reads (its defaults are numbers, and `Fn::Equals` compares as given)."""
    values = dict(given)
    for name, value in given.items():
        if declared.get(name, {}).get("Type") == "Number" and isinstance(value, str):
            values[name] = float(value) if "." in value else int(value)
    return values


def _evaluated(declared: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Parameters as CloudFormation hands them to a transform, evaluated: a CommaDelimitedList
    is a list (docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-macros-author.html,
    templateParameterValues). The translator puts a parameter's value where it is referenced."""
    values = dict(given)
    for name, value in given.items():
        if declared.get(name, {}).get("Type") == "CommaDelimitedList" and isinstance(value, str):
            values[name] = value.split(",")
    return values


def _rule_holds(expression: Any, values: dict[str, Any]) -> Any:
    """A Rules expression's value: the rule-specific functions this template uses, with
    parameters compared as the strings they are given as. Any other function is refused."""
    if not isinstance(expression, dict):
        return expression
    ((function, argument),) = expression.items()
    if function == "Ref":
        return str(values[argument])
    arguments = [_rule_holds(item, values) for item in argument]
    if function == "Fn::Equals":
        return str(arguments[0]) == str(arguments[1])
    if function == "Fn::Not":
        return not arguments[0]
    if function == "Fn::And":
        return all(arguments)
    if function == "Fn::Or":
        return any(arguments)
    if function == "Fn::Contains":
        return str(arguments[1]) in [str(item) for item in arguments[0]]
    raise ValueError(f"a rule function the local stack does not evaluate: {function}")


def _integrated_function(
    api: str, path: str, method: str, operation: dict[str, Any], resources: dict[str, Any]
) -> str:
    """The function an operation's integration invokes. Anything but the Lambda proxy of payload
    2.0, the one integration the local gateway speaks, is refused rather than served another way."""
    integration = operation.get("x-amazon-apigateway-integration", {})
    found = re.search(r"/functions/\$\{(\w+)(?:\.Arn)?\}/invocations", json.dumps(integration))
    target = resources.get(found.group(1), {}) if found else {}
    if target.get("Type") == "AWS::Lambda::Alias":
        target_name = target["Properties"]["FunctionName"]["Ref"]
    else:
        target_name = found.group(1) if found else ""
    if (
        integration.get("type") != "aws_proxy"
        or integration.get("payloadFormatVersion") != "2.0"
        or resources.get(target_name, {}).get("Type") != "AWS::Lambda::Function"
    ):
        raise ValueError(f"{api}: {method.upper()} {path} is not a Lambda proxy of payload 2.0")
    return target_name


def _physical_names(
    resources: dict[str, dict[str, Any]], stack: str, region: str
) -> dict[str, dict[str, Any]]:
    """What `Ref` and `Fn::GetAtt` give for each resource the functions reach, as
    cloud-radar's metadata: names as CloudFormation would make them, tokens for moto's."""
    names: dict[str, dict[str, Any]] = {}
    for name, resource in resources.items():
        kind = resource["Type"]
        physical = f"{stack}-{name}".lower()
        token = f"@@{name}@@"
        if kind == "AWS::DynamoDB::Table":
            arn = f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{physical}"
            names[name] = {"ref": physical, "attribute-values": {"Arn": arn}}
        elif kind == "AWS::SQS::Queue":
            arn = f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{physical}"
            attributes = {"Arn": arn, "QueueName": physical}
            names[name] = {"ref": token, "attribute-values": attributes}
        elif kind == "AWS::S3::Bucket":
            attributes = {
                "Arn": f"arn:aws:s3:::{token}",
                "DomainName": f"{token}.s3.amazonaws.com",
                "RegionalDomainName": f"{token}.s3.{region}.amazonaws.com",
            }
            names[name] = {"ref": token, "attribute-values": attributes}
        elif kind == "AWS::SecretsManager::Secret":
            names[name] = {"ref": token}
        elif kind == "AWS::IAM::AccessKey":
            secret = f"@@{name}.SecretAccessKey@@"
            names[name] = {"ref": token, "attribute-values": {"SecretAccessKey": secret}}
        elif kind == "AWS::IAM::User":
            names[name] = {"ref": physical}
        elif kind == "AWS::CloudFront::ResponseHeadersPolicy":
            names[name] = {"ref": physical}  # its id, which a cache behavior names
        elif kind == "AWS::CloudFront::Distribution":
            domain = f"{name.lower()}.cloudfront.example"
            names[name] = {"ref": physical, "attribute-values": {"DomainName": domain}}
        elif kind == "AWS::Lambda::Function":
            arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{stack}-{name}"
            names[name] = {"ref": f"{stack}-{name}", "attribute-values": {"Arn": arn}}
        elif kind == "AWS::Lambda::Alias":
            function = resource["Properties"]["FunctionName"]["Ref"]
            arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{stack}-{function}"
            alias = f"{arn}:{resource['Properties']['Name']}"
            names[name] = {"ref": alias, "attribute-values": {"Arn": alias}}
    return names


def _of_type(resources: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in resources.items() if resource["Type"] == kind}


def _path_pattern(path: str) -> re.Pattern[str]:
    # API Gateway path parameters match one non-empty path segment.
    parts = re.split(r"\{(\w+)\}", path)
    pattern = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+)"
        for index, part in enumerate(parts)
    )
    return re.compile(pattern)
