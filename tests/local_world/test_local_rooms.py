"""local/ in rooms (local/README.md): each room imports only what its row there allows."""

import ast
from pathlib import Path

import pytest

from local.aws.template import ROOT

LOCAL = ROOT / "local"
# The repository's own top-level packages a module could import.
OURS = {"local", "backend", "deploy", "tests", "functions"}


def _imports(path: Path) -> set[str]:
    """The modules of the repository a file imports, as dotted names (function-level too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] in OURS}


def _room(room: str) -> list[Path]:
    return sorted((LOCAL / room).rglob("*.py"))


def test_nothing_lives_loose_at_local_s_top() -> None:
    loose = {path.name for path in LOCAL.iterdir() if path.is_file()}
    assert loose <= {"__init__.py", "README.md"}
    assert {path.name for path in LOCAL.iterdir() if path.is_dir()} - {"__pycache__"} == {
        "opentok",
        "aws",
        "tools",
    }


@pytest.mark.parametrize("path", _room("opentok"), ids=lambda path: path.name)
def test_the_opentok_stand_in_imports_nothing_else_of_the_repository(path: Path) -> None:
    assert {name for name in _imports(path) if not name.startswith("local.opentok")} == set()


@pytest.mark.parametrize("path", _room("aws"), ids=lambda path: path.name)
def test_the_aws_stand_in_imports_neither_the_functions_nor_the_other_rooms(path: Path) -> None:
    assert {name for name in _imports(path) if not name.startswith("local.aws")} == set()


def test_the_rules_would_catch_a_crossing(tmp_path: Path) -> None:
    crossing = tmp_path / "crossing.py"
    crossing.write_text(
        "def f():\n    from local.opentok.faults import Faults\n    import backend.api\n"
    )
    assert _imports(crossing) == {"local.opentok.faults", "backend.api"}
