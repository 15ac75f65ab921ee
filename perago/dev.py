"""``python -m perago dev``: run the example song pipeline end to end and show what happened.

By default everything runs in this process: a Conductor emulator, a lakeFS emulator, the example workers.
``--conductor-url`` / ``--lakefs-endpoint`` point at real servers instead (lakeFS credentials from the lakectl
environment variables). Exit status: 0 when every workflow completed, 1 when one failed (its failing task's
reason is printed), 2 for a usage or setup error.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perago.devdemo import pipeline
from perago.devdemo.http import DemoHTTPError, basic_auth
from perago.devdemo.progress import ProgressWatcher
from perago.devdemo.stack import Endpoints, start_servers
from perago.devdemo.summary import commit_log, summarize
from perago.devdemo.workers import register_tasks, start_workers
from perago.errors import PeragoError
from perago.settings import PeragoSettings
from perago.task import discover_tasks


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m perago dev``."""
    parser = argparse.ArgumentParser(prog="python -m perago dev", description=__doc__.split("\n\n")[0])
    parser.add_argument("--conductor-url", help="use this Conductor (…/api) instead of the emulator")
    parser.add_argument("--lakefs-endpoint", help="use this lakeFS instead of the emulator (LAKECTL_* creds)")
    parser.add_argument("--repository", default="songs", help="lakeFS repository to create (default songs)")
    parser.add_argument("--storage-namespace", default="local://songs", help="for a real lakeFS, e.g. s3://b/p")
    parser.add_argument(
        "--workflow", action="append", choices=sorted(pipeline.BRANCHES), help="run only these (repeatable)"
    )
    parser.add_argument("--song-id", help="override the song id passed to metadata_validate")
    parser.add_argument("--params", default="{}", help="JSON object merged into metadata_validate's params")
    parser.add_argument("--examples", default="examples.songs", help="the example package (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the workflows")
    parser.add_argument("--keep-running", action="store_true", help="keep the stack up until Ctrl-C")
    parser.add_argument("--summary-json", type=Path, help="also write the summary as JSON to this file")
    parser.add_argument("--quiet-logs", action="store_true", help="do not show perago's worker logs")
    return parser


def _song_overrides(args: argparse.Namespace) -> dict[str, Any]:
    try:
        overrides = json.loads(args.params)
    except json.JSONDecodeError as exc:
        raise PeragoError(f"--params is not valid JSON ({exc}); pass an object like '{{\"year\": 1999}}'") from exc
    if not isinstance(overrides, dict):
        raise PeragoError("--params must be a JSON object, e.g. '{\"year\": 1999}'")
    if args.song_id is not None:
        overrides["song_id"] = args.song_id
    return overrides


def _lakefs_credentials() -> tuple[str, str] | None:
    settings = PeragoSettings()
    secret = settings.lakefs_secret_access_key
    if settings.lakefs_access_key_id and secret is not None:
        return settings.lakefs_access_key_id, secret.get_secret_value()
    return None


def _print_endpoints(endpoints: Endpoints, repository: str) -> None:
    print(f"Conductor API : {endpoints.conductor_url}")
    print(f"lakeFS        : {endpoints.lakefs_endpoint}  (repository {repository})")
    print(f"  export LAKECTL_SERVER_ENDPOINT_URL={endpoints.lakefs_endpoint}")
    print(f"  export LAKECTL_CREDENTIALS_ACCESS_KEY_ID={endpoints.access_key_id}")
    print("  export LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY=<the emulator's secret; printed with --keep-running>")
    print(f"  export CONDUCTOR_SERVER_URL={endpoints.conductor_url}")


def _failures(views: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for name, view in views.items():
        if view.get("status") == "COMPLETED":
            continue
        failed = [t for t in view.get("tasks", []) if t.get("status") not in ("COMPLETED", "SKIPPED")]
        detail = "; ".join(
            f"task {t.get('referenceTaskName')} ({t.get('taskType')}) {t.get('status')}: "
            f"{t.get('reasonForIncompletion') or 'no reason given'}"
            for t in failed
        )
        lines.append(f"workflow {name} {view.get('status')}: {detail or view.get('reasonForIncompletion')}")
    return lines


@dataclass
class _Demo:
    """What the demo set up: servers, branches, workflow ids."""

    endpoints: Endpoints
    names: list[str]
    branches: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)


def _prepare(args: argparse.Namespace, stack: contextlib.ExitStack) -> _Demo:
    """Start or reach the servers, seed lakeFS, register definitions, start the workers."""
    _, stack_module = pipeline.import_examples(args.examples)
    real = args.conductor_url is not None or args.lakefs_endpoint is not None
    endpoints, emulator = start_servers(stack, args.conductor_url, args.lakefs_endpoint, _lakefs_credentials())
    demo = _Demo(endpoints, args.workflow or sorted(pipeline.BRANCHES))
    _print_endpoints(endpoints, args.repository)
    pipeline.check_reachable(endpoints)
    commit = pipeline.seed(stack_module, endpoints, args.repository, args.storage_namespace, emulator)
    print(f"repository {args.repository}: sample data at main {commit[:12]}")
    demo.branches = pipeline.branch_names(demo.names, unique=real)
    pipeline.create_branches(stack_module, endpoints, args.repository, demo.branches)
    tasks = discover_tasks(args.examples)
    settings = endpoints.settings()
    register_tasks(tasks, settings)
    stack_module.register_workflows(endpoints.conductor_url)
    print("registered tasks:", ", ".join(t.name for t in tasks), "| workflows:", ", ".join(demo.names))
    stack.enter_context(start_workers(tasks, settings))
    return demo


def _start(args: argparse.Namespace, demo: _Demo, overrides: dict[str, Any]) -> None:
    song = pipeline.song_params(importlib.import_module(f"{args.examples}.data"), overrides)
    for name in demo.names:
        payload = pipeline.workflow_input(args.repository, demo.branches[name], song)
        demo.ids[name] = pipeline.start_workflow(demo.endpoints.conductor_url, name, payload)
        print(f"started {name} ({demo.ids[name]}) on branch {demo.branches[name]}")


def _finish(args: argparse.Namespace, demo: _Demo, views: dict[str, dict[str, Any]]) -> int:
    endpoints = demo.endpoints
    auth = basic_auth(endpoints.access_key_id, endpoints.secret_access_key)
    logs = {n: commit_log(endpoints.lakefs_endpoint, auth, args.repository, demo.branches[n]) for n in demo.names}
    data = summarize(views, logs, args.repository, demo.branches, print)
    if args.summary_json:
        args.summary_json.write_text(json.dumps(data, indent=2, default=str))
    failures = _failures(views)
    for line in failures:
        print(f"FAILED: {line}", file=sys.stderr)
    print("demo failed." if failures else "demo completed: every task COMPLETED.")
    return 1 if failures else 0


def run(args: argparse.Namespace) -> int:
    """Run the demo; return the exit status."""
    overrides = _song_overrides(args)
    with contextlib.ExitStack() as stack:
        demo = _prepare(args, stack)
        _start(args, demo, overrides)
        views = ProgressWatcher(demo.endpoints.conductor_url, print).wait(demo.ids, args.timeout)
        code = _finish(args, demo, views)
        if args.keep_running:
            _keep_running(demo.endpoints, args.repository)
        return code


def _keep_running(endpoints: Endpoints, repository: str) -> None:
    print("\nThe stack stays up for exploration; Ctrl-C to stop.")
    _print_endpoints(endpoints, repository)
    print(f"  lakeFS secret access key: {endpoints.secret_access_key}")
    with contextlib.suppress(KeyboardInterrupt):
        _wait_forever()


def _wait_forever() -> None:
    threading.Event().wait()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m perago dev``."""
    args = build_parser().parse_args(argv)
    if not args.quiet_logs:
        from perago.devdemo.workers import enable_logs

        enable_logs()
    try:
        return run(args)
    except (PeragoError, DemoHTTPError) as exc:
        print(f"perago dev: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
