"""Run the emulator in the foreground: python -m local.opentok --port 4010 ..."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .server import OpenTokEmulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.opentok", description="Emulate the OpenTok REST API locally."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--api-secret", required=True)
    parser.add_argument("--s3-endpoint-url", default=None, help="default S3 endpoint for uploads")
    parser.add_argument("--callback-url", default=None, help="where archive status is POSTed")
    parser.add_argument(
        "--callback-retries",
        choices=("vonage", "legacy"),
        default="vonage",
        help="retries of failed callbacks: Vonage's callback service (24 h) or TokBox's (4)",
    )
    parser.add_argument(
        "--callback-signature-secret", default=None, help="sign callbacks with this secret"
    )
    parser.add_argument("--processing-delay", type=float, default=1.0, help="seconds")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="OpenTok seconds per real second for OpenTok's timers (1 = real time)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stopping = threading.Event()
    # Handlers instead of KeyboardInterrupt, so SIGINT and SIGTERM both end quietly.
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    emulator = OpenTokEmulator(
        api_key=args.api_key,
        api_secret=args.api_secret,
        host=args.host,
        port=args.port,
        processing_delay=args.processing_delay,
        s3_endpoint_url=args.s3_endpoint_url,
        callback_url=args.callback_url,
        callback_retries=args.callback_retries,
        callback_signature_secret=args.callback_signature_secret,
        time_scale=args.time_scale,
    )
    try:
        emulator.start()
    except OSError as error:
        print(f"cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    logging.getLogger("local.opentok").info("OpenTok emulator listening on %s", emulator.url)
    while not stopping.wait(0.5):
        pass
    emulator.stop()
    logging.getLogger("local.opentok").info("OpenTok emulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
