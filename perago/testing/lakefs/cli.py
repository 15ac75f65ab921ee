"""``python -m perago.testing lakefs``: serve a lakeFS emulator until killed."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import FrameType

from perago.testing.lakefs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, LakeFSEmulator


def main(argv: list[str]) -> int:
    """Serve until SIGTERM/SIGINT; the first line printed is the endpoint."""
    parser = argparse.ArgumentParser(prog="python -m perago.testing lakefs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--access-key-id", default=DEFAULT_ACCESS_KEY_ID)
    parser.add_argument("--secret-access-key", default=DEFAULT_SECRET_ACCESS_KEY)
    parser.add_argument("--storage-dir", type=Path, default=None)
    parser.add_argument("--no-presign", action="store_true")
    args = parser.parse_args(argv)
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    emulator = LakeFSEmulator(
        args.access_key_id, args.secret_access_key, args.host, args.port, args.storage_dir, presign=not args.no_presign
    )
    with emulator:
        print(emulator.endpoint, flush=True)
        while not stop.wait(0.5):
            pass
    return 0
