"""What the soak checks, from the servers' final state: every workflow completed, every step's effect present
exactly once on its branch (content and metadata), no staging branch after the janitor, no attempt directory after
the workers' own start-up GC, and no secret in any log."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soak.setup import conductor, lakefs
from soak.stack import REPOSITORY, ROOT, Stack
from soak.tasks import STEPS


@dataclass
class Verdict:
    """The soak's figures; ``violations`` says what broke, if anything."""

    workflows: int = 0
    completed: int = 0
    failed: int = 0
    lost: int = 0
    doubled: int = 0
    staging_left: int = 0
    attempt_dirs: int = 0
    secrets_leaked: int = 0
    retried: int = 0
    reused: int = 0
    redelivered: int = 0
    violations: list[str] = field(default_factory=list)


def workflow_states(stack: Stack, ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each workflow with its tasks, by id."""
    return {wf: conductor(stack, "GET", f"/workflow/{wf}?includeTasks=true") for wf in ids}


def _listing(stack: Stack, route: str) -> Iterator[dict[str, Any]]:
    """Every result of a paginated lakeFS listing, page after page (``route`` already has a query string)."""
    after = ""
    while True:
        page = lakefs(stack, "GET", f"{route}&after={after}")
        yield from page["results"]
        if not page["pagination"]["has_more"]:
            return
        after = page["pagination"]["next_offset"]


def _log(stack: Stack, branch: str) -> list[dict[str, Any]]:
    return list(_listing(stack, f"/repositories/{REPOSITORY}/refs/{branch}/commits?amount=1000&first_parent=true"))


def _paths(stack: Stack, branch: str) -> set[str]:
    return {
        entry["path"] for entry in _listing(stack, f"/repositories/{REPOSITORY}/refs/{branch}/objects/ls?amount=1000")
    }


def check_effects(stack: Stack, ids: dict[str, str], states: dict[str, dict[str, Any]], verdict: Verdict) -> str:
    """Exactly one merge per (workflow, step) on the workflow's branch, and the step's file at its head."""
    metadata_text = []
    for branch in sorted(set(ids.values())):
        merges = Counter()
        for commit in _log(stack, branch):
            meta = commit.get("metadata") or {}
            metadata_text.append(json.dumps(meta))
            if len(commit["parents"]) == 2 and "perago.task_ref" in meta:
                merges[(meta["perago.workflow_id"], meta["perago.task_ref"])] += 1
        paths = _paths(stack, branch)
        for wf in (w for w, b in ids.items() if b == branch):
            for _, step in STEPS:
                count = merges[(wf, step)]
                present = f"runs/{wf}/{step}.csv" in paths
                if count == 0 or not present:
                    verdict.lost += 1
                    verdict.violations.append(f"{wf} {step}: {count} merge(s), its file present: {present}")
                elif count > 1:
                    verdict.doubled += 1
                    verdict.violations.append(f"{wf} {step}: published {count} times on {branch}")
                if count != 1 or not present:
                    keep_evidence(stack, wf, branch, states.get(wf, {}))
    return "\n".join(metadata_text)


def keep_evidence(stack: Stack, wf: str, branch: str, state: dict[str, Any]) -> None:
    """Write what the servers know of a violating workflow to ``evidence-<workflow>.json`` in the run directory:
    its tasks as Conductor recorded them (with their logs) and every commit of its branch that names it."""
    route = f"/repositories/{REPOSITORY}/refs/{branch}/commits?amount=1000"
    commits = [c for c in lakefs(stack, "GET", route)["results"] if wf in json.dumps(c)]
    fields = ("taskId", "referenceTaskName", "status", "retriedTaskId", "pollCount", "retryCount", "workerId")
    fields += ("outputData", "reasonForIncompletion", "scheduledTime")
    tasks = [
        {k: t.get(k) for k in fields}
        | {"logs": [e["log"] for e in conductor(stack, "GET", f"/tasks/{t['taskId']}/log") or []]}
        for t in state.get("tasks", [])
    ]
    (stack.run_dir / f"evidence-{wf}.json").write_text(json.dumps({"tasks": tasks, "commits": commits}, indent=1))


def check_workflows(states: dict[str, dict[str, Any]], verdict: Verdict) -> None:
    verdict.workflows = len(states)
    for wf, state in states.items():
        if state["status"] == "COMPLETED":
            verdict.completed += 1
        else:
            verdict.failed += 1
            reasons = [t.get("reasonForIncompletion") for t in state.get("tasks", []) if t.get("reasonForIncompletion")]
            verdict.violations.append(
                f"workflow {wf} ended {state['status']}: {reasons[-1:] or state.get('reasonForIncompletion')}"
            )


def check_staging(stack: Stack, verdict: Verdict) -> None:
    """Run the janitor as an operator would, then no perago-stg-* branch may be left."""
    janitor = [sys.executable, "-m", "perago", "janitor", "--repository", REPOSITORY, "--older-than", "0s"]
    with stack.log("janitor") as log:
        code = subprocess.run(janitor, cwd=ROOT, env=stack.env(), stdout=log, stderr=subprocess.STDOUT, check=False)
    if code.returncode != 0:
        verdict.violations.append(f"the janitor exited {code.returncode} (see janitor.log)")
    branches = lakefs(stack, "GET", f"/repositories/{REPOSITORY}/branches?amount=1000&show_hidden=true")["results"]
    left = [b["id"] for b in branches if b["id"].startswith("perago-stg-")]
    verdict.staging_left = len(left)
    if left:
        verdict.violations.append(f"staging branches left after the janitor: {left[:5]}")


def check_attempt_dirs(stack: Stack, verdict: Verdict) -> None:
    """A worker's start-up GC (the product's own) runs over the shared root; then it must be empty."""
    from perago.workspace import gc_attempt_workspaces

    root = stack.run_dir / "attempts"
    gc_attempt_workspaces(root, ttl_s=24 * 3600)
    left = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    verdict.attempt_dirs = len(left)
    if left:
        verdict.violations.append(f"attempt directories left: {left[:5]}")


def check_secrets(stack: Stack, states: dict[str, dict[str, Any]], metadata_text: str, verdict: Verdict) -> None:
    """No secret in any process log, Conductor task log or reason, or lakeFS commit metadata.

    The emulators' own stdout (``*.out``) is left out: it is the banner in which a test server introduces itself
    with the credentials it was started with, on purpose.
    """
    texts = {path.name: path.read_text(errors="replace") for path in stack.run_dir.glob("*.log")}
    texts["lakefs commit metadata"] = metadata_text
    for state in states.values():
        for task in state.get("tasks", []):
            logs = conductor(stack, "GET", f"/tasks/{task['taskId']}/log") or []
            text = json.dumps(logs) + str(task.get("reasonForIncompletion") or "")
            texts[f"task {task['taskId']}"] = text
            count_mechanisms(task, [entry["log"] for entry in logs], verdict)
    for name, text in texts.items():
        for secret in stack.secrets:
            if secret in text:
                verdict.secrets_leaked += 1
                verdict.violations.append(f"a secret appears in {name}")


def count_mechanisms(task: dict[str, Any], logs: list[str], verdict: Verdict) -> None:
    """What the run exercised: Conductor retries of a step, re-deliveries of a task id, and attempts that completed
    with the merge an earlier attempt of their step left (the exactly-once lookup, read from the task log)."""
    from perago.eventlog import parse_log

    verdict.retried += int(task.get("retriedTaskId") is not None)
    verdict.redelivered += int(int(task.get("pollCount") or 0) > 1)
    events, _ = parse_log(logs)
    verdict.reused += int(any(event.phase == "reused" for event in events))


def summary(verdict: Verdict, workers: Any, seconds: float, run_dir: Path) -> str:
    return (
        f"soak: workflows={verdict.workflows} completed={verdict.completed} failed={verdict.failed} "
        f"lost={verdict.lost} doubled={verdict.doubled} kills={workers.kills} (sigkill={workers.sigkills} "
        f"sigterm={workers.sigterms}) staging_left={verdict.staging_left} attempt_dirs={verdict.attempt_dirs} "
        f"secrets_leaked={verdict.secrets_leaked} retried={verdict.retried} redelivered={verdict.redelivered} "
        f"reused={verdict.reused} duration={seconds:.0f}s logs={run_dir}"
    )
