"""``python -m perago dev``: run workflows of perago tasks end to end and show what happened.

By default everything runs in this process: a Conductor emulator, a lakeFS emulator, the workers. Without
``--tasks`` it runs the example song pipeline; ``--tasks my.package --workflow wf.json [--data DIR] [--input JSON]``
runs your own package and workflow definitions, on a repository seeded from ``DIR``.
``--conductor-url`` / ``--lakefs-endpoint`` point at real servers instead (lakeFS credentials from the lakectl
environment variables). Exit status: 0 when every workflow completed, 1 when one failed (its failing task's
reason is printed), 2 for a usage or setup error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perago.devdemo import pipeline
from perago.devdemo.http import DemoHTTPError, basic_auth, call_json
from perago.devdemo.progress import ProgressWatcher
from perago.devdemo.project import DevProject, check_task_types, custom_project, parse_input, songs_project
from perago.devdemo.seed import Repository
from perago.devdemo.stack import Endpoints, start_servers
from perago.devdemo.summary import commit_log, summarize
from perago.devdemo.workers import register_tasks, start_workers
from perago.errors import ConfigurationError, PeragoError
from perago.settings import PeragoSettings
from perago.task import discover_tasks


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m perago dev``."""
    parser = argparse.ArgumentParser(
        prog="python -m perago dev",
        description="Run workflows of perago tasks end to end on embedded Conductor and lakeFS emulators (or real "
        "servers) and show what happened. Without --tasks: the songs demo from examples/.",
        epilog="example: python -m perago dev --tasks my.package --workflow my_flow.json --data ./sample "
        "--input '{\"params\": {}}'",
    )
    own = parser.add_argument_group("your own tasks (default: the songs demo)")
    own.add_argument("--tasks", metavar="PACKAGE", help="package or module of @task functions to serve")
    own.add_argument(
        "--workflow",
        action="append",
        metavar="FILE.json|NAME",
        help="a Conductor workflow definition JSON file (an object or a list) to register and run, or the name of "
        f"a songs workflow ({', '.join(sorted(pipeline.BRANCHES))}); repeatable",
    )
    own.add_argument("--data", type=Path, metavar="DIR", help="seed the repository's main branch with these files")
    own.add_argument(
        "--input",
        metavar="JSON",
        help="the workflow input: a JSON object or @file.json; perago dev adds `workspace` (the run's branch head)",
    )
    parser.add_argument("--conductor-url", help="use this Conductor (…/api) instead of the emulator")
    parser.add_argument("--lakefs-endpoint", help="use this lakeFS instead of the emulator (LAKECTL_* creds)")
    parser.add_argument("--repository", help="lakeFS repository to create (default songs, or dev with --tasks)")
    parser.add_argument("--storage-namespace", help="for a real lakeFS, e.g. s3://b/p (default local://<repository>)")
    parser.add_argument("--song-id", help="songs demo: override the song id passed to metadata_validate")
    parser.add_argument("--params", default="{}", help="songs demo: JSON object merged into metadata_validate's params")
    parser.add_argument("--examples", default="examples.songs", help="the songs example package (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the workflows")
    parser.add_argument("--keep-running", action="store_true", help="keep the stack up until Ctrl-C")
    parser.add_argument("--summary-json", type=Path, help="also write the summary as JSON to this file")
    parser.add_argument("--quiet-logs", action="store_true", help="do not show perago's worker logs")
    return parser


def load_project(args: argparse.Namespace) -> DevProject:
    """The songs demo, or your own package and workflows with ``--tasks``; option mistakes raise here."""
    if args.conductor_url is not None and not args.conductor_url.rstrip("/").endswith("/api"):
        from perago.conductor.client import api_base_hint

        raise ConfigurationError(f"--conductor-url {args.conductor_url}: {api_base_hint(args.conductor_url)}")
    user_input = parse_input(args.input)
    if args.tasks is None:
        return songs_project(args, user_input, _song_overrides(args))
    return custom_project(args, user_input)


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


def export_lines(endpoints: Endpoints) -> list[str]:
    """The ``export`` lines that point lakectl, perago and the Conductor SDK at this stack.

    The secret is printed only for the embedded lakeFS emulator: a real server's credentials are already yours.
    """
    lines = [
        f"export CONDUCTOR_SERVER_URL={endpoints.conductor_url}",
        f"export LAKECTL_SERVER_ENDPOINT_URL={endpoints.lakefs_endpoint}",
    ]
    if endpoints.embedded_lakefs:
        lines += [
            f"export LAKECTL_CREDENTIALS_ACCESS_KEY_ID={endpoints.access_key_id}",
            f"export LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY={shlex.quote(endpoints.secret_access_key)}",
        ]
    return lines


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
    project: DevProject
    repository: str
    branches: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)


def _prepare(args: argparse.Namespace, stack: contextlib.ExitStack) -> _Demo:
    """Check the options, start or reach the servers, seed lakeFS, register definitions, start the workers."""
    project = load_project(args)
    tasks = discover_tasks(project.tasks)
    check_task_types(project.definitions, project.tasks, {t.name for t in tasks})
    repository = args.repository or ("songs" if args.tasks is None else "dev")
    real = args.conductor_url is not None or args.lakefs_endpoint is not None
    endpoints = start_servers(stack, args.conductor_url, args.lakefs_endpoint, _lakefs_credentials())
    demo = _Demo(endpoints, project, repository)
    _print_endpoints(endpoints, repository)
    pipeline.check_reachable(endpoints)
    lake = Repository(endpoints, repository)
    lake.create(args.storage_namespace or f"local://{repository}")
    commit = lake.seed(project.files, project.seed_message)
    print(f"repository {repository}: {len(project.files)} seed file(s), main at {commit[:12]}")
    demo.branches = pipeline.branch_names(project.names, unique=real)
    for branch in demo.branches.values():
        lake.create_branch(branch)
    settings = endpoints.settings()
    register_tasks(tasks, settings)
    call_json("PUT", f"{endpoints.conductor_url}/metadata/workflow", project.definitions)
    print("registered tasks:", ", ".join(t.name for t in tasks), "| workflows:", ", ".join(project.names))
    stack.enter_context(start_workers(tasks, settings))
    return demo


def _start(demo: _Demo) -> None:
    for name in demo.project.names:
        payload = demo.project.make_input(demo.repository, demo.branches[name])
        demo.ids[name] = pipeline.start_workflow(demo.endpoints.conductor_url, name, payload)
        print(f"started {name} ({demo.ids[name]}) on branch {demo.branches[name]}")


def _finish(args: argparse.Namespace, demo: _Demo, views: dict[str, dict[str, Any]]) -> int:
    endpoints = demo.endpoints
    auth = basic_auth(endpoints.access_key_id, endpoints.secret_access_key)
    names = demo.project.names
    logs = {n: commit_log(endpoints.lakefs_endpoint, auth, demo.repository, demo.branches[n]) for n in names}
    data = summarize(views, logs, demo.repository, demo.branches, print)
    if args.summary_json:
        args.summary_json.write_text(json.dumps(data, indent=2, default=str))
    failures = _failures(views)
    for line in failures:
        print(f"FAILED: {line}", file=sys.stderr)
    print("demo failed." if failures else "demo completed: every task COMPLETED.")
    return 1 if failures else 0


def run(args: argparse.Namespace) -> int:
    """Run the demo; return the exit status."""
    with contextlib.ExitStack() as stack:
        demo = _prepare(args, stack)
        _start(demo)
        views = ProgressWatcher(demo.endpoints.conductor_url, print).wait(demo.ids, args.timeout)
        code = _finish(args, demo, views)
        if args.keep_running:
            _keep_running(demo.endpoints)
        return code


def _keep_running(endpoints: Endpoints) -> None:
    print("\nThe stack stays up for exploration; Ctrl-C to stop. To use it from another shell:")
    for line in export_lines(endpoints):
        print(f"  {line}")
    if not endpoints.embedded_lakefs:
        print("  (lakeFS credentials: your LAKECTL_CREDENTIALS_* variables)")
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
