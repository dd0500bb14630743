"""What `make dev` and `make sam-stack` share: run a stack until Ctrl-C or SIGTERM."""

import signal
import threading
from collections.abc import Callable
from typing import Protocol


class Stoppable(Protocol):
    def start(self) -> object: ...

    def stop(self) -> None: ...


def run_until_stopped(stack: Stoppable, announce: Callable[[], None]) -> None:
    """Starts `stack`, calls `announce` once it serves, and stops it on Ctrl-C or SIGTERM."""
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stack.start()
        announce()
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        print("Stopped.", flush=True)
