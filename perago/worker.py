"""``python -m perago.worker app.workers [more.modules ...]``: serve every task of these packages/modules.

Options override the environment (see ``perago/settings.py``). At start the worker refuses settings Conductor
would refuse, checks that Conductor answers, creates the task definitions the server lacks and warns about those
that differ from the ``@task`` settings (``--register`` updates them), prints what it serves (tasks, concurrency,
endpoints without secrets), and collects abandoned attempt directories. SIGTERM/SIGINT stop polling at once and
drain running attempts for ``--drain-timeout`` seconds; attempts still running then are handed back to Conductor
(the same task id is re-queued at once, no retry is spent); exit 0. A second signal exits at once with status
130: running attempts are then neither reported nor cleaned up (Conductor retries them after their response
timeout, the next worker's start-up GC removes their directories, and ``python -m perago janitor`` their staging
branches).

Errors a user can fix (bad module path, no tasks, unreachable server, refused credentials, bad settings) print one
line on stderr and exit 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from pydantic import ValidationError

from perago.errors import PeragoError
from perago.logs import configure_logging
from perago.settings import PeragoSettings
from perago.task import TaskDefinition, discover_tasks, merge_task_lists

_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("--conductor-url", "conductor_server_url", {"help": "Conductor API URL incl. /api [CONDUCTOR_SERVER_URL]"}),
    ("--conductor-auth-key", "conductor_auth_key", {"help": "[CONDUCTOR_AUTH_KEY]"}),
    ("--conductor-auth-secret", "conductor_auth_secret", {"help": "[CONDUCTOR_AUTH_SECRET]"}),
    ("--lakefs-endpoint", "lakefs_endpoint", {"help": "[LAKECTL_SERVER_ENDPOINT_URL]"}),
    ("--lakefs-access-key-id", "lakefs_access_key_id", {"help": "[LAKECTL_CREDENTIALS_ACCESS_KEY_ID]"}),
    ("--lakefs-secret-access-key", "lakefs_secret_access_key", {"help": "[LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY]"}),
    ("--workspace-root", "workspace_root", {"help": "attempt directories [PERAGO_WORKSPACE_ROOT]"}),
    ("--concurrency", "concurrency", {"type": int, "help": "threads per task type [PERAGO_CONCURRENCY]"}),
    ("--domain", "domain", {"help": "Conductor task domain [PERAGO_DOMAIN]"}),
    ("--drain-timeout", "drain_timeout_s", {"type": float, "help": "seconds [PERAGO_DRAIN_TIMEOUT_S]"}),
    ("--reason-max-length", "failure_reason_max_length", {"type": int, "help": "[PERAGO_FAILURE_REASON_MAX_LENGTH]"}),
    ("--log-level", "log_level", {"help": "[PERAGO_LOG_LEVEL]"}),
    ("--metrics-port", "metrics_port", {"type": int, "help": "serve /metrics and /healthz [PERAGO_METRICS_PORT]"}),
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m perago.worker", description="Serve perago tasks on Conductor.")
    parser.add_argument("modules", nargs="+", help="packages or modules holding @task functions")
    for flag, dest, extra in _OPTIONS:
        parser.add_argument(flag, dest=dest, default=None, **extra)
    parser.add_argument("--log-json", dest="log_json", action="store_const", const=True, default=None)
    parser.add_argument(
        "--register",
        action="store_true",
        help="also update task definitions that differ from the @task settings (missing ones are always created)",
    )
    return parser


def _settings(args: argparse.Namespace) -> PeragoSettings:
    overrides = {dest: getattr(args, dest) for _, dest, _ in _OPTIONS if getattr(args, dest) is not None}
    if args.log_json is not None:
        overrides["log_json"] = True
    return PeragoSettings(**overrides)


def describe(tasks: list[TaskDefinition], settings: PeragoSettings, worker_id: str) -> str:
    """What the worker serves, without secrets."""
    lines = [f"perago worker {worker_id}", f"  conductor: {settings.conductor_server_url}"]
    if any(t.workspace is not None for t in tasks):
        lines.append(f"  lakefs:    {settings.lakefs_endpoint} (access key {settings.lakefs_access_key_id or '-'})")
        lines.append(f"  workspace: {settings.workspace_root}")
    for t in tasks:
        kind = "workspace-free" if t.workspace is None else ("read-only" if t.workspace.read_only else "writable")
        lines.append(f"  task {t.name} v{t.version} ({kind}), concurrency {settings.concurrency or t.concurrency}")
    return "\n".join(lines)


def signal_handler(stop: Callable[[], None], drain_timeout_s: float) -> Callable[[int, FrameType | None], None]:
    """The SIGTERM/SIGINT handler: the first signal drains (and says how to skip that), a second exits at once."""
    received = {"count": 0}

    def handler(signum: int, frame: FrameType | None) -> None:
        received["count"] += 1
        if received["count"] > 1:
            os._exit(130)
        print(
            f"perago worker: {signal.Signals(signum).name} received, draining: running attempts may finish for up to "
            f"{drain_timeout_s:g}s; press Ctrl-C again (or send another SIGTERM) to exit at once",
            file=sys.stderr,
            flush=True,
        )
        stop()

    return handler


def _install_signals(stop: Callable[[], None], drain_timeout_s: float) -> None:
    handler = signal_handler(stop, drain_timeout_s)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run(argv: list[str]) -> int:
    """Parse, validate, connect and serve; returns the exit status."""
    args = _parser().parse_args(argv)
    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_json)
    tasks = merge_task_lists([discover_tasks(m) for m in args.modules])
    if not tasks:
        raise PeragoError(f"no perago tasks found in {', '.join(args.modules)}; decorate functions with @task")
    from perago.conductor import Worker
    from perago.conductor.metrics import serve_metrics
    from perago.conductor.startup import sync_task_definitions

    worker = Worker(tasks, settings)
    worker.api.check()
    if any(t.workspace is not None for t in tasks):
        from perago.lakefs.health import check_lakefs

        check_lakefs(settings)
    sync_task_definitions(tasks, worker.api, update=args.register)
    if settings.metrics_port is not None:
        serve_metrics(worker.metrics, "0.0.0.0", settings.metrics_port)  # scraped from outside the host
    print(describe(tasks, settings, worker.worker_id), flush=True)
    _install_signals(worker.request_stop, settings.drain_timeout_s)
    worker.serve_forever()
    print("perago worker: stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: one clear line and exit 2 for the errors a user can fix."""
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except (PeragoError, ValidationError) as exc:
        message = " ".join(str(exc).split())
        print(f"perago.worker: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
