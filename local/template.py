"""template.yaml read as the single source of truth for everything that runs locally.

Tests and the local stack take the table's keys, the functions, their handlers, environment,
routes, S3 and SQS triggers from here, so they cannot drift from what is deployed.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (`!Ref X`) read as their long forms."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


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
    prefix: Any
    suffix: Any


@dataclass
class SqsTrigger:
    function: str
    queue: str
    batch_size: int


@dataclass
class Function:
    name: str
    code_dir: Path
    handler: str
    environment: dict[str, Any]
    layer_dirs: list[Path]


class Template:
    def __init__(self, path: Path = TEMPLATE_PATH) -> None:
        self.document = yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506
        self.resources: dict[str, dict[str, Any]] = self.document["Resources"]

    def parameter_defaults(self) -> dict[str, Any]:
        return {
            name: spec["Default"]
            for name, spec in self.document.get("Parameters", {}).items()
            if "Default" in spec
        }

    def conditions(self, names: dict[str, Any]) -> dict[str, bool]:
        """Each condition's value, as `Condition:<name>` entries for `resolve`."""
        evaluated: dict[str, bool] = {}
        for name, expression in self.document.get("Conditions", {}).items():
            evaluated[f"Condition:{name}"] = bool(resolve(expression, {**names, **evaluated}))
        return evaluated

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            name: resource
            for name, resource in self.resources.items()
            if resource["Type"] == resource_type
        }

    def functions(self) -> dict[str, Function]:
        shared = self.document.get("Globals", {}).get("Function", {})
        shared_env = shared.get("Environment", {}).get("Variables", {})
        functions = {}
        for name, resource in self.of_type("AWS::Serverless::Function").items():
            properties = resource["Properties"]
            own_env = properties.get("Environment", {}).get("Variables", {})
            layers = [*shared.get("Layers", []), *properties.get("Layers", [])]
            functions[name] = Function(
                name=name,
                code_dir=ROOT / properties["CodeUri"],
                handler=properties.get("Handler", shared.get("Handler")),
                environment={**shared_env, **own_env},
                layer_dirs=[
                    ROOT / self.resources[layer["Ref"]]["Properties"]["ContentUri"]
                    for layer in layers
                ],
            )
        return functions

    def routes(self) -> list[Route]:
        routes = []
        for name, resource in self.of_type("AWS::Serverless::Function").items():
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] != "HttpApi":
                    continue
                path = event["Properties"]["Path"]
                method = event["Properties"]["Method"].upper()
                routes.append(Route(method, path, name, _path_pattern(path)))
        return routes

    def s3_triggers(self) -> list[S3Trigger]:
        triggers = []
        for name, resource in self.of_type("AWS::Serverless::Function").items():
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] != "S3":
                    continue
                properties = event["Properties"]
                rules = {
                    rule["Name"]: rule["Value"]
                    for rule in properties.get("Filter", {}).get("S3Key", {}).get("Rules", [])
                }
                triggers.append(
                    S3Trigger(
                        function=name,
                        bucket=properties["Bucket"]["Ref"],
                        events=properties["Events"],
                        prefix=rules.get("prefix", ""),
                        suffix=rules.get("suffix", ""),
                    )
                )
        return triggers

    def sqs_triggers(self) -> list[SqsTrigger]:
        triggers = []
        for name, resource in self.of_type("AWS::Serverless::Function").items():
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] == "SQS":
                    properties = event["Properties"]
                    queue = properties["Queue"]["Fn::GetAtt"][0]
                    triggers.append(SqsTrigger(name, queue, properties.get("BatchSize", 10)))
        return triggers

    def cors(self) -> dict[str, Any]:
        api = next(iter(self.of_type("AWS::Serverless::HttpApi").values()))
        return api["Properties"].get("CorsConfiguration", {})


def _path_pattern(path: str) -> re.Pattern[str]:
    # API Gateway path parameters match one non-empty path segment.
    parts = re.split(r"\{(\w+)\}", path)
    pattern = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+)"
        for index, part in enumerate(parts)
    )
    return re.compile(pattern)


def resolve(value: Any, names: dict[str, Any]) -> Any:
    """Evaluates the intrinsic functions the template uses, given the value of each name.

    `names` maps parameters and logical ids (for Ref), `Logical.Attribute` (for GetAtt) and
    `Condition:<name>` (for If).
    """
    if isinstance(value, list):
        return [resolve(item, names) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((function, argument),) = value.items()
        if function in _INTRINSICS:
            return _INTRINSICS[function](argument, names)
    return {key: resolve(item, names) for key, item in value.items()}


def _sub(argument: Any, names: dict[str, Any]) -> str:
    text, extra = argument, {}
    if isinstance(argument, list):
        text, local_values = argument
        extra = {key: resolve(item, names) for key, item in local_values.items()}
    scope = {**names, **extra}
    return re.sub(r"\$\{([\w.:]+)\}", lambda match: str(scope[match.group(1)]), text)


def _if(argument: list[Any], names: dict[str, Any]) -> Any:
    condition, when_true, when_false = argument
    return resolve(when_true if names[f"Condition:{condition}"] else when_false, names)


_INTRINSICS: dict[str, Any] = {
    "Ref": lambda name, names: names[name],
    "Condition": lambda name, names: names[f"Condition:{name}"],
    "Fn::GetAtt": lambda path, names: names[".".join(path)],
    "Fn::Sub": _sub,
    "Fn::If": _if,
    "Fn::Equals": lambda pair, names: str(resolve(pair[0], names)) == str(resolve(pair[1], names)),
    "Fn::Not": lambda operand, names: not resolve(operand[0], names),
    "Fn::Join": lambda pair, names: pair[0].join(str(item) for item in resolve(pair[1], names)),
    "Fn::Select": lambda pair, names: resolve(pair[1], names)[int(pair[0])],
    "Fn::Split": lambda pair, names: resolve(pair[1], names).split(pair[0]),
}
