"""Walking a workflow definition: WorkflowDef.getNextTask and WorkflowTask.next/has/collectTasks.

Workflow tasks are the definition's JSON objects. The rules are conductor-oss's (common module,
``WorkflowDef`` and ``WorkflowTask``): the task after a reference name is its sibling in the same list;
the last task of a SWITCH case or a FORK branch is followed by what follows the SWITCH / FORK_JOIN; the
last task of a DO_WHILE body is followed by the DO_WHILE itself (which then decides on another
iteration); a TERMINATE is followed by nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

WorkflowTask = dict[str, Any]
_BRANCHING = frozenset({"DECISION", "SWITCH", "DO_WHILE"})


def children(task: WorkflowTask) -> list[list[WorkflowTask]]:
    """The task lists nested in ``task``: SWITCH/DECISION cases then the default case, fork branches, loop body."""
    task_type = task.get("type", "SIMPLE")
    if task_type in ("DECISION", "SWITCH"):
        return [*(task.get("decisionCases") or {}).values(), task.get("defaultCase") or []]
    if task_type == "FORK_JOIN":
        return list(task.get("forkTasks") or [])
    if task_type == "DO_WHILE":
        return [task.get("loopOver") or []]
    return []


def collect(tasks: Iterable[WorkflowTask]) -> list[WorkflowTask]:
    """Every workflow task in ``tasks``, depth first, each followed by its nested tasks."""
    found: list[WorkflowTask] = []
    for task in tasks:
        found.append(task)
        for nested in children(task):
            found.extend(collect(nested))
    return found


def has(task: WorkflowTask, reference: str) -> bool:
    """WorkflowTask.has: ``task`` is ``reference`` or contains it."""
    if task.get("taskReferenceName") == reference:
        return True
    return any(has(child, reference) for nested in children(task) for child in nested)


def task_by_ref(definition: dict[str, Any], reference: str) -> WorkflowTask | None:
    """WorkflowDef.getTaskByRefName."""
    for task in collect(definition.get("tasks") or []):
        if task.get("taskReferenceName") == reference:
            return task
    return None


def _after_in(tasks: list[WorkflowTask], reference: str, owner: WorkflowTask) -> tuple[WorkflowTask | None, bool]:
    """Scan one nested list: (the task to run next, whether ``reference`` was this list's direct member)."""
    for index, task in enumerate(tasks):
        if task.get("taskReferenceName") == reference:
            return (tasks[index + 1] if index + 1 < len(tasks) else None), True
        following = next_task(task, reference, owner)
        if following is not None:
            return following, False
        if has(task, reference):
            return (tasks[index + 1] if index + 1 < len(tasks) else None), False
    return None, False


def next_task(task: WorkflowTask, reference: str, parent: WorkflowTask | None) -> WorkflowTask | None:
    """WorkflowTask.next: the task to schedule after ``reference`` when it lies inside ``task``."""
    task_type = task.get("type", "SIMPLE")
    if task_type in _BRANCHING:
        for nested in children(task):
            following, _ = _after_in(nested, reference, task)
            if following is not None:
                return following
        if task_type == "DO_WHILE" and has(task, reference):
            return task  # the loop decides whether another iteration follows its last task
        return None
    if task_type == "FORK_JOIN":
        for nested in children(task):
            following, direct = _after_in(nested, reference, task)
            if following is not None:
                return following
            if direct and parent is not None:
                return next_task(parent, str(task.get("taskReferenceName")), parent)
    return None


def next_in_definition(definition: dict[str, Any], reference: str) -> WorkflowTask | None:
    """WorkflowDef.getNextTask: what follows ``reference`` in the whole definition (None at the end)."""
    current = task_by_ref(definition, reference)
    if current is not None and current.get("type") == "TERMINATE":
        return None
    tasks: list[WorkflowTask] = definition.get("tasks") or []
    for index, task in enumerate(tasks):
        if task.get("taskReferenceName") == reference:
            return tasks[index + 1] if index + 1 < len(tasks) else None
        following = next_task(task, reference, None)
        if following is not None:
            return following
        if task.get("type") == "DO_WHILE" and has(task, reference):
            return None
        if has(task, reference):
            return tasks[index + 1] if index + 1 < len(tasks) else None
    return None
