"""Watch running workflows through Conductor's REST API and print task starts and finishes as they happen."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from perago.devdemo.http import call_json
from perago.history import SYSTEM_TASK_TYPES

TERMINAL = frozenset(
    {
        "COMPLETED",
        "COMPLETED_WITH_ERRORS",
        "FAILED",
        "FAILED_WITH_TERMINAL_ERROR",
        "CANCELED",
        "TIMED_OUT",
        "SKIPPED",
    }
)
WORKFLOW_TERMINAL = frozenset({"COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"})


def worker_tasks(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The workflow's worker (SIMPLE) tasks, in schedule order; system tasks such as FORK/JOIN left out."""
    tasks = [t for t in workflow.get("tasks", []) if t.get("taskType") not in SYSTEM_TASK_TYPES]
    return sorted(tasks, key=lambda t: (t.get("seq", 0), t.get("scheduledTime", 0)))


def duration_s(task: Mapping[str, Any]) -> float | None:
    """Seconds between the task's start and end, when both are known."""
    start, end = task.get("startTime") or 0, task.get("endTime") or 0
    return (end - start) / 1000 if start and end and end >= start else None


@dataclass
class ProgressWatcher:
    """Polls workflows and reports each task's transitions once.

    Attributes:
        conductor_url: Conductor's API base (ending in ``/api``).
        emit: Where lines go (``print`` in the CLI).
        interval_s: Pause between polls.
    """

    conductor_url: str
    emit: Callable[[str], None]
    headers: dict[str, str] = field(default_factory=dict)
    interval_s: float = 0.1
    _seen: dict[str, str] = field(default_factory=dict)

    def fetch(self, workflow_id: str) -> dict[str, Any]:
        """The workflow with its tasks."""
        url = f"{self.conductor_url.rstrip('/')}/workflow/{workflow_id}?includeTasks=true"
        workflow: dict[str, Any] = call_json("GET", url, headers=self.headers)
        for task in list(workflow.get("tasks", [])):  # a sub-workflow's tasks show in their parent's place
            if task.get("taskType") == "SUB_WORKFLOW" and task.get("subWorkflowId"):
                child = self.fetch(str(task["subWorkflowId"]))
                for child_task in child.get("tasks", []):
                    workflow["tasks"].append(
                        {**child_task, "seq": task.get("seq", 0) + child_task.get("seq", 0) / 1000}
                    )
        return workflow

    def report(self, name: str, workflow: Mapping[str, Any]) -> None:
        """Emit a line for every task whose status moved to running or finished since the last call."""
        for task in worker_tasks(workflow):
            status, before = task.get("status", ""), self._seen.get(task["taskId"])
            if status == before:
                continue
            self._seen[task["taskId"]] = status
            label = f"[{name}] {task.get('referenceTaskName')} ({task.get('taskType')})"
            if status == "IN_PROGRESS":
                retry = f", retry {task['retryCount']}" if task.get("retryCount") else ""
                self.emit(f"  {label} started{retry}")
            elif status in TERMINAL:
                took = duration_s(task)
                suffix = f" in {took:.2f}s" if took is not None else ""
                reason = task.get("reasonForIncompletion")
                self.emit(f"  {label} {status}{suffix}" + (f": {reason}" if reason else ""))

    def wait(self, workflows: Mapping[str, str], timeout_s: float) -> dict[str, dict[str, Any]]:
        """Poll until every workflow (name -> id) finished or ``timeout_s`` passed; return the last views."""
        deadline = time.monotonic() + timeout_s
        latest: dict[str, dict[str, Any]] = {}
        while True:
            for name, workflow_id in workflows.items():
                latest[name] = self.fetch(workflow_id)
                self.report(name, latest[name])
            done = all(view.get("status") in WORKFLOW_TERMINAL for view in latest.values())
            if done or time.monotonic() >= deadline:
                return latest
            time.sleep(self.interval_s)
