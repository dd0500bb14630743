"""Template parameters for `make dev`, written as `sam deploy --parameter-overrides` takes them.

    make dev PARAMETER_OVERRIDES="ArchiveControl=open ArchiveMode=always"
    make dev PARAMETER_OVERRIDES="ParameterKey=ArchiveControl,ParameterValue=open"

Pairs are separated by spaces; a value may be quoted ("a b" or 'a b') and may escape a space or
a quote with a backslash, as the SAM CLI reads them. Each name must be one of template.yaml's
parameters, and each value one the template allows (AllowedValues, AllowedPattern, MinLength,
MaxLength, MinValue, MaxValue), as CloudFormation would refuse it. Parameters `make dev` sets
itself (its OpenTok emulator's key and secrets, its own origin) cannot be overridden.
"""

import difflib
import re
from dataclasses import dataclass
from typing import Any

from local.aws.template import Template

MASK = "****"  # what CloudFormation shows for a NoEcho parameter

# What make dev gives the template itself, and why nothing else can stand there.
OWN = {
    "OpenTokApiKey": "the key of make dev's OpenTok emulator",
    "OpenTokApiSecret": "the secret of make dev's OpenTok emulator",
    "CallbackSignatureSecret": "the secret make dev's OpenTok emulator signs callbacks with",
    "SiteUrl": "make dev's own origin, which serves web/",
}

_KEY = r"""(?P<q{n}>["']?)(?P<key{n}>[A-Za-z0-9]+)(?P=q{n})"""
# Quoted, with backslash escapes inside; or bare, up to the next unescaped space (maybe empty).
_VALUE = r"""(?P<value{n}>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|(?:\\.|[^\s"'\\])*)"""
_LONG_FORM = f"ParameterKey={_KEY.format(n=1)},ParameterValue={_VALUE.format(n=1)}"
_SHORT_FORM = f"{_KEY.format(n=2)}={_VALUE.format(n=2)}"
_PAIR = re.compile(rf"(?:{_LONG_FORM}|{_SHORT_FORM})(?=\s|$)")
_EXAMPLES = 'Key=Value, Key="a value" or ParameterKey=Key,ParameterValue=Value'


class ParameterError(ValueError):
    """A parameter override make dev cannot deploy; its message is one line for a person."""


def parse(text: str) -> dict[str, str]:
    """The overrides in `text`, in `sam deploy --parameter-overrides` syntax (last one wins)."""
    overrides: dict[str, str] = {}
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return overrides
        found = _PAIR.match(text, position)
        if found is None:
            token = text[position:].split(None, 1)[0]
            raise ParameterError(
                f"PARAMETER_OVERRIDES: cannot read {token!r}: write {_EXAMPLES}, "
                "separated by spaces"
            )
        n = "1" if found.group("key1") else "2"
        overrides[found.group(f"key{n}")] = _unquote(found.group(f"value{n}"))
        position = found.end()


def _unquote(value: str) -> str:
    # As the SAM CLI does: drop the quotes around a value, then undo \<space>, \" and \'.
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value.replace("\\ ", " ").replace('\\"', '"').replace("\\'", "'")


def format_overrides(parameters: dict[str, str]) -> str:
    """`parameters` written in the syntax `parse` reads."""
    return " ".join(f"{name}={_quote(value)}" for name, value in parameters.items())


def _quote(value: str) -> str:
    if value and not re.search(r"[\s\"'\\]", value):
        return value
    return '"' + value.replace('"', '\\"') + '"'


def check(template: Template, overrides: dict[str, str]) -> None:
    """Refuses, as CloudFormation would, an override the template does not take."""
    specs = template.document.get("Parameters", {})
    for name, value in overrides.items():
        if name not in specs:
            close = difflib.get_close_matches(name, specs, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ParameterError(f"{name}: template.yaml has no such parameter{hint}")
        if name in OWN:
            raise ParameterError(
                f"{name}: make dev sets it itself ({OWN[name]}); it cannot be overridden"
            )
        problem = _refusal(specs[name], value)
        if problem:
            shown = MASK if specs[name].get("NoEcho") else repr(value)
            raise ParameterError(f"{name}={shown} is refused: it must {problem}")
    refused = template.refusals(overrides)
    if refused:
        raise ParameterError(" ".join(refused))


def _refusal(spec: dict[str, Any], value: str) -> str | None:
    """Why CloudFormation would refuse `value` for a parameter of `spec`, or None."""
    kind = spec.get("Type", "String")
    items = value.split(",") if kind in ("CommaDelimitedList", "List<Number>") else [value]
    for item in items:
        if kind in ("Number", "List<Number>"):
            if not re.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)", item.strip()):
                return "be a number"
            number = float(item)
            allowed = spec.get("AllowedValues")
            if allowed is not None and number not in [float(a) for a in allowed]:
                return "be one of " + ", ".join(str(a) for a in allowed)
            if "MinValue" in spec and number < float(spec["MinValue"]):
                return f"be at least {spec['MinValue']}"
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                return f"be at most {spec['MaxValue']}"
            continue
        allowed = spec.get("AllowedValues")
        if allowed is not None and item not in [str(a) for a in allowed]:
            return "be one of " + ", ".join(str(a) for a in allowed)
        pattern = spec.get("AllowedPattern")
        if pattern is not None and re.fullmatch(pattern, item) is None:
            return f"match {pattern}"
        if "MinLength" in spec and len(item) < int(spec["MinLength"]):
            return f"be at least {spec['MinLength']} characters long"
        if "MaxLength" in spec and len(item) > int(spec["MaxLength"]):
            return f"be at most {spec['MaxLength']} characters long"
    return None


@dataclass
class InForce:
    """A parameter's value in the local deployment, and where the value came from."""

    name: str
    value: str
    source: str  # "default", "PARAMETER_OVERRIDES", "make dev", "make dev + PARAMETER_OVERRIDES"
    secret: bool

    def shown(self) -> str:
        return MASK if self.secret else (self.value if self.value != "" else '""')


def in_force(template: Template, own: dict[str, str], overrides: dict[str, str]) -> list[InForce]:
    """Every parameter of the template as deployed: make dev's own, overrides, defaults."""
    listed = []
    for name, spec in template.document.get("Parameters", {}).items():
        if name in own:
            source = "make dev + PARAMETER_OVERRIDES" if name in overrides else "make dev"
            value = own[name]
        elif name in overrides:
            source, value = "PARAMETER_OVERRIDES", overrides[name]
        else:
            source, value = "default", str(spec.get("Default", ""))
        listed.append(InForce(name, value, source, bool(spec.get("NoEcho"))))
    return listed


def describe(parameters: list[InForce]) -> str:
    """The parameters as `make dev` prints them: NoEcho ones masked, sources named."""
    width = max(len(parameter.name) for parameter in parameters)
    lines = ['Template parameters (change them with PARAMETER_OVERRIDES="Key=Value ..."):']
    for parameter in parameters:
        note = "" if parameter.source == "default" else f"  ({parameter.source})"
        lines.append(f"  {parameter.name:<{width}}  {parameter.shown()}{note}")
    return "\n".join(lines)
