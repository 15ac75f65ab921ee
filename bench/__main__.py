"""``python -m bench [--smoke] [--only N ...] [--write-docs]``: run the benchmarks and print their tables."""

from __future__ import annotations

import argparse
import datetime
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import download, hashing, memory, network, scale, staging, warm, worker
from bench.common import Report, machine

SCENARIOS: dict[str, Callable[[bool], Report]] = {
    "1": download.run,
    "2": memory.run,
    "3": hashing.snapshot,
    "4": hashing.detection,
    "5": staging.run,
    "6": worker.run,
    "7": network.run,
    "8": warm.run,
    "9": scale.sparse,
    "10": scale.scale,
}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds: keeps the scripts from rotting")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="run only these scenarios")
    parser.add_argument("--write-docs", action="store_true", help="write the tables into docs/benchmarks.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="perago-bench-cache-") as cache:
        # never the user's cache; each scenario that measures a cold download gives it a fresh directory anyway
        os.environ["PERAGO_CACHE_DIR"] = cache
        return run(args)


def run(args: argparse.Namespace) -> int:
    reports = []
    for key in args.only or sorted(SCENARIOS, key=int):
        started, load = time.perf_counter(), os.getloadavg()[0]
        report = SCENARIOS[key](args.smoke)
        report.notes.append(
            f"scenario wall time {time.perf_counter() - started:.1f} s; 1-minute load average {load:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end (other work shares this machine's {os.cpu_count()} cores)"
        )
        report.save()
        print(report.table(), flush=True)
        reports.append(report)
    targets = [t for r in reports for t in r.targets]
    print(
        f"targets met: {sum(t.met for t in targets)} of {len(targets)} ({'smoke sizes' if args.smoke else 'full sizes'})"
    )
    if args.write_docs:
        write_docs(reports, full=not args.only)
    return 0


def write_docs(reports: list[Report], full: bool) -> None:
    """Replace the tables of the scenarios that ran; keep the others and the hand-written sections after them."""
    old = DOCS.read_text() if DOCS.exists() else ""
    tables, prose = {}, []
    for section in re.split(r"(?m)^(?=## )", old)[1:]:
        number = re.match(r"## (\d+)\. ", section)
        if number:
            tables[int(number.group(1))] = section.rstrip("\n") + "\n"
        else:
            prose.append(section.rstrip("\n") + "\n")
    for report in reports:
        tables[int(report.scenario.split(".")[0])] = report.table()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    which = "a full run" if full else "scenario(s) " + ", ".join(r.scenario.split(".")[0] for r in reports)
    header = (
        f"# Benchmarks\n\nLatest update: {which}, {stamp}, on this machine: {machine()}. Other tables are from earlier "
        "runs; each table's notes give its wall time and the machine's load.\n"
        "Reproduce: `make bench` (full) or `make bench-smoke`; `python -m bench --only 7 8` runs some scenarios.\n\n"
    )
    DOCS.write_text(header + "\n".join(tables[n] for n in sorted(tables)) + "".join("\n" + p for p in prose))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
