"""``python -m perago.testing conductor``: serve the Conductor emulator until killed.

The first stdout line is the API endpoint (``http://HOST:PORT/api``, conductor-python's
``server_api_url``); the lines after it say how to point a worker at it. ``--fault-rate``,
``--ambiguous-rate`` and ``--latency-ms`` make it misbehave like a loaded server (see :class:`Faults`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from loguru import logger

from perago.testing.conductor.emulator import ConductorEmulator
from perago.testing.conductor.routes import ROUTE_NAMES
from perago.testing.conductor.traffic import FAULT_STATUSES, Faults

SUMMARY = "the Conductor emulator (conductor-oss API for conductor-python clients and perago workers)"


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m perago.testing conductor",
        description=f"Serve {SUMMARY} until SIGTERM/SIGINT.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--port", type=int, default=8080, help="TCP port, 0 for a free one")
    parser.add_argument("--auth-key", help="require Orkes-style auth with this key id (with --auth-secret)")
    parser.add_argument("--auth-secret", help="the key secret that goes with --auth-key")
    parser.add_argument(
        "--fault-rate", type=_rate, default=0.0, help=f"share of requests refused with one of {FAULT_STATUSES}"
    )
    parser.add_argument(
        "--fault-route",
        action="append",
        choices=sorted(ROUTE_NAMES),
        metavar="ROUTE",
        help="limit --fault-rate to this route (repeatable; default: every route but health and token)",
    )
    parser.add_argument(
        "--ambiguous-rate",
        type=_rate,
        default=0.0,
        help="share of task updates applied, then answered with a dropped connection or a 502",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every request")
    parser.add_argument("--fault-seed", type=int, default=None, help="seed of the random faults (default: unseeded)")
    parser.add_argument("--log-level", default="INFO", help="loguru level on stderr")
    return parser


def _banner(emulator: ConductorEmulator, auth: tuple[str, str] | None) -> list[str]:
    url = emulator.url
    lines = [url, f"Conductor emulator serving at {url}", f"  export CONDUCTOR_SERVER_URL={url}"]
    if auth is not None:
        lines.insert(2, f"auth key id: {auth[0]}")
        lines.append(f"  export CONDUCTOR_AUTH_KEY={auth[0]}")
        lines.append("  export CONDUCTOR_AUTH_SECRET=<the --auth-secret you gave>")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; the first stdout line is the ``server_api_url``. Return the exit status."""
    args = _parser().parse_args(argv)
    if (args.auth_key is None) != (args.auth_secret is None):
        print("conductor emulator: --auth-key and --auth-secret go together", file=sys.stderr)
        return 2
    auth = (args.auth_key, args.auth_secret) if args.auth_key is not None else None
    try:
        faults = Faults(
            rate=args.fault_rate,
            routes=frozenset(args.fault_route) if args.fault_route else None,
            ambiguous_rate=args.ambiguous_rate,
            latency_ms=args.latency_ms,
            seed=args.fault_seed,
        )
    except ValueError as exc:
        print(f"conductor emulator: {exc}", file=sys.stderr)
        return 2
    emulator = ConductorEmulator(host=args.host, port=args.port, auth=auth, faults=faults)
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
    print("\n".join(_banner(emulator, auth)), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
