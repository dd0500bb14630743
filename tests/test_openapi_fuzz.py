"""schemathesis, from docs/openapi.yaml, against `make dev`'s stack: no request is a 5xx,
and no route that asks for a credential answers without one."""

import subprocess
import sys
from pathlib import Path

from local.template import ROOT
from tests.local_stack import RunningStack


def test_generated_requests_find_no_server_error_on_the_local_stack(tmp_path: Path) -> None:
    stack = RunningStack()
    try:
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                str(ROOT / "docs" / "openapi.yaml"),
                "--url",
                stack.url,
                # The host key, so that the history and deleting are reached, not just refused;
                # ignored_auth then checks they refuse requests without it.
                "--header",
                f"X-Host-Key: {stack.host_key}",
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
