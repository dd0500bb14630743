"""schemathesis, from docs/openapi.yaml, against `make dev`'s stack: no request is a 5xx."""

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
                "--checks",
                "not_a_server_error",
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
