"""Package size per function after `sam build`, unzipped, and what is in it.

`sam build` needs the SAM CLI (give its path in SAM, or have `sam` on the PATH). Without it,
the equivalent is measured: the layer made by its Makefile (functions/shared/Makefile, what
`sam build` runs) for the template's architecture, and each function's own folder.
"""

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from local.template import ROOT, Template

MB = 1024 * 1024
LAYER_MAKEFILE = ROOT / "functions" / "shared" / "Makefile"


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


def size_of(path: Path, bytecode: bool = True) -> int:
    """Bytes of the files under `path`; bytecode=False leaves out the caches of local runs in
    a source folder (a built layer ships its bytecode, which counts)."""
    if path.is_file():
        return path.stat().st_size
    return sum(
        entry.stat().st_size
        for entry in path.rglob("*")
        if entry.is_file() and (bytecode or "__pycache__" not in entry.parts)
    )


def _contents(folder: Path, bytecode: bool, top: int = 8) -> list[tuple[str, int]]:
    # A layer's modules sit under python/; a function's files at its root.
    root = folder / "python" if (folder / "python").is_dir() else folder
    entries = [
        (entry.name, size_of(entry, bytecode))
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
        method = "the layer's Makefile (no SAM CLI found), own folders for the functions"
        folders = _equivalent(template, workdir)
    layers = _layer_names(template)
    packages: dict[str, Package] = {}
    for name, folder in sorted(folders.items()):
        # Only a function's source folder (no SAM) holds bytecode that it would not ship.
        bytecode = sam is not None or name not in template.functions()
        packages[name] = Package(
            name, size_of(folder, bytecode), contents=_contents(folder, bytecode)
        )
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


def host_architecture() -> str:
    """Lambda's name for this machine's architecture, whose native code runs here."""
    return {"aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower(), "x86_64")


def build_layer(target: Path, architecture: str) -> Path:
    """The shared layer as `sam build` makes it, by the same Makefile; returns its python/."""
    make = shutil.which("make")
    if make is None:
        raise RuntimeError("no make on the PATH: the layer's Makefile needs it")
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - make, on our own Makefile
        [
            make,
            "--makefile",
            str(LAYER_MAKEFILE),
            "build-SharedLayer",
            f"ARTIFACTS_DIR={target}",
            f"LAYER_ARCHITECTURE={architecture}",
            # This interpreter is the runtime's version, with pip.
            f"LAYER_PYTHON={sys.executable}",
        ],
        cwd=target,
        check=True,
        capture_output=True,
        text=True,
    )
    return target / "python"


def _equivalent(template: Template, workdir: Path) -> dict[str, Path]:
    architecture = template.parameter_defaults().get("Architecture", "arm64")
    folders: dict[str, Path] = {}
    for name in template.of_type("AWS::Serverless::LayerVersion"):
        folders[name] = workdir / name
        build_layer(folders[name], architecture)
    for name, function in template.functions().items():
        folders[name] = function.code_dir
    return folders


def measure() -> Build:
    with tempfile.TemporaryDirectory(prefix="bench-package-") as workdir:
        return build(Path(workdir))


def bytes_to_mb(size: int) -> float:
    return size / MB
