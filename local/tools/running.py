"""What `make dev` and `make sam-stack` share: run a stack until Ctrl-C or SIGTERM."""

import faulthandler
import signal
import threading
from collections.abc import Callable
from typing import Protocol

# Stopping takes about a second; after this long, the threads' stacks are printed.
STOP_REPORT_SECONDS = 10


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
        # A stop that hangs says where, rather than waiting for someone's kill -9.
        faulthandler.dump_traceback_later(STOP_REPORT_SECONDS)
        stack.stop()
        faulthandler.cancel_dump_traceback_later()
        print("Stopped.", flush=True)
