"""The functions' code, scanned: no finding of medium severity or above."""

import subprocess
import sys
from pathlib import Path

from local.aws.template import ROOT


def test_bandit_finds_nothing_of_medium_severity_or_above_in_the_functions() -> None:
    bandit = Path(sys.executable).parent / "bandit"
    result = subprocess.run(
        [str(bandit), "--quiet", "--recursive", "--severity-level", "medium", "functions"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
