"""``python -m perago.testing conductor --host 127.0.0.1 --port PORT``: serve the emulator until killed."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from loguru import logger

from perago.testing.conductor.emulator import ConductorEmulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m perago.testing conductor",
        description="Serve the perago Conductor emulator (conductor-python compatible) until killed.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port, 0 for a free one (default 8080)")
    parser.add_argument("--auth-key", help="require Orkes-style auth with this key id (with --auth-secret)")
    parser.add_argument("--auth-secret", help="the key secret that goes with --auth-key")
    parser.add_argument("--log-level", default="INFO", help="loguru level on stderr (default INFO)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT, printing the ``server_api_url`` as the first stdout line; return 0."""
    args = _parser().parse_args(argv)
    if (args.auth_key is None) != (args.auth_secret is None):
        print("conductor emulator: --auth-key and --auth-secret go together", file=sys.stderr)
        return 2
    auth = (args.auth_key, args.auth_secret) if args.auth_key is not None else None
    emulator = ConductorEmulator(host=args.host, port=args.port, auth=auth)
    try:
        emulator.start()
    except OSError as exc:
        print(f"conductor emulator: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    logger.remove()
    logger.add(sys.stderr, level=args.log_level)
    logger.enable("perago")
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    print(emulator.url, flush=True)  # the first stdout line is the server_api_url
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
