"""``python -m perago history WORKFLOW_ID`` and ``python -m perago explain REPOSITORY REF``.

``history`` prints every step's attempts across retries and timeouts, from Conductor (``CONDUCTOR_SERVER_URL`` or
``--conductor-url``). ``explain`` prints the attempt behind a lakeFS commit (``LAKECTL_*`` or ``--lakefs-endpoint``)
and Conductor's record of it; ``REF`` is a commit id, a branch, a tag or an expression such as ``main~1``. Exit 0
with the text, 1 when Conductor has no such workflow, lakeFS no such ref, or perago did not publish that commit, 2
when a server cannot be read (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from pydantic import ValidationError

from perago.conductor.records import ConductorRecords
from perago.errors import LakeFSError, PeragoError
from perago.explain import NotPublishedByPeragoError, explain, render_explain
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


def history_main(argv: list[str]) -> int:
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


def explain_main(argv: list[str]) -> int:
    """``python -m perago explain``."""
    parser = argparse.ArgumentParser(
        prog="python -m perago explain",
        description="Print the workflow, step, attempt, params and input behind a lakeFS commit, and Conductor's "
        "record of them.",
    )
    parser.add_argument("repository")
    parser.add_argument("ref", help="a commit id, branch, tag or ref expression (main~1)")
    parser.add_argument("--lakefs-endpoint", help="overrides LAKECTL_SERVER_ENDPOINT_URL")
    common_options(parser)
    args = parser.parse_args(argv)

    def command() -> int:
        from perago.lakefs.client import LakeFSConnection  # lakefs_sdk only for explain: history starts faster
        from perago.lakefs.commits import read_commit

        settings = settings_from(args, lakefs_endpoint=args.lakefs_endpoint)
        try:
            commit = read_commit(LakeFSConnection(settings), args.repository, args.ref)
        except LakeFSError as exc:
            if exc.status != 404:
                raise
            print(f"perago explain: lakeFS has no ref {args.ref} in repository {args.repository}", file=sys.stderr)
            return 1
        records = ConductorRecords(settings)
        try:
            provenance = explain(args.repository, commit, records.workflow, records.task, records.task_logs)
        except NotPublishedByPeragoError as exc:
            print(f"perago explain: {exc}", file=sys.stderr)
            return 1
        print(render_explain(provenance, tracebacks=args.tracebacks))
        return 0

    return run_cli("perago explain", command)
