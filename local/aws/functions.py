"""The template's functions, each in execution environments of its own, as Lambda runs them.

An environment here is a worker process: it has only its function's variables, loads the
function's modules once and stays warm between events, and serves one event at a time (events
that overlap get a second environment). Workers are forked from one process started with
the packages every function imports already loaded (boto3, the OpenTok SDK, Powertools), so
a new one costs milliseconds, not a Python start, yet loads the function's own modules
afresh. What a function prints (its logs, its metrics) comes back with its answer and is
written to this process's stdout, where CloudWatch would have it.

`python -m local.aws.functions` is that forking process; the harness starts it (see `Functions`).
"""

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from local.aws.lambda_context import LambdaContext
from local.aws.template import ACCOUNT_ID, Function

# Lambda ends an invocation at the function's timeout; here it may take this much longer.
TIMEOUT_MARGIN_SECONDS = 10
# What the Lambda runtime sets in every function's environment, besides its own variables.
RUNTIME_VARIABLES = ("PATH", "LANG", "TZ", "HOME")
# The AWS services the functions call, whose descriptions the forking process reads once.
AWS_SERVICES = ("dynamodb", "s3", "secretsmanager", "sqs")
# Packages the forking process loads once for every worker (their import is most of a cold start).
PRELOADED = (
    "boto3",
    "botocore.client",
    "opentok",
    "requests",
    "jwt",
    "aws_lambda_powertools",
    "aws_lambda_powertools.utilities.parameters",
)


@dataclass
class Report:
    """What Lambda's REPORT line says of an invocation: its duration, and the init phase's
    (imports, module-level set-up) when it was the environment's first."""

    function: str
    duration_ms: float
    init_ms: float | None


class FunctionError(Exception):
    """The function raised: the message is its traceback, as Lambda would log it."""


class Functions:
    """Invokes the template's functions, each in its own workers, with the given variables.

    `environment(name)` gives a function's variables (the deployment's, pointed at moto and
    the emulator); `restart()` ends every worker, so the next event starts a new environment,
    as after a new deployment.
    """

    def __init__(
        self, specs: dict[str, Function], environment: Callable[[str], dict[str, str]]
    ) -> None:
        self.specs = specs
        self.environment = environment
        self._idle: dict[str, list[_Worker]] = {}
        self._generation = 0  # restart() starts a new one: older workers are not used again
        self.timeout_margin = TIMEOUT_MARGIN_SECONDS
        self._lock = threading.Lock()
        self.reports: deque[Report] = deque(maxlen=10_000)  # the latest invocations'

    def invoke(self, name: str, event: Any, *, time_left_ms: list[int] | None = None) -> Any:
        with self._worker(name) as worker:
            request = {"event": event, "time_left_ms": time_left_ms}
            worker.connection.send_bytes(json.dumps(request).encode())
            # Lambda stops a function at its timeout; here, with room for a slower machine.
            timeout = self.specs[name].timeout
            if not worker.connection.poll(timeout + self.timeout_margin):
                worker.kill()
                raise FunctionError(f"{name}: Task timed out after {timeout:.0f} seconds")
            answer = json.loads(worker.connection.recv_bytes())
        sys.stdout.write(answer["output"])
        self.reports.append(Report(name, answer["duration_ms"], answer.get("init_ms")))
        if "error" in answer:
            raise FunctionError(answer["error"])
        return answer["result"]

    @contextmanager
    def _worker(self, name: str) -> Iterator["_Worker"]:
        with self._lock:
            idle = self._idle.setdefault(name, [])
            worker = idle.pop() if idle else None
            generation = self._generation
        if worker is None:
            connection = _forker().spawn(self.specs[name], self.environment(name))
            worker = _Worker(connection, json.loads(connection.recv_bytes())["pid"], generation)
        try:
            yield worker
        except BaseException:
            worker.kill()  # an environment that failed mid-event is not used again
            raise
        with self._lock:
            if worker.generation == self._generation:
                self._idle.setdefault(name, []).append(worker)
                return
        worker.connection.close()  # restarted meanwhile: its settings are old

    def restart(self) -> None:
        with self._lock:
            workers = [worker for idle in self._idle.values() for worker in idle]
            self._idle.clear()
            self._generation += 1
        for worker in workers:
            worker.connection.close()  # the worker ends when it reads the end of its connection


@dataclass
class _Worker:
    connection: Connection
    pid: int
    generation: int

    def kill(self) -> None:
        self.connection.close()
        with suppress(ProcessLookupError):  # it had ended
            os.kill(self.pid, signal.SIGKILL)


class _Forker:
    """The process that forks workers: `python -m local.aws.functions`, one for this process."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = ours
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", "local.aws.functions", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            cwd=os.getcwd(),
        )
        theirs.close()
        self._lock = threading.Lock()

    def spawn(self, function: Function, environment: dict[str, str]) -> Connection:
        # Lambda refuses a package it cannot find at deploy; a worker would only die unseen.
        if not function.code_dir.is_dir():
            raise FileNotFoundError(f"{function.name}: no code at {function.code_dir}")
        mine, worker = socket.socketpair()
        spec = {
            "name": function.name,
            "code_dir": str(function.code_dir),
            "handler": function.handler,
            "layer_dirs": [str(path) for path in function.layer_dirs],
            "timeout": function.timeout,
            "environment": environment,
        }
        with self._lock:
            socket.send_fds(self.control, [json.dumps(spec).encode()], [worker.fileno()])
        worker.close()
        return Connection(mine.detach())


_FORKER: list[_Forker] = []  # the process's one forking process, while it runs
_FORKER_LOCK = threading.Lock()


def _forker() -> _Forker:
    with _FORKER_LOCK:
        if not _FORKER or _FORKER[0].process.poll() is not None:
            _FORKER[:] = [_Forker()]
        return _FORKER[0]


# --- In the forking process and its workers ------------------------------------------------


def _serve(connection: Connection, spec: dict[str, Any]) -> None:
    """A worker: the function's environment and modules, then one event after another."""
    import importlib
    import logging

    os.environ.clear()
    os.environ.update(spec["environment"])
    # stdout and stderr, kept until the answer carries them back; before the function's
    # loggers bind to a stream.
    output = io.StringIO()
    sys.stdout = sys.stderr = output
    # Like Lambda's runtime: the root logger writes to the function's output.
    logging.basicConfig(
        stream=output, level=os.environ.get("AWS_LAMBDA_LOG_LEVEL", "WARNING"), force=True
    )
    # Lambda puts the function's folder first, then its layers' folders, and runs in the first;
    # the repository itself (where this process started) is no part of a function.
    sys.path[:] = [spec["code_dir"], *spec["layer_dirs"], *sys.path[1:]]
    os.chdir(spec["code_dir"])
    module_name, attribute = spec["handler"].rsplit(".", 1)
    handler = None
    while True:
        try:
            request = json.loads(connection.recv_bytes())
        except (EOFError, OSError):
            return
        answer: dict[str, Any] = {}
        started = time.perf_counter()
        try:
            if handler is None:  # the init phase, on the first event
                handler = getattr(importlib.import_module(module_name), attribute)
                answer["init_ms"] = (time.perf_counter() - started) * 1000
                started = time.perf_counter()
            context = LambdaContext(
                spec["name"], ACCOUNT_ID, spec["timeout"], request["time_left_ms"]
            )
            answer["result"] = handler(request["event"], context)
            json.dumps(answer["result"])
        except BaseException:  # noqa: BLE001 - what Lambda reports as the function's error
            answer = {"error": traceback.format_exc()}
            print(answer["error"])
        answer["duration_ms"] = (time.perf_counter() - started) * 1000
        answer["output"] = output.getvalue()
        output.seek(0)
        output.truncate()
        connection.send_bytes(json.dumps(answer).encode())


def _load_service_models() -> None:
    """Reads the AWS services' descriptions (large JSON) once, for every worker: boto3's default
    session has them, and a worker's clients are made from it. No credentials or region are
    read here: the clients made here are given their own, and the worker's environment decides."""
    import boto3

    session = boto3.session.Session()
    for service in AWS_SERVICES:
        session.client(
            service,
            region_name="us-east-1",
            aws_access_key_id="preload",
            aws_secret_access_key="preload",  # noqa: S106 - a client that never sends
        )
    boto3.DEFAULT_SESSION = session


def _fork_workers(control_fd: int) -> None:
    import importlib

    for name in PRELOADED:
        importlib.import_module(name)
    _load_service_models()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped as they end
    # A terminal's Ctrl-C reaches every process of the job: this one and its workers leave it
    # to the harness, which ends them (its socket closes), rather than each print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # One message per worker (a packet socket keeps them apart): its spec and its connection.
    control = socket.socket(fileno=control_fd)
    while True:
        message, fds, _, _ = socket.recv_fds(control, 1 << 20, 1)
        if not message:
            return  # the harness has gone: so do we; its workers end on their own
        if os.fork() == 0:
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                connection = Connection(fds[0])
                connection.send_bytes(json.dumps({"pid": os.getpid()}).encode())
                _serve(connection, json.loads(message))
            finally:
                os._exit(0)
        os.close(fds[0])


if __name__ == "__main__":
    _fork_workers(int(sys.argv[1]))
