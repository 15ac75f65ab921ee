"""The janitor: delete abandoned perago staging branches (``perago-stg-*``, hidden ones included).

A staging branch outlives its attempt only when a worker died between staging and cleanup. lakeFS has no
server-side expiry of branches and records no creation time, so the time comes from the branch name.

``python -m perago janitor --repository songs --older-than 6h [--dry-run]``

On request it also expires memos (``--memos-older-than 30d [--memo-task NAME]``: :mod:`perago.lakefs.memo`) and
removes the lock objects of keys idle for a while (``--locks-idle-for 1d``: :mod:`perago.lakefs.locks`).
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from perago.errors import PeragoError
from perago.lakefs.client import LakeFSConnection
from perago.lakefs.naming import PREFIX, staging_branch_time
from perago.lakefs.stage import delete_branch_quietly
from perago.settings import PeragoSettings

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``6h``, ``2d`` -> timedelta."""
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: use a number and s, m, h or d (e.g. 6h)")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def staging_branches(conn: LakeFSConnection, repository: str) -> list[str]:
    """Every ``perago-stg-*`` branch of a repository, hidden ones included."""
    listing = conn.sdk.branches_api.list_branches
    refs = conn.paged(f"list branches of {repository}", listing, repository, prefix=PREFIX, show_hidden=True)
    return [ref.id for ref in refs]


def expire_staging_branches(
    conn: LakeFSConnection,
    repository: str,
    older_than: timedelta,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> list[str]:
    """Delete (or, with ``dry_run``, only list) staging branches created more than ``older_than`` ago."""
    cutoff = (now or datetime.now(UTC)) - older_than
    expired = [
        name
        for name in staging_branches(conn, repository)
        if (born := staging_branch_time(name)) is not None and born < cutoff
    ]
    if not dry_run:
        for name in expired:
            delete_branch_quietly(conn, repository, name)
    return expired


def main(argv: list[str]) -> int:
    """``python -m perago janitor``: lakeFS endpoint and credentials from the LAKECTL_* environment."""
    parser = argparse.ArgumentParser(
        prog="python -m perago janitor", description="Delete abandoned perago staging branches."
    )
    parser.add_argument("--repository", required=True)
    parser.add_argument(
        "--older-than", type=parse_duration, default=timedelta(hours=6), help="e.g. 6h (default), 30m, 2d"
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    parser.add_argument("--lakefs-endpoint", help="overrides LAKECTL_SERVER_ENDPOINT_URL")
    parser.add_argument("--memos-older-than", type=parse_duration, help="also delete memos older than this (e.g. 30d)")
    parser.add_argument("--memo-task", help="with --memos-older-than: only this task's memos")
    parser.add_argument("--locks-idle-for", type=parse_duration, help="also remove locks idle this long (e.g. 1d)")
    args = parser.parse_args(argv)
    try:
        overrides = {"lakefs_endpoint": args.lakefs_endpoint} if args.lakefs_endpoint else {}
        conn = LakeFSConnection(PeragoSettings(**overrides))
        names = expire_staging_branches(conn, args.repository, args.older_than, dry_run=args.dry_run)
        extra = _memos_and_locks(conn, args)
    except (PeragoError, ValidationError) as exc:
        print(f"perago janitor: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    verb = "would delete" if args.dry_run else "deleted"
    for name in names:
        print(f"{verb} {args.repository}/{name}")
    print(f"{verb} {len(names)} staging branch(es) older than {args.older_than} in {args.repository}")
    for line in extra:
        print(line)
    return 0


def _memos_and_locks(conn: LakeFSConnection, args: argparse.Namespace) -> list[str]:
    """What ``--memos-older-than`` and ``--locks-idle-for`` removed (or would remove), one line each."""
    from perago.lakefs.locks import LakeFSLocks
    from perago.lakefs.memo import LakeFSMemo

    verb, lines = ("would delete" if args.dry_run else "deleted"), []
    if args.memos_older_than is not None:
        memos = LakeFSMemo(conn).expire(
            args.repository, args.memos_older_than, task=args.memo_task, dry_run=args.dry_run
        )
        lines += [f"{verb} {args.repository}/{name}" for name in memos]
        lines.append(f"{verb} {len(memos)} memo(s) older than {args.memos_older_than} in {args.repository}")
    if args.locks_idle_for is not None:
        idle = LakeFSLocks(conn).expire_idle(args.repository, args.locks_idle_for.total_seconds(), dry_run=args.dry_run)
        lines.append(f"{verb} the objects of {len(idle)} lock(s) idle for {args.locks_idle_for} in {args.repository}")
    return lines
