"""schemathesis, from docs/openapi.yaml, against `make dev`'s stack: no request is a 5xx,
and no route that asks for a credential answers without one."""

import subprocess
import sys
from pathlib import Path

import requests

from local.aws.template import ROOT
from tests.support.dev_process import DevProcess


def test_generated_requests_find_no_server_error_against_make_dev(tmp_path: Path) -> None:
    stack = DevProcess()
    try:
        # A host's credentials, so that start and stop reach their body checks (the fuzzed
        # session ids then end at the session check, 403) rather than stop at 401.
        joined = requests.get(
            f"{stack.url}/room/fuzz", headers={"x-host-key": stack.host_key}, timeout=10
        ).json()
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                str(ROOT / "docs" / "openapi.yaml"),
                "--url",
                stack.url,
                # The host key and a moderator token, so that every route is reached, not just
                # refused; ignored_auth then checks each refuses requests without its own.
                "--header",
                f"X-Host-Key: {stack.host_key}",
                "--header",
                f"Authorization: Bearer {joined['token']}",
                "--checks",
                "not_a_server_error,ignored_auth",
                "--max-examples",
                "15",
                "--request-timeout",
                "10",
                "--seed",
                "1",
                "--generation-database",
                "none",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        stack.stop()
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
