"""Package size per function after `sam build`, unzipped, and what is in it."""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from local.aws.template import ROOT, Template
from local.tools.bench import progress, section, table, verdict

MB = 1024 * 1024


def size_of(path: Path, bytecode: bool = True) -> int:
    """Bytes of the files under `path`; bytecode=False leaves out the caches of local runs in
    a source folder (a built layer ships its bytecode, which counts)."""
    if path.is_file():
        return path.stat().st_size
    files = [entry for entry in path.rglob("*") if entry.is_file()]
    return sum(one.stat().st_size for one in files if bytecode or "__pycache__" not in one.parts)


def host_architecture() -> str:
    """Lambda's name for this machine's architecture, whose native code runs here."""
    return {"aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower(), "x86_64")


def build_layer(target: Path, architecture: str) -> Path:
    """The shared layer as `sam build` makes it, by the same Makefile; returns its python/."""
    target.mkdir(parents=True, exist_ok=True)
    makefile = ROOT / "functions" / "shared" / "Makefile"
    # This interpreter is the runtime's version, with pip.
    variables = [f"ARTIFACTS_DIR={target}", f"LAYER_ARCHITECTURE={architecture}"]
    command = ["make", "--makefile", str(makefile), "build-SharedLayer", *variables]
    command.append(f"LAYER_PYTHON={sys.executable}")
    subprocess.run(command, cwd=target, check=True, capture_output=True, text=True)  # noqa: S603 - make, our Makefile
    return target / "python"


def _sam() -> str | None:
    candidate = os.environ.get("SAM") or shutil.which("sam")
    try:  # the SAM CLI the user pointed at, if it answers
        subprocess.run([candidate or "", "--version"], capture_output=True, check=True)  # noqa: S603
    except (OSError, subprocess.SubprocessError):
        return None
    return candidate


def _build(template: Template, workdir: Path) -> tuple[str, dict[str, Path], bool]:
    """(how, the folder of each package, whether source folders' bytecode counts)."""
    sam = _sam()
    if not sam:
        folders = {name: spec.code_dir for name, spec in template.functions().items()}
        architecture = template.parameter_defaults().get("Architecture", "arm64")
        for name in template.of_type("AWS::Serverless::LayerVersion"):
            folders[name] = build_layer(workdir / name, architecture).parent
        how = "the layer's Makefile (no SAM CLI found), own folders for the functions"
        return how, folders, False
    cache = Path(tempfile.gettempdir()) / "opentok-archiving-bench-sam-cache"
    options = ["--build-dir", str(workdir), "--cache-dir", str(cache), "--cached"]
    # SAM looks for a python3.13 on the PATH for the runtime: this interpreter's folder.
    path = f"{Path(sys.executable).resolve().parent}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(  # noqa: S603 - the SAM CLI the user pointed at
        [sam, "build", "--template-file", str(ROOT / "template.yaml"), *options],
        cwd=ROOT,
        env={**os.environ, "PATH": path, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        check=True,
    )
    return "sam build", {entry.name: entry for entry in workdir.iterdir() if entry.is_dir()}, True


def package(options: argparse.Namespace) -> tuple[Any, str]:
    """`sam build` needs the SAM CLI (its path in SAM, or `sam` on the PATH); without it, the
    equivalent is measured: the layer made by its Makefile, which `sam build` runs, for the
    template's architecture, and each function's own folder. Bytecode counts where it ships."""
    progress("package sizes")
    template, rows, figures = Template(), [], {}
    functions = template.of_type("AWS::Serverless::Function")
    shared = template.document.get("Globals", {}).get("Function", {}).get("Layers", [])
    with tempfile.TemporaryDirectory(prefix="bench-package-") as workdir:
        how, folders, built = _build(template, Path(workdir))
        for name, folder in sorted(folders.items()):
            # Only a function's source folder (no SAM) holds bytecode it would not ship.
            bytecode = built or name not in functions
            # A layer's modules sit under python/; a function's files at its root.
            root = folder / "python" if (folder / "python").is_dir() else folder
            entries = [(one.name, size_of(one, bytecode)) for one in root.iterdir()]
            entries = [one for one in entries if not one[0].endswith((".dist-info", "__pycache__"))]
            largest = sorted(entries, key=lambda entry: -entry[1])[:6]
            refs = (
                [*shared, *functions[name]["Properties"].get("Layers", [])]
                if name in functions
                else []
            )
            layers = [ref["Ref"] if isinstance(ref, dict) else str(ref) for ref in refs]
            size = size_of(folder, bytecode)
            figures[name] = {"bytes": size, "layers": layers, "largest": largest}
            mb = f"{size / MB:.3f}" + (f" ({verdict(size / MB, 5.0)})" if name in functions else "")
            rows.append(
                [name, mb, ", ".join(layers), ", ".join(f"{e} {b / MB:.1f}" for e, b in largest)]
            )
    body = table("package | unzipped MB | layers | largest entries (MB)", rows)
    text = section("7. Package size", body, package, f"Built with: {how}.")
    return {"method": how, "packages": figures}, text
