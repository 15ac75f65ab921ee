"""A process taking perago's lakeFS locks in a loop (``python -m tests.lakefs.lock_child``, for test_locks.py).

Each iteration takes the next key (round robin), records its body interval on the system-wide monotonic clock (the
same for every process on the host), then releases. ``--hold`` keeps the first key forever (until SIGKILL). The lock
clock is the wall clock plus the number of seconds in ``--offset-file`` (the test moves time forward with it).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from perago.concurrency import LockKey
from perago.lakefs.client import LakeFSConnection
from perago.lakefs.locks import LakeFSLocks, Lease
from perago.settings import PeragoSettings


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag in ("--endpoint", "--keys", "--out", "--offset-file"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--body-s", type=float, default=0.03)
    parser.add_argument("--lease-s", type=float, default=30.0)
    parser.add_argument("--hold", action="store_true")
    args = parser.parse_args()
    offset_file = Path(args.offset_file)

    def clock() -> float:
        text = offset_file.read_text().strip() if offset_file.exists() else ""
        return time.time() + float(text or 0)

    settings = PeragoSettings(
        lakefs_endpoint=args.endpoint,
        lakefs_access_key_id=os.environ["TEST_LAKEFS_KEY"],
        lakefs_secret_access_key=os.environ["TEST_LAKEFS_SECRET"],
    )
    locks = LakeFSLocks(LakeFSConnection(settings), clock=clock)
    keys = args.keys.split(",")
    with open(args.out, "a", buffering=1) as out:

        def record(**fields: object) -> None:
            out.write(json.dumps({"pid": os.getpid(), **fields}) + "\n")

        for iteration in range(args.iterations):
            name = keys[iteration % len(keys)]
            key = LockKey.of({"test-key": name})
            taken = locks.acquire("songs", key, f"pid-{os.getpid()}", args.lease_s)
            while not isinstance(taken, Lease):
                record(event="blocked", key=name, holder=taken.holder)
                time.sleep(0.02)
                taken = locks.acquire("songs", key, f"pid-{os.getpid()}", args.lease_s)
            start = time.monotonic()
            record(event="start", key=name, at=start, clock=clock(), expires=taken.expires)
            if args.hold:
                time.sleep(3600)
            time.sleep(args.body_s)
            record(event="end", key=name, start=start, end=time.monotonic())
            locks.release(taken)


if __name__ == "__main__":
    main()
