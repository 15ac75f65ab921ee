"""``python -m soak`` (``make soak``): the chaos soak of issue 12.

Starts both emulators as processes with injected 429/5xx faults, "applied, then the answer is lost" faults and
added latency; K worker processes (``python -m perago.worker soak.tasks``); N workflows of two writable steps
(extract on a lane branch, load on the commit extract published) spread over 4 shared branches; and SIGKILLs or
SIGTERMs a random worker at random intervals, restarting it at once (the last workflow starts only once the minimum
number of kills has happened, so that they all land while workflows run). When every workflow has ended it checks the
servers' final state (see :mod:`soak.checks`), prints one summary line and exits 1 on any violation.

``--smoke`` is the ~30-second version the test suite runs.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from soak import checks
from soak.chaos import Workers
from soak.setup import conductor, register, seed_lakefs, start_workflow
from soak.stack import Faults, Stack

TERMINAL = {"COMPLETED", "FAILED", "TERMINATED", "TIMED_OUT"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workflows", type=int, default=200, help="workflows to run (default 200)")
    parser.add_argument("--workers", type=int, default=4, help="worker processes (default 4)")
    parser.add_argument("--branches", type=int, default=4, help="shared target branches (default 4)")
    parser.add_argument("--start-rate", type=float, default=3.0, help="workflows started per second (default 3)")
    parser.add_argument("--kill-every", type=float, nargs=2, default=(0.4, 1.4), help="seconds between kills (range)")
    parser.add_argument("--min-kills", type=int, default=40, help="fewer kills than this is a violation (default 40)")
    parser.add_argument("--max-kills", type=int, default=200, help="stop killing after this many (default 200)")
    parser.add_argument("--timeout-s", type=float, default=900, help="give up waiting after this long (default 900)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    parser.add_argument("--latency-ms", type=float, default=2.0, help="added per request on both servers")
    parser.add_argument("--fault-rate", type=float, default=0.02, help="429/5xx rate on both servers")
    parser.add_argument("--ambiguous-rate", type=float, default=0.02, help="applied-then-lost rate on both servers")
    parser.add_argument("--keep-logs", action="store_true", help="keep the run directory even when all is well")
    parser.add_argument("--smoke", action="store_true", help="~30 s: 16 workflows, 2 workers, 4 to 8 kills")
    return parser


def _wait(stack: Stack, ids: dict[str, str], deadline: float) -> None:
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        for wf in sorted(pending):
            if conductor(stack, "GET", f"/workflow/{wf}?includeTasks=false")["status"] in TERMINAL:
                pending.discard(wf)
        time.sleep(0.5)


def run(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    run_dir = Path(tempfile.mkdtemp(prefix="perago-soak-"))
    stack, began = Stack(run_dir), time.monotonic()
    workers = Workers(stack, args.workers)
    try:
        stack.start_emulators(Faults(args.latency_ms, args.fault_rate, args.ambiguous_rate))
        lanes = seed_lakefs(stack, args.branches)
        register(stack)
        workers.start()
        stop = threading.Event()
        striker = threading.Thread(target=_strike, args=(workers, rng, stop, args), daemon=True)
        striker.start()
        ids: dict[str, str] = {}
        for number in range(args.workflows):
            if number == args.workflows - 1:
                # the minimum of kills always falls while workflows are in flight: the last one waits for it
                _await_kills(workers, args.min_kills, began + args.timeout_s)
            ids[start_workflow(stack, number, lanes[number % len(lanes)])] = lanes[number % len(lanes)]
            time.sleep(1 / args.start_rate)
        _wait(stack, ids, began + args.timeout_s)
        stop.set()
        striker.join()
        workers.stop()
        verdict = _verdict(stack, ids, workers, args)
    finally:
        workers.stop()
        stack.stop()
    print(checks.summary(verdict, workers, time.monotonic() - began, run_dir) + f" seed={seed}")
    for violation in verdict.violations[:20]:
        print(f"  violation: {violation}", file=sys.stderr)
    if not verdict.violations and not args.keep_logs:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 1 if verdict.violations else 0


def _await_kills(workers: Workers, count: int, deadline: float) -> None:
    while workers.kills < count and time.monotonic() < deadline:
        time.sleep(0.1)


def _strike(workers: Workers, rng: random.Random, stop: threading.Event, args: argparse.Namespace) -> None:
    while workers.kills < args.max_kills and not stop.wait(rng.uniform(*args.kill_every)):
        workers.strike(rng)


def _verdict(stack: Stack, ids: dict[str, str], workers: Workers, args: argparse.Namespace) -> checks.Verdict:
    verdict = checks.Verdict()
    states = checks.workflow_states(stack, ids)
    checks.check_workflows(states, verdict)
    metadata_text = checks.check_effects(stack, ids, states, verdict)
    checks.check_staging(stack, verdict)
    checks.check_attempt_dirs(stack, verdict)
    checks.check_secrets(stack, states, metadata_text, verdict)
    if workers.kills < args.min_kills:
        verdict.violations.append(f"only {workers.kills} kills (at least {args.min_kills} asked for)")
    return verdict


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.smoke:
        args.workflows, args.workers, args.min_kills, args.max_kills, args.start_rate = 16, 2, 4, 8, 2.0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
