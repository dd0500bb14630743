"""What `sam local invoke` and `sam local start-api` talk to: moto with the template's
resources, and the OpenTok emulator, at the addresses and names that local/env.json gives
every function.

The functions run in Docker containers on Docker's default bridge: SAM ignores
`--docker-network host` (aws/aws-sam-cli#4236), so a container cannot reach the host's
loopback. `--add-host host.docker.internal:host-gateway` names the host's side of the bridge
in the container, and these servers listen on every interface so that they answer there.
Their ports and resource names are fixed, because env.json is checked in; `start()` refuses
to run a stack that env.json does not describe.
"""

import argparse
import json
import os
import secrets
import socket
from urllib.parse import urlsplit

from local.running import run_until_stopped
from local.template import ROOT, Template

ENV_FILE = ROOT / "local" / "env.json"
REGION = "us-east-1"
# Endpoints as a container sees them; this process reaches the same ports on loopback.
CONTAINER_ENDPOINTS = ("AWS_ENDPOINT_URL", "OPENTOK_API_URL")


def container_environment() -> dict[str, str]:
    """What local/env.json gives every function that declares the variable."""
    return json.loads(ENV_FILE.read_text())["Parameters"]


class SamStack:
    """moto and the OpenTok emulator as env.json describes them; `stop()` ends both."""

    def __init__(self, processing_delay: float = 2.0, host: str = "0.0.0.0") -> None:
        self.environment = container_environment()
        self.processing_delay = processing_delay
        self.host = host
        self.api_key = self.environment["OPENTOK_API_KEY"]
        self.moto_url = _on_loopback(self.environment["AWS_ENDPOINT_URL"])

    def aws_environment(self) -> dict[str, str]:
        """What this process needs to talk to the stack's moto with boto3."""
        return {
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",  # moto accepts any credentials
        }

    def function_environment(self) -> dict[str, str]:
        """Every function's variables, for running them in this process against the stack."""
        return {
            **self.deployment.all_environments(),
            **self.aws_environment(),
            "OPENTOK_API_URL": self.opentok.url,
        }

    def start(self) -> "SamStack":
        import logging

        from moto.server import ThreadedMotoServer

        from local.emulator import OpenTokEmulator
        from local.resources import deploy

        # moto logs every request; sam's own output is what a person reads here.
        logging.getLogger("werkzeug").disabled = True
        for url in (self.moto_url, self.environment["OPENTOK_API_URL"]):
            self._check_free(_port(url))
        os.environ.update(self.aws_environment())
        self.moto = ThreadedMotoServer(
            ip_address=self.host, port=_port(self.moto_url), verbose=False
        )
        self.moto.start()
        try:
            self.template = Template()
            # env.json names the bucket, so it cannot be named after a random stack id here.
            bucket = self.template.resources["ArchiveBucket"]["Properties"]
            bucket["BucketName"] = self.environment["ARCHIVE_BUCKET"]
            api_secret = secrets.token_hex(20)
            self.deployment = deploy(
                self.template,
                {
                    "OpenTokApiKey": self.api_key,
                    "OpenTokApiSecret": api_secret,
                    "SiteUrl": self.environment["SITE_URL"],
                },
            )
            self._check_env_file()
            self.opentok = OpenTokEmulator(
                api_key=self.api_key,
                api_secret=api_secret,
                host=self.host,
                port=_port(self.environment["OPENTOK_API_URL"]),
                processing_delay=self.processing_delay,
                s3_endpoint_url=self.moto_url,
            ).start()
        except BaseException:
            self.moto.stop()
            raise
        # What `make configure-opentok` does for a real project: uploads go to our bucket.
        self.opentok.state.set_storage(self.deployment.opentok_storage())
        return self

    def stop(self) -> None:
        if hasattr(self, "opentok"):
            self.opentok.stop()
        if hasattr(self, "moto"):
            self.moto.stop()

    def _check_free(self, port: int) -> None:
        # moto's server thread would wait for ever on a port it cannot take.
        with socket.socket() as probe:
            try:
                probe.bind((self.host, port))
            except OSError as error:
                raise RuntimeError(
                    f"port {port} of {ENV_FILE.relative_to(ROOT)} is taken "
                    f"(another `make sam-stack`?): {error}"
                ) from None

    def _check_env_file(self) -> None:
        deployed = self.deployment.all_environments()
        for name, value in self.environment.items():
            if name in CONTAINER_ENDPOINTS or name not in deployed:
                continue
            actual = deployed[name]
            if name.endswith("_SECRET_ARN"):
                # Secrets Manager takes the name wherever it takes the ARN; moto's ARN ends
                # with random characters, the name does not.
                actual = actual.split(":secret:", 1)[1].rsplit("-", 1)[0]
            if value != actual:
                raise RuntimeError(
                    f"{ENV_FILE.relative_to(ROOT)} gives {name}={value!r}, but the local stack "
                    f"made {actual!r}: correct the file"
                )


def _port(url: str) -> int:
    port = urlsplit(url).port
    if port is None:
        raise ValueError(f"{url} names no port")
    return port


def _on_loopback(url: str) -> str:
    return f"http://127.0.0.1:{_port(url)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processing-delay", type=float, default=2.0)
    options = parser.parse_args()
    stack = SamStack(options.processing_delay)

    def announce() -> None:
        environment = stack.environment
        print(
            f"moto (S3, DynamoDB, Secrets Manager): {stack.moto_url}\n"
            f"OpenTok emulator: {stack.opentok.url}\n"
            f"Functions reach them as {environment['AWS_ENDPOINT_URL']} and "
            f"{environment['OPENTOK_API_URL']} (local/env.json). Ctrl-C stops both.",
            flush=True,
        )

    run_until_stopped(stack, announce)


if __name__ == "__main__":
    main()
