"""Package size per function after `sam build`, unzipped, and what is in it.

`sam build` needs the SAM CLI (give its path in SAM, or have `sam` on the PATH). Without it,
the equivalent is measured: the layer's requirements installed by pip for the template's
architecture (manylinux wheels only, as Lambda needs), the shared code beside them, and each
function's own folder.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from local.template import ROOT, Template

MB = 1024 * 1024


@dataclass
class Package:
    name: str
    bytes: int
    layers: list[str] = field(default_factory=list)
    contents: list[tuple[str, int]] = field(default_factory=list)  # largest entries first


@dataclass
class Build:
    method: str
    packages: dict[str, Package]


def size_of(path: Path) -> int:
    """Bytes of the files under `path`, leaving out bytecode caches of local runs."""
    if path.is_file():
        return path.stat().st_size
    return sum(
        entry.stat().st_size
        for entry in path.rglob("*")
        if entry.is_file() and "__pycache__" not in entry.parts
    )


def _contents(folder: Path, top: int = 8) -> list[tuple[str, int]]:
    # A layer's modules sit under python/; a function's files at its root.
    root = folder / "python" if (folder / "python").is_dir() else folder
    entries = [
        (entry.name, size_of(entry))
        for entry in root.iterdir()
        if not entry.name.endswith((".dist-info", "__pycache__"))
    ]
    return sorted(entries, key=lambda entry: -entry[1])[:top]


def _sam() -> str | None:
    candidate = os.environ.get("SAM") or shutil.which("sam")
    if not candidate:
        return None
    try:
        subprocess.run(  # noqa: S603 - the SAM CLI the user pointed at
            [candidate, "--version"], capture_output=True, check=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return candidate


def _python_for_sam() -> str:
    # SAM looks for a python3.13 on the PATH for the runtime; give it this interpreter's folder.
    return f"{Path(sys.executable).resolve().parent}{os.pathsep}{os.environ.get('PATH', '')}"


def build(workdir: Path) -> Build:
    template = Template()
    sam = _sam()
    if sam:
        out = workdir / "build"
        subprocess.run(  # noqa: S603 - the SAM CLI the user pointed at
            [
                sam,
                "build",
                "--template-file",
                str(ROOT / "template.yaml"),
                "--build-dir",
                str(out),
                "--cache-dir",
                str(Path(tempfile.gettempdir()) / "opentok-archiving-bench-sam-cache"),
                "--cached",
            ],
            cwd=ROOT,
            env={**os.environ, "PATH": _python_for_sam(), "SAM_CLI_TELEMETRY": "0"},
            capture_output=True,
            check=True,
        )
        method = "sam build"
        folders = {entry.name: entry for entry in out.iterdir() if entry.is_dir()}
    else:
        method = "pip install for the layer (no SAM CLI found), own folders for the functions"
        folders = _equivalent(template, workdir)
    layers = _layer_names(template)
    packages: dict[str, Package] = {}
    for name, folder in sorted(folders.items()):
        packages[name] = Package(name, size_of(folder), contents=_contents(folder))
    for name in template.functions():
        if name in packages:
            packages[name].layers = layers.get(name, [])
    return Build(method, packages)


def _layer_names(template: Template) -> dict[str, list[str]]:
    shared = template.document.get("Globals", {}).get("Function", {}).get("Layers", [])
    answer = {}
    for name, resource in template.of_type("AWS::Serverless::Function").items():
        refs = [*shared, *resource["Properties"].get("Layers", [])]
        answer[name] = [
            ref["Ref"] if isinstance(ref, dict) and "Ref" in ref else str(ref) for ref in refs
        ]
    return answer


def _equivalent(template: Template, workdir: Path) -> dict[str, Path]:
    architecture = template.parameter_defaults().get("Architecture", "arm64")
    platform = "manylinux2014_aarch64" if architecture == "arm64" else "manylinux2014_x86_64"
    folders: dict[str, Path] = {}
    for name, resource in template.of_type("AWS::Serverless::LayerVersion").items():
        source = ROOT / resource["Properties"]["ContentUri"]
        target = workdir / name / "python"
        requirements = source / "requirements.txt"
        if requirements.exists():
            subprocess.run(  # noqa: S603 - this interpreter's pip
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--platform",
                    platform,
                    "--only-binary=:all:",
                    "--python-version",
                    "3.13",
                    "--implementation",
                    "cp",
                    "--target",
                    str(target),
                    "-r",
                    str(requirements),
                ],
                check=True,
                capture_output=True,
            )
        for entry in source.iterdir():
            if entry.is_dir() and entry.name != "__pycache__":
                shutil.copytree(
                    entry, target / entry.name, ignore=shutil.ignore_patterns("__pycache__")
                )
        folders[name] = workdir / name
    for name, function in template.functions().items():
        folders[name] = function.code_dir
    return folders


def measure() -> Build:
    with tempfile.TemporaryDirectory(prefix="bench-package-") as workdir:
        return build(Path(workdir))


def bytes_to_mb(size: int) -> float:
    return size / MB
