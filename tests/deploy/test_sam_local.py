"""`sam local start-lambda` and `sam local start-api`: the built functions in Lambda
containers, against moto and the OpenTok emulator as local/tools/env.json describes them
(local/tools/sam_stack.py), at ports of this run's own.

Each function answers one event of events/ through a warm `sam local start-lambda` (one
container per function, started on its first event), and must do what it does in process;
every event file's answer is checked in process by tests/stack/test_events.py. The build goes
to a folder of the run's own, never the shared `.aws-sam`, so that two runs never meet.
`make test` prepares Docker, the Lambda image and the SAM CLI before pytest
(`make sam-local`); SAM_TESTS=0 skips them.
"""

import contextlib
import importlib.util
import json
import os
import platform
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from moto import mock_aws

from local.aws.template import ROOT, Template
from local.tools.sam_stack import CONTAINER_ENDPOINTS, check_env_file, container_environment
from local.tools.sam_stack import options as sam_stack_options
from tests.support.events import EXPECTED_STATUS, NOTHING_TO_RECONCILE, function_for
from tests.support.stack import Stack, load_event
from tests.support.waiting import free_port

pytestmark = [
    pytest.mark.sam,
    pytest.mark.skipif(
        os.environ.get("SAM_TESTS") == "0", reason="SAM_TESTS=0: the sam local tests are off"
    ),
]

SAM = ROOT / ".venv-sam" / "bin" / "sam"
ARCHITECTURE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[
    platform.machine().lower()
]
BASE_IMAGE = f"public.ecr.aws/lambda/python:3.13-{ARCHITECTURE}"
ELF_MACHINES = {"x86_64": 62, "arm64": 183}


def local_options(built: Path, env_file: Path) -> list[str]:
    """What docs/sam-local.md's `sam local` commands add: the host's architecture (the only one
    its Docker runs), the local stack's endpoints and names, and the way to it from a
    container; here with the run's own build and env file."""
    return [
        "--template",
        str(built / "template.yaml"),
        # SAM reads samconfig.toml beside the template (its language extensions) unless told.
        "--config-file",
        str(ROOT / "samconfig.toml"),
        "--parameter-overrides",
        f"Architecture={ARCHITECTURE}",
        "--env-vars",
        str(env_file),
        "--add-host",
        "host.docker.internal:host-gateway",
        "--skip-pull-image",
    ]


PREPARE = "run `make sam-local` first (Docker engine, Lambda image, SAM CLI), or SAM_TESTS=0"


def _sam_environment() -> dict[str, str]:
    """This machine's environment without what the tests set for functions in process: SAM
    would hand a function any variable of the shell that its template declares."""
    declared = {
        name for function in Template().functions().values() for name in function.environment
    }
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "POWERTOOLS_")) and name not in declared
    }
    # `sam build` needs a python3.13 on the PATH; the SAM CLI's own venv has one.
    environment["PATH"] = f"{SAM.parent}{os.pathsep}{environment.get('PATH', '')}"
    environment["SAM_CLI_TELEMETRY"] = "0"
    return environment


def _sam(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SAM), *args],
        cwd=ROOT,
        env=_SAM_ENVIRONMENT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


_SAM_ENVIRONMENT = _sam_environment()


@pytest.fixture(scope="module")
def sam_cli() -> None:
    if not SAM.is_file():
        pytest.fail(f"no SAM CLI in {SAM.parent}: {PREPARE}")


@pytest.fixture(scope="module")
def built(sam_cli: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` for the host's architecture, as docs/sam-local.md has it, into a folder of
    this run's own."""
    docker = subprocess.run(
        ["docker", "image", "inspect", BASE_IMAGE], capture_output=True, check=False
    )
    if docker.returncode != 0:
        pytest.fail(f"Docker does not answer, or has no {BASE_IMAGE}: {PREPARE}")
    folder = tmp_path_factory.mktemp("sam")
    result = _sam(
        "build",
        "--parameter-overrides",
        f"Architecture={ARCHITECTURE}",
        "--build-dir",
        str(folder / "build"),
        "--cache-dir",
        str(folder / "cache"),
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return folder / "build"


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """env.json's names with endpoints at free ports, and the env file that gives them."""
    variables = container_environment(moto_port=free_port(), opentok_port=free_port())
    env_file = tmp_path_factory.mktemp("env") / "env.json"
    env_file.write_text(json.dumps({"Parameters": variables}))
    return variables, env_file


@pytest.fixture(scope="module")
def sam_stack(built: Path, environment: tuple[dict[str, str], Path]) -> Iterator[Stack]:
    """The stack of the env file; set-up steps (a room, a recording) run in this process."""
    variables, _ = environment
    with mock_aws():
        stack = Stack(**sam_stack_options(processing_delay=0.05, environment=variables))
        try:
            stack.start()
            check_env_file(stack, variables)
            stack.queues.clear()  # S3 events go to the invocations here, never on their own
            yield stack
        finally:
            stack.stop()


@pytest.fixture(scope="module")
def start_lambda(
    sam_stack: Stack,
    built: Path,
    environment: tuple[dict[str, str], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """`sam local start-lambda`: Lambda's Invoke API on a free port, each function's container
    started on its first event and kept warm for the next."""
    port = free_port()
    log = tmp_path_factory.mktemp("start-lambda") / "start-lambda.log"
    with _sam_local("start-lambda", port, built, environment[1], log) as server:
        _wait_until_listening(port, server, log)
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def _sam_local(
    command: str, port: int, built: Path, env_file: Path, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`sam local <command>` on a port, its output in `log`; LAZY: a function gets its
    container on its first event, kept warm for the next, and none it is not asked for.
    Stopped as Ctrl-C stops it, with whatever containers it lost track of."""
    argv = [str(SAM), "local", command, "--port", str(port), "--warm-containers", "LAZY"]
    with log.open("w") as output:
        server = subprocess.Popen(
            argv + local_options(built, env_file),
            cwd=ROOT,
            env=_SAM_ENVIRONMENT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield server
    finally:
        _interrupt(server)
        _remove_left_containers(log)


def _wait_until_listening(
    port: int, server: subprocess.Popen[bytes], log: Path, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"sam local ended:\n{log.read_text()}")
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=5)
            return
        except requests.ConnectionError:
            time.sleep(0.5)
    raise AssertionError(f"sam local did not listen in {timeout} s:\n{log.read_text()}")


def _interrupt(server: subprocess.Popen[bytes]) -> None:
    # Ctrl-C, as a person stops it: SAM then removes the containers it started.
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def invoke(url: str, function: str, event: dict[str, Any]) -> Any:
    """Lambda's Invoke API of `sam local start-lambda`; returns what the function returned."""
    started = time.monotonic()
    answer = requests.post(
        f"{url}/2015-03-31/functions/{function}/invocations", json=event, timeout=300
    )
    log = f"{function} in its container ({time.monotonic() - started:.1f} s): {answer.text}"
    assert answer.status_code == 200, log
    assert "x-amz-function-error" not in {name.lower() for name in answer.headers}, log
    return answer.json()


def test_the_template_lets_env_json_reach_every_function() -> None:
    # SAM gives a function only the variables its template declares, env.json's included.
    for function in Template().functions().values():
        assert "AWS_ENDPOINT_URL" in function.environment, function.name
        if "OPENTOK_SECRET_ARN" in function.environment:
            assert "OPENTOK_API_URL" in function.environment, function.name
    assert set(CONTAINER_ENDPOINTS) <= set(container_environment())


def test_the_deployed_architecture_builds_too(sam_cli: None, tmp_path: Path) -> None:
    # Docker here runs the host's architecture only: the deployed one is built, not run, to
    # show that every native part of the layer exists for it.
    deployed = Template().document["Parameters"]["Architecture"]["Default"]
    build = tmp_path / "build"
    result = _sam(
        "build",
        "--parameter-overrides",
        f"Architecture={deployed}",
        "--build-dir",
        str(build),
        "--cache-dir",
        str(tmp_path / "cache"),
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # functions/shared/Makefile picks the wheels by the folder SAM runs it in: the cryptography,
    # cffi, wrapt and charset-normalizer it installs must be built for the deployed machine.
    machines = {path.name: _elf_machine(path) for path in build.rglob("*.so")}
    assert machines, "the layer has no native code to check"
    assert set(machines.values()) == {ELF_MACHINES[deployed]}, machines
    _check_layer(build / "SharedLayer" / "python")


def _check_layer(layer: Path) -> None:
    """What makes the layer quick to start: no botocore, and every module compiled ahead."""
    assert (layer / "aws_xray_sdk").is_dir() and (layer / "backend").is_dir()
    shadowing = sorted(path.name for path in layer.glob("botocore*"))
    assert not shadowing, f"the layer would shadow the runtime's botocore: {shadowing}"
    sources = list(layer.rglob("*.py"))
    assert len(sources) > 100, len(sources)
    for source in sources:
        compiled = Path(importlib.util.cache_from_source(str(source)))
        assert compiled.is_file(), f"{source} ships without bytecode"
        header = compiled.read_bytes()[:8]
        # Python 3.13's magic number (this venv is the runtime's version), then the flags:
        # hash-based (bit 0) and never checked against the source (bit 1 clear), as zips
        # keep no timestamps that could be trusted.
        assert header[:4] == importlib.util.MAGIC_NUMBER, source
        assert int.from_bytes(header[4:8], "little") == 0b01, source


def _elf_machine(path: Path) -> int:
    with path.open("rb") as elf:
        return int.from_bytes(elf.read(20)[18:20], "little")


# One event per function: the one that shows most of what it does.
ONE_EVENT = {
    "SessionFunction": "session",
    "RoomFunction": "room",
    "StartArchiveFunction": "start_archive_json",
    "StopArchiveFunction": "stop_archive",
    "SetArchiveLayoutFunction": "set_archive_layout",
    "SelectArchiveStreamsFunction": "select_archive_streams_of_auto_recording",
    "GetArchiveFunction": "get_archive",
    "ListArchivesFunction": "list_archives",
    "ViewArchiveFunction": "view_archive",
    "DeleteArchiveFunction": "delete_archive",
    "ArchiveCallbackFunction": "archive_callback",
    "MarkReadyFunction": "s3_recording_uploaded",
    "ReconcileArchivesFunction": "scheduled_reconcile",
    "CopyRecordingFunction": "sqs_copy_recording",
    "ExtractStreamsFunction": "sqs_extract_streams",
}


def test_every_function_has_an_event_to_run_in_its_container() -> None:
    assert set(ONE_EVENT) == set(Template().functions())
    assert all(function_for(name) == function for function, name in ONE_EVENT.items())


@pytest.mark.parametrize(("function", "name"), ONE_EVENT.items(), ids=ONE_EVENT.keys())
def test_each_function_does_in_its_container_what_it_does_in_process(
    sam_stack: Stack, start_lambda: str, function: str, name: str
) -> None:
    archive = sam_stack.record(room=f"sam-{name}")
    if name in EXPECTED_STATUS:
        event = sam_stack.event_for(name, archive)
        if name.startswith("start_archive_"):
            sam_stack.post(f"/archive/{archive['id']}/stop")  # a new recording may start now
        answer = invoke(start_lambda, function, event)
        assert answer["statusCode"] == EXPECTED_STATUS[name], answer["body"]
        if answer["statusCode"] != 302:
            assert answer["headers"]["Content-Type"] == "application/json"
        if name.startswith("start_archive_") and answer["statusCode"] == 200:
            started = json.loads(answer["body"])
            assert started["id"] != archive["id"]
            assert sam_stack.sdk().get_archive(started["id"]).status == "started"
    elif name.startswith("s3_"):
        sam_stack.post(f"/archive/{archive['id']}/stop")
        sam_stack.wait_until_uploaded(archive["id"])
        event = load_event(name, archive_id=archive["id"], bucket=sam_stack.bucket)
        invoke(start_lambda, function, event)
        ready = sam_stack.get(f"/archive/{archive['id']}").json()["ready"]
        # A zip's event asks for its split into streams (a queue sam local does not run), and
        # here names a zip this composed recording does not have: not ready.
        assert ready is (name == "s3_recording_uploaded")
    elif name.startswith("scheduled_"):
        # Nothing here has waited long enough to be overdue.
        answer = invoke(start_lambda, function, load_event(name))
        assert answer == NOTHING_TO_RECONCILE
    elif name.startswith("sqs_"):
        # A recording under way: OpenTok holds nothing to copy, and the message is done with.
        answer = invoke(start_lambda, function, load_event(name, archive_id=archive["id"]))
        assert answer == {"batchItemFailures": []}
    else:
        pytest.fail(f"events/{name}.json has no expectation here")


def test_start_api_serves_a_session_and_records_through_it(
    sam_stack: Stack, built: Path, environment: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "start-api.log"
    with _sam_local("start-api", port, built, environment[1], log) as server:
        # The host's page makes the room; the participant's joins it by the room's invite.
        hosting = _wait_for_room(url, server, log, sam_stack.host_key)
        session = requests.get(f"{url}/room/{hosting['invite']}", timeout=60).json()
        assert session["apiKey"] == sam_stack.opentok.api_key
        connection = sam_stack.opentok.connect(session["sessionId"], session["token"])
        sam_stack.publish(connection)  # as the page does: OpenTok records while someone publishes
        assert (hosting["sessionId"], hosting["role"]) == (session["sessionId"], "moderator")
        host = {"authorization": f"Bearer {hosting['token']}"}

        started = requests.post(
            f"{url}/archive/start",
            json={"sessionId": session["sessionId"]},
            headers=host,
            timeout=60,
        )
        assert started.status_code == 200, started.text
        archive = started.json()
        assert archive["status"] == "started"
        assert sam_stack.sdk().get_archive(archive["id"]).status == "started"

        stopped = requests.post(f"{url}/archive/{archive['id']}/stop", headers=host, timeout=60)
        assert stopped.status_code == 200, stopped.text
        assert stopped.json()["status"] == "stopped"
        assert sam_stack.sdk().get_archive(archive["id"]).status != "started"


def _remove_left_containers(log: Path) -> None:
    """Removes what SAM started and left running: when several functions' containers start
    at once, it can lose track of some of them on Ctrl-C."""
    started = re.findall(r"SAM_CONTAINER_ID: ([0-9a-f]{64})", log.read_text())
    left = subprocess.run(
        ["docker", "ps", "--all", "--quiet", "--no-trunc"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if leftover := sorted(set(started) & set(left)):
        subprocess.run(["docker", "rm", "--force", *leftover], capture_output=True, check=True)


def _wait_for_room(
    url: str, server: subprocess.Popen[bytes], log: Path, host_key: str, timeout: float = 240
) -> Any:
    """The host's GET /room/session once the API answers (its first request starts the
    function's container)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"sam local start-api ended:\n{log.read_text()}")
        try:
            answer = requests.get(
                f"{url}/room/session", headers={"x-host-key": host_key}, timeout=60
            )
        except requests.ConnectionError:
            time.sleep(1)
            continue
        assert answer.status_code == 200, answer.text
        return answer.json()
    raise AssertionError(f"sam local start-api did not answer in {timeout} s:\n{log.read_text()}")
