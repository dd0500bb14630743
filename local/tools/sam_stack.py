"""What `sam local invoke` and `sam local start-api` talk to: the harness's stack (moto with
the template's resources, and the OpenTok emulator) at the addresses and names that
local/tools/env.json gives every function.

The functions run in Docker containers on Docker's default bridge: SAM ignores
`--docker-network host` (aws/aws-sam-cli#4236), so a container cannot reach the host's
loopback. `--add-host host.docker.internal:host-gateway` names the host's side of the bridge
in the container, and these servers listen on every interface so that they answer there.
Their ports and resource names are fixed, because env.json is checked in; `start()` refuses
to run a stack that env.json does not describe. The tests run the same stack at free ports
instead (`container_environment(ports)`, written to an env file of their own), so that two
runs on one machine never meet.
"""

import argparse
import json
import socket
from typing import Any
from urllib.parse import urlsplit

from local.aws.template import ROOT, Template
from local.tools.harness import Harness
from local.tools.running import run_until_stopped

ENV_FILE = ROOT / "local" / "tools" / "env.json"
# Endpoints as a container sees them; this process reaches the same ports on loopback.
CONTAINER_ENDPOINTS = ("AWS_ENDPOINT_URL", "OPENTOK_API_URL", "STREAMS_QUEUE_URL")


def container_environment(
    moto_port: int | None = None, opentok_port: int | None = None
) -> dict[str, str]:
    """What local/tools/env.json gives every function that declares the variable; given ports, the
    same endpoints at those ports."""
    environment = json.loads(ENV_FILE.read_text())["Parameters"]
    ports = {
        "AWS_ENDPOINT_URL": moto_port,
        "STREAMS_QUEUE_URL": moto_port,
        "OPENTOK_API_URL": opentok_port,
    }
    for name, port in ports.items():
        if port is not None:
            endpoint = urlsplit(environment[name])
            environment[name] = endpoint._replace(netloc=f"{endpoint.hostname}:{port}").geturl()
    return environment


def options(
    processing_delay: float = 2.0,
    host: str = "0.0.0.0",
    environment: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The harness's options for the stack env.json (or `environment`) describes."""
    environment = environment or container_environment()
    template = Template()
    # env.json names the bucket, so it cannot be named after a random stack id here.
    bucket = template.resources["ArchiveBucket"]["Properties"]
    bucket["BucketName"] = environment["ARCHIVE_BUCKET"]
    for url in (environment["AWS_ENDPOINT_URL"], environment["OPENTOK_API_URL"]):
        _check_free(host, _port(url))
    return {
        "template": template,
        "parameters": {"SiteUrl": environment["SITE_URL"]},
        "emulator_options": {
            "api_key": environment["OPENTOK_API_KEY"],
            "host": host,
            "port": _port(environment["OPENTOK_API_URL"]),
            "processing_delay": processing_delay,
        },
        "moto_host": host,
        "moto_port": _port(environment["AWS_ENDPOINT_URL"]),
    }


def check_env_file(stack: Harness, environment: dict[str, str] | None = None) -> None:
    """Refuses a stack whose names differ from those env.json gives the functions."""
    deployed: dict[str, str] = {}
    for function in stack.template.functions():
        deployed |= stack.deployment.environment(function)
    for name, value in (environment or container_environment()).items():
        if name in CONTAINER_ENDPOINTS or name not in deployed:
            continue
        actual = deployed[name]
        if name.endswith("_SECRET_ARN"):
            # Secrets Manager takes the name wherever it takes the ARN; moto's ARN ends with
            # random characters, the name does not.
            actual = actual.split(":secret:", 1)[1].rsplit("-", 1)[0]
        if value != actual:
            raise RuntimeError(
                f"{ENV_FILE.relative_to(ROOT)} gives {name}={value!r}, but the local stack "
                f"made {actual!r}: correct the file"
            )


def _check_free(host: str, port: int) -> None:
    # moto's server thread would wait for ever on a port it cannot take.
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise RuntimeError(
                f"port {port} of {ENV_FILE.relative_to(ROOT)} is taken "
                f"(another `make sam-stack`?): {error}"
            ) from None


def _port(url: str) -> int:
    port = urlsplit(url).port
    if port is None:
        raise ValueError(f"{url} names no port")
    return port


class SamStack(Harness):
    """The harness's stack as env.json describes it."""

    def __init__(self, processing_delay: float = 2.0) -> None:
        super().__init__(**options(processing_delay))

    def start(self) -> "SamStack":
        super().start()
        try:
            check_env_file(self)
        except BaseException:
            self.stop()
            raise
        return self


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processing-delay", type=float, default=2.0)
    stack = SamStack(parser.parse_args().processing_delay)

    def announce() -> None:
        environment = container_environment()
        assert stack.emulator is not None
        print(
            f"moto (S3, DynamoDB, Secrets Manager): {stack.moto.url}\n"
            f"OpenTok emulator: {stack.emulator.url}\n"
            f"Functions reach them as {environment['AWS_ENDPOINT_URL']} and "
            f"{environment['OPENTOK_API_URL']} (local/tools/env.json). Ctrl-C stops both.",
            flush=True,
        )

    run_until_stopped(stack, announce)


if __name__ == "__main__":
    main()
