"""A function's own module, loaded from its folder as Lambda loads it, for the unit layer."""

import importlib.util
import sys
from types import ModuleType

from local.aws.template import ROOT


def function_module(folder: str) -> ModuleType:
    """functions/<folder>/app.py, imported once under a name of its own."""
    name = f"function_{folder}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / folder / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
