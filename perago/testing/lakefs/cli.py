"""``python -m perago.testing lakefs``: serve a lakeFS emulator until SIGTERM/SIGINT.

The first line printed is the endpoint; then the credentials and the ``export LAKECTL_...`` lines that point
lakectl, perago and the lakeFS SDKs at it. Fault and timing options make reliability runs possible from the shell::

    python -m perago.testing lakefs --latency-ms 10 --fault-rate 0.03 --ambiguous-rate 0.05 --repository songs
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from perago.testing.lakefs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, LakeFSEmulator
from perago.testing.lakefs.faults import MESSAGES, FaultOptions
from perago.testing.lakefs.server import OPERATION_IDS


def _route_rate(text: str) -> tuple[str, float]:
    operation, sep, rate = text.partition("=")
    if not sep or operation not in OPERATION_IDS:
        raise argparse.ArgumentTypeError(f"expected OPERATION=RATE with a lakeFS operationId, got {text!r}")
    return operation, _rate(rate)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a rate is between 0 and 1, got {value}")
    return value


def _statuses(text: str) -> tuple[int, ...]:
    try:
        statuses = tuple(int(s) for s in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated HTTP statuses, got {text!r}") from exc
    if not statuses or any(s not in MESSAGES for s in statuses):
        raise argparse.ArgumentTypeError(f"statuses must be among {sorted(MESSAGES)}, got {text!r}")
    return statuses


def parser() -> argparse.ArgumentParser:
    """The command line (``--help`` shows every default)."""
    p = argparse.ArgumentParser(
        prog="python -m perago.testing lakefs",
        description="Serve a lakeFS API emulator (docs/lakefs-emulator.md) until SIGTERM or Ctrl-C.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    p.add_argument("--access-key-id", default=DEFAULT_ACCESS_KEY_ID, help="the only accepted access key id")
    p.add_argument("--secret-access-key", default=DEFAULT_SECRET_ACCESS_KEY, help="its secret")
    p.add_argument("--storage-dir", type=Path, default=None, help="keep blobs and repositories here across restarts")
    p.add_argument("--repository", action="append", default=[], help="create this repository at start (repeatable)")
    p.add_argument("--no-presign", action="store_true", help="storage that cannot presign (as lakeFS's mem/local)")
    p.add_argument("--no-presign-multipart", action="store_true", help="do not offer presigned multipart upload")
    p.add_argument("--multi-storage", action="store_true", help="answer the config as a multi-storage server")
    p.add_argument("--latency-ms", type=float, default=0.0, help="added to every request (round-trip time)")
    p.add_argument("--fault-rate", type=_rate, default=0.0, help="share of API calls answered with --fault-statuses")
    p.add_argument("--fault-statuses", type=_statuses, default=(429, 500, 503), help="e.g. 429,500,503")
    p.add_argument("--ambiguous-rate", type=_rate, default=0.0, help="share of API calls applied, then left unanswered")
    p.add_argument(
        "--route-fault", type=_route_rate, action="append", default=[], help="OPERATION=RATE override (repeatable)"
    )
    p.add_argument("--seed", type=int, default=None, help="seed of the random faults (reproducible runs)")
    return p


def banner(emulator: LakeFSEmulator) -> str:
    """What the CLI prints on start: the endpoint first, then credentials and shell exports."""
    return "\n".join(
        [
            emulator.endpoint,
            f"# lakeFS emulator at {emulator.endpoint}/api/v1",
            f"# access key id:     {emulator.access_key_id}",
            f"# secret access key: {emulator.secret_access_key}",
            f"export LAKECTL_SERVER_ENDPOINT_URL={emulator.endpoint}",
            f"export LAKECTL_CREDENTIALS_ACCESS_KEY_ID={emulator.access_key_id}",
            f"export LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY={emulator.secret_access_key}",
        ]
    )


def _faults(command: argparse.ArgumentParser, args: argparse.Namespace) -> FaultOptions:
    try:
        return FaultOptions(
            latency_s=args.latency_ms / 1000,
            fault_rate=args.fault_rate,
            statuses=args.fault_statuses,
            ambiguous_rate=args.ambiguous_rate,
            route_rates=dict(args.route_fault),
            seed=args.seed,
        )
    except ValueError as exc:
        command.error(str(exc))


def main(argv: list[str]) -> int:
    """Serve until SIGTERM/SIGINT; exit 0."""
    command = parser()
    args = command.parse_args(argv)
    faults = _faults(command, args)
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    emulator = LakeFSEmulator(
        args.access_key_id,
        args.secret_access_key,
        args.host,
        args.port,
        args.storage_dir,
        presign=not args.no_presign,
        faults=faults,
        multi_storage=args.multi_storage,
        presign_multipart=not args.no_presign_multipart,
    )
    with emulator:
        for name in args.repository:
            if name not in emulator.api.repos:
                emulator.create_repository(name)
        print(banner(emulator), flush=True)
        while not stop.wait(0.5):
            pass
    print("lakeFS emulator: stopped", file=sys.stderr, flush=True)
    return 0
