"""The demo's closing summary: task statuses and durations, output workspaces, the lakeFS commit logs."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from perago.devdemo.http import call_json
from perago.devdemo.progress import duration_s, worker_tasks


def commit_log(endpoint: str, headers: Mapping[str, str], repository: str, ref: str, amount: int = 20) -> list[Any]:
    """The newest ``amount`` commits reachable from ``ref`` (lakeFS ``GET .../refs/{ref}/commits``)."""
    quoted = urllib.parse.quote(ref, safe="")
    url = f"{endpoint.rstrip('/')}/api/v1/repositories/{repository}/refs/{quoted}/commits?amount={amount}"
    page = call_json("GET", url, headers=dict(headers))
    results: list[Any] = page["results"]
    return results


def task_rows(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per worker task: reference, type, status, duration, output workspace, reason."""
    rows = []
    for task in worker_tasks(workflow):
        output = task.get("outputData") or {}
        rows.append(
            {
                "reference": task.get("referenceTaskName"),
                "task": task.get("taskType"),
                "status": task.get("status"),
                "duration_s": duration_s(task),
                "workspace": output.get("workspace"),
                "reason": task.get("reasonForIncompletion"),
            }
        )
    return rows


def format_rows(name: str, workflow: Mapping[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """Human-readable lines for one workflow."""
    lines = [f"{name}  {workflow.get('status')}  (workflow id {workflow.get('workflowId')})"]
    for row in rows:
        took = "-" if row["duration_s"] is None else f"{row['duration_s']:.2f}s"
        line = f"  {row['reference']:<10} {row['task']:<18} {row['status']:<26} {took:>7}"
        if row["workspace"]:
            ws = row["workspace"]
            line += f"  -> {ws['repository']}@{ws['ref']} (branch {ws['branch']})"
        if row["reason"]:
            line += f"\n      reason: {row['reason']}"
        lines.append(line)
    return lines


def format_commits(repository: str, branch: str, commits: list[Any]) -> list[str]:
    """The commit log with the perago metadata of each merge."""
    lines = [f"lakeFS log of {repository}/{branch} (newest first):"]
    for commit in commits:
        merge = len(commit.get("parents", [])) > 1
        lines.append(f"  {'merge ' if merge else 'commit'} {commit['id'][:12]}  {commit.get('message', '')}")
        if merge:  # staging commits carry the same metadata: show it once, on the merge that published
            metadata = commit.get("metadata") or {}
            lines += [f"      {key} = {metadata[key]}" for key in sorted(metadata) if key.startswith("perago.")]
    return lines


def summarize(
    workflows: Mapping[str, Mapping[str, Any]],
    logs: Mapping[str, list[Any]],
    repository: str,
    branches: Mapping[str, str],
    emit: Callable[[str], None],
) -> dict[str, Any]:
    """Print the summary and return it as JSON-ready data."""
    data: dict[str, Any] = {"workflows": {}, "repository": repository}
    emit("\n=== summary ===")
    for name, workflow in workflows.items():
        rows = task_rows(workflow)
        for line in format_rows(name, workflow, rows):
            emit(line)
        branch = branches[name]
        for line in format_commits(repository, branch, logs[name]):
            emit(line)
        emit("")
        data["workflows"][name] = {
            "status": workflow.get("status"),
            "workflow_id": workflow.get("workflowId"),
            "branch": branch,
            "tasks": rows,
            "commits": logs[name],
        }
    return data
