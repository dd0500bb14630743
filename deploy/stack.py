"""The deployed stack: its name (from samconfig.toml) and its outputs."""

import tomllib
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
SAMCONFIG = ROOT / "samconfig.toml"


def name(environment: str = "default") -> str:
    config = tomllib.loads(SAMCONFIG.read_text())
    return config[environment]["global"]["parameters"]["stack_name"]


def outputs(stack_name: str | None = None) -> dict[str, str]:
    """The stack's outputs by key, e.g. `ApiUrl`, `SiteBucketName`."""
    cloudformation = boto3.client("cloudformation")
    stack = cloudformation.describe_stacks(StackName=stack_name or name())["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


if __name__ == "__main__":
    print(name())
