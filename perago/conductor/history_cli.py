"""``python -m perago history WORKFLOW_ID``: every step's attempts across retries and timeouts, from Conductor.

Conductor from ``CONDUCTOR_SERVER_URL`` (or ``--conductor-url``). Exit 0 with the history, 1 when Conductor has no
such workflow, 2 when Conductor cannot be read (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from pydantic import ValidationError

from perago.conductor.records import ConductorRecords
from perago.errors import PeragoError
from perago.history import build_history
from perago.history_text import render_history
from perago.settings import PeragoSettings


def common_options(parser: argparse.ArgumentParser) -> None:
    """The options ``history`` and ``explain`` share."""
    parser.add_argument("--conductor-url", help="Conductor API URL incl. /api (overrides CONDUCTOR_SERVER_URL)")
    parser.add_argument("--tracebacks", action="store_true", help="print failed attempts' tracebacks in full")


def settings_from(args: argparse.Namespace, **more: str | None) -> PeragoSettings:
    """Settings from the environment, with the command line's overrides."""
    overrides = {"conductor_server_url": args.conductor_url, **more}
    return PeragoSettings(**{key: value for key, value in overrides.items() if value})


def run_cli(prog: str, command: Callable[[], int]) -> int:
    """Run ``command``; a perago or settings error is one line on stderr and exit status 2."""
    try:
        return command()
    except (PeragoError, ValidationError) as exc:
        print(f"{prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2


def main(argv: list[str]) -> int:
    """``python -m perago history``."""
    parser = argparse.ArgumentParser(
        prog="python -m perago history",
        description="Print every attempt of every step of a workflow: status, worker, times, events, publications.",
    )
    parser.add_argument("workflow_id")
    common_options(parser)
    args = parser.parse_args(argv)

    def command() -> int:
        records = ConductorRecords(settings_from(args))
        workflow = records.workflow(args.workflow_id)
        if workflow is None:
            print(f"perago history: Conductor has no workflow {args.workflow_id}", file=sys.stderr)
            return 1
        print(render_history(build_history(workflow, records.task_logs), tracebacks=args.tracebacks))
        return 0

    return run_cli("perago history", command)
