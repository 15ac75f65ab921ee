"""``python -m perago explain REPOSITORY REF``: the attempt behind a lakeFS commit, and Conductor's record of it.

lakeFS from ``LAKECTL_*`` (or ``--lakefs-endpoint``), Conductor from ``CONDUCTOR_SERVER_URL`` (or
``--conductor-url``). ``REF`` is a commit id, a branch, a tag or an expression such as ``main~1``. Exit 0 with the
explanation, 1 when the ref does not exist or perago did not publish that commit, 2 when a server cannot be read.
"""

from __future__ import annotations

import argparse
import sys

from perago.conductor.history_cli import common_options, run_cli, settings_from
from perago.conductor.records import ConductorRecords
from perago.errors import LakeFSError
from perago.explain import NotPublishedByPeragoError, explain, render_explain
from perago.lakefs.client import LakeFSConnection
from perago.lakefs.commits import read_commit


def main(argv: list[str]) -> int:
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
