"""``python -m perago dev``: run the example song pipeline end to end and show what happened.

By default everything runs in this process: a Conductor emulator, a lakeFS emulator, the example workers.
``--conductor-url`` / ``--lakefs-endpoint`` point at real servers instead (lakeFS credentials from the lakectl
environment variables). Exit status: 0 when every workflow completed, 1 when one failed (its failing task's
reason is printed), 2 for a usage or setup error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
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


def run(args: argparse.Namespace) -> int:
    """Run the demo; return the exit status."""
    _, stack_module = pipeline.import_examples(args.examples)
    overrides = _song_overrides(args)
    names = args.workflow or sorted(pipeline.BRANCHES)
    with contextlib.ExitStack() as stack:
        real = args.conductor_url is not None or args.lakefs_endpoint is not None
        endpoints, emulator = start_servers(stack, args.conductor_url, args.lakefs_endpoint, _lakefs_credentials())
        _print_endpoints(endpoints, args.repository)
        settings = endpoints.settings()
        commit = pipeline.seed(stack_module, endpoints, args.repository, args.storage_namespace, emulator)
        print(f"repository {args.repository}: sample data at main {commit[:12]}")
        branches = pipeline.branch_names(names, unique=real)
        pipeline.create_branches(stack_module, endpoints, args.repository, branches)
        from perago.task import discover_tasks

        tasks = discover_tasks(args.examples)
        register_tasks(tasks, settings)
        stack_module.register_workflows(endpoints.conductor_url)
        print("registered tasks:", ", ".join(t.name for t in tasks), "| workflows:", ", ".join(names))
        stack.enter_context(start_workers(tasks, settings))
        song = pipeline.song_params(importlib_data(args.examples), overrides)
        ids = {
            name: pipeline.start_workflow(
                endpoints.conductor_url, name, pipeline.workflow_input(args.repository, branches[name], song)
            )
            for name in names
        }
        print("started:", ", ".join(f"{name} ({ids[name]}) on branch {branches[name]}" for name in names))
        views = ProgressWatcher(endpoints.conductor_url, print).wait(ids, args.timeout)
        auth = basic_auth(endpoints.access_key_id, endpoints.secret_access_key)
        logs = {name: commit_log(endpoints.lakefs_endpoint, auth, args.repository, branches[name]) for name in names}
        data = summarize(views, logs, args.repository, branches, print)
        if args.summary_json:
            args.summary_json.write_text(json.dumps(data, indent=2, default=str))
        failures = _failures(views)
        for line in failures:
            print(f"FAILED: {line}", file=sys.stderr)
        print("demo failed." if failures else "demo completed: every task COMPLETED.")
        if args.keep_running:
            _keep_running(endpoints, args.repository)
        return 1 if failures else 0


def importlib_data(examples: str) -> Any:
    """The example package's sample-data module."""
    import importlib

    return importlib.import_module(f"{examples}.data")


def _keep_running(endpoints: Endpoints, repository: str) -> None:
    print("\nThe stack stays up for exploration; Ctrl-C to stop.")
    _print_endpoints(endpoints, repository)
    print(f"  lakeFS secret access key: {endpoints.secret_access_key}")
    with contextlib.suppress(KeyboardInterrupt):
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
