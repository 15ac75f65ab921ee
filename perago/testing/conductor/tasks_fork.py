"""Parallel branches: FORK_JOIN, FORK_JOIN_DYNAMIC, JOIN and EXCLUSIVE_JOIN.

ForkJoinTaskMapper schedules a COMPLETED ``FORK`` task, the first task of every branch and the JOIN
that must follow. Join waits for the tasks in ``joinOn`` and collects their outputs by reference name;
a non-optional branch failure fails it. ForkJoinDynamicTaskMapper builds the branches at run time from
``dynamicForkTasksParam`` + ``dynamicForkTasksInputParamName`` (workflow tasks and their inputs), or from
``forkTaskName``/``forkTaskType``/``forkTaskWorkflow`` + ``forkTaskInputs`` (references ``_<name>_<i>``,
each input gets ``__index``). ExclusiveJoin completes with the output of the first ``joinOn`` task that ran.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from perago.testing.conductor import graph
from perago.testing.conductor.model import TaskRecord, WorkflowRecord, append_iteration
from perago.testing.conductor.systask import MapContext, Runtime, SystemTask, TerminateWorkflow, mapper, system_task
from perago.testing.conductor.tasks_dynamic import dynamic_branches


def _join_after(context: MapContext, message: str) -> dict[str, Any]:
    join = graph.next_in_definition(context.workflow.definition, str(context.workflow_task.get("taskReferenceName")))
    if join is None or join.get("type") != "JOIN":
        raise TerminateWorkflow(message)
    return join


@mapper("FORK_JOIN")
def map_fork_join(context: MapContext) -> list[TaskRecord]:
    """ForkJoinTaskMapper."""
    fork = context.start_now(context.create_task("FORK", "COMPLETED"))
    fork.task_def_name, fork.end_time, fork.input_data = "FORK", fork.start_time, dict(context.task_input)
    scheduled = [fork]
    for branch in context.workflow_task.get("forkTasks") or []:
        scheduled += context.runtime.tasks_to_schedule(context.workflow, branch[0], context.retry_count, None)
    join = _join_after(context, "Fork task definition is not followed by a join task.  Check the blueprint")
    return scheduled + context.runtime.tasks_to_schedule(context.workflow, join, context.retry_count, None)


@mapper("JOIN")
def map_join(context: MapContext) -> list[TaskRecord]:
    """JoinTaskMapper: an IN_PROGRESS JOIN whose input is ``joinOn``."""
    task = context.start_now(context.create_task("JOIN", "IN_PROGRESS"))
    task.task_def_name = "JOIN"
    task.input_data = {"joinOn": list(context.workflow_task.get("joinOn") or [])}
    return [task]


@mapper("FORK_JOIN_DYNAMIC")
def map_dynamic_fork(context: MapContext) -> list[TaskRecord]:
    """ForkJoinDynamicTaskMapper."""
    workflow, workflow_task = context.workflow, context.workflow_task
    branches, inputs = dynamic_branches(context)
    fork = context.start_now(context.create_task("FORK", "COMPLETED"))
    fork.task_def_name, fork.end_time, fork.executed = "FORK", fork.start_time, True
    fork.input_data = {
        "forkedTasks": [b["taskReferenceName"] for b in branches],
        "forkedTaskDefs": copy.deepcopy(branches),
        **context.task_input,
    }
    scheduled, join_on = [fork], []
    if workflow.task_by_ref(str(workflow_task.get("taskReferenceName"))) is None:
        for branch in branches:
            branch.setdefault("inputParameters", {}).update(inputs.get(branch["taskReferenceName"]) or {})
            tasks = context.runtime.tasks_to_schedule(workflow, branch, context.retry_count, None)
            if not tasks:
                raise TerminateWorkflow(
                    f"No dynamic tasks could be created for the Workflow: {workflow.name}.{workflow.workflow_id}, "
                    f"Dynamic Fork Task: {branch.get('taskReferenceName')}"
                )
            scheduled += tasks
            join_on.append(tasks[-1].reference_task_name)
    join = _join_after(
        context, "Dynamic join definition is not followed by a join task.  Check the workflow definition."
    )
    join_task = MapContext(
        context.runtime, workflow, join, {}, context.document, task_id=str(uuid.uuid4())
    ).create_task("JOIN", "IN_PROGRESS")
    join_task.task_def_name, join_task.start_time = "JOIN", context.runtime.now_ms()
    join_task.input_data = {**(join.get("inputParameters") or {}), "joinOn": join_on}
    return [*scheduled, join_task]


@mapper("EXCLUSIVE_JOIN")
def map_exclusive_join(context: MapContext) -> list[TaskRecord]:
    """ExclusiveJoinTaskMapper."""
    task = context.start_now(context.create_task("EXCLUSIVE_JOIN", "IN_PROGRESS"))
    task.task_def_name = "EXCLUSIVE_JOIN"
    task.input_data = {"joinOn": list(context.workflow_task.get("joinOn") or [])}
    default = context.workflow_task.get("defaultExclusiveJoinTask")
    if default:
        task.input_data["defaultExclusiveJoinTask"] = list(default)
    return [task]


def _join_on(task: TaskRecord) -> list[str]:
    refs = [str(ref) for ref in task.input_data.get("joinOn") or []]
    return [append_iteration(ref, task.iteration) for ref in refs] if task.loop_over else refs


def _reasons(workflow: WorkflowRecord, refs: list[str]) -> str:
    tasks = [workflow.task_by_ref(ref) for ref in refs]
    return " ".join(t.reason_for_incompletion for t in tasks if t and not t.successful and t.reason_for_incompletion)


class Join(SystemTask):
    """Join: wait for every ``joinOn`` task; FAILED (or CANCELED) when a non-optional one failed."""

    task_type = "JOIN"
    is_async = True

    def execute(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> bool:
        join_on = _join_on(task)
        latest = {t.reference_task_name: t for t in workflow.tasks}  # as task_by_ref: the last with that name
        forked = {ref: latest.get(ref) for ref in join_on}
        all_terminal = all(t is not None and t.terminal for t in forked.values())
        optional_failures = []
        for ref, branch in forked.items():
            if branch is None:
                continue
            if branch.output_data:
                task.output_data[ref] = branch.output_data
            optional = bool(branch.workflow_task.get("optional"))
            permissive = bool(branch.workflow_task.get("permissive"))
            if not branch.successful and not optional and (not permissive or all_terminal):
                task.reason_for_incompletion = _reasons(workflow, join_on)
                failed = [t for t in forked.values() if t and t.terminal and not t.successful]
                real = any(not t.workflow_task.get("optional") and t.status != "CANCELED" for t in failed)
                task.status = "FAILED" if real else "CANCELED"
                return True
            if optional and branch.status == "COMPLETED_WITH_ERRORS":
                optional_failures.append(f"{branch.task_def_name}/{branch.task_id}")
        if not all_terminal:
            return False
        task.status = "COMPLETED_WITH_ERRORS" if optional_failures else "COMPLETED"
        if optional_failures:
            task.reason_for_incompletion = " ".join(optional_failures) + " completed with errors"
        return True


class ExclusiveJoin(SystemTask):
    """ExclusiveJoin: complete with the output of the first ``joinOn`` (else default) task that ran."""

    task_type = "EXCLUSIVE_JOIN"

    def execute(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> bool:
        join_on = _join_on(task)
        found = self._first(workflow, join_on)
        if found is None:
            found = self._first(workflow, [str(r) for r in task.input_data.get("defaultExclusiveJoinTask") or []])
        if found is None or not found.terminal:
            return False
        if not found.successful:
            task.status = "FAILED"
            task.reason_for_incompletion = _reasons(workflow, join_on) or found.reason_for_incompletion
        else:
            task.status, task.output_data = "COMPLETED", dict(found.output_data)
        return True

    @staticmethod
    def _first(workflow: WorkflowRecord, refs: list[str]) -> TaskRecord | None:
        for ref in refs:
            candidate = workflow.task_by_ref(ref)
            if candidate is not None and candidate.status != "SKIPPED":
                return candidate
        return None


class Fork(SystemTask):
    """Fork: created COMPLETED by its mapper."""

    task_type = "FORK"


system_task(Join())
system_task(ExclusiveJoin())
system_task(Fork())
