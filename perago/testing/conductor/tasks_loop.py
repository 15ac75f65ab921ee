"""DO_WHILE (DoWhileTaskMapper, DoWhile).

The loop's body runs at least once; its tasks are renamed ``ref__N`` for iteration N (from 1). When an
iteration's tasks are all done the ``loopCondition`` (JavaScript, ``$`` = the loop's resolved input plus
``$.<loopRef>`` = the loop's output and ``$.<bodyRef>`` = each body task's latest output) decides on
another one. With ``items`` (or input ``_items``) the loop walks a list: ``loopItem``/``loopIndex`` are in
its output and the condition, and it stops after the last item. Output: ``{"iteration": N, "1": {ref:
output, ...}, ...}``; ``keepLastN`` (input parameter) drops older iterations' outputs and tasks. A failed
body task fails the loop; a condition that cannot be evaluated is FAILED_WITH_TERMINAL_ERROR.
"""

from __future__ import annotations

from typing import Any

from perago.testing.conductor import expressions, graph, scripts
from perago.testing.conductor.model import TaskRecord, WorkflowRecord, append_iteration, remove_iteration
from perago.testing.conductor.scripts import ScriptError
from perago.testing.conductor.systask import MapContext, Runtime, SystemTask, fail_task, mapper, system_task


@mapper("DO_WHILE")
def map_do_while(context: MapContext) -> list[TaskRecord]:
    """DoWhileTaskMapper: one IN_PROGRESS loop task (nothing when it already finished)."""
    existing = context.workflow.task_by_ref(str(context.workflow_task.get("taskReferenceName")))
    if existing is not None and existing.terminal:
        return []
    task = context.start_now(context.create_task("DO_WHILE", "IN_PROGRESS"))
    task.retry_count = context.retry_count
    task.input_data = context.resolved_input()
    return [task]


def _body(loop: TaskRecord, workflow: WorkflowRecord, *, this_iteration: bool) -> list[TaskRecord]:
    inside = {task.get("taskReferenceName") for task in graph.collect([loop.workflow_task])}  # what graph.has finds
    return [
        t
        for t in workflow.tasks
        if remove_iteration(t.reference_task_name) in inside
        and t.reference_task_name != loop.reference_task_name
        and (not this_iteration or t.iteration == loop.iteration)
    ]


def _items(workflow: WorkflowRecord, loop: TaskRecord) -> list[Any] | None:
    """The list an ``items`` loop walks (None for a condition-only loop)."""
    workflow_task = loop.workflow_task
    expression = workflow_task.get("items")
    params = workflow_task.get("inputParameters") or {}
    if not (isinstance(expression, str) and expression.strip()) and "_items" not in params:
        return None
    doc = expressions.document(workflow)
    value = (
        expressions.task_input({"items": expression}, doc, loop.task_def, loop.task_id)["items"] if expression else None
    )
    if value is None:
        value = expressions.task_input(params, doc, loop.task_def, loop.task_id).get("_items")
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


class DoWhile(SystemTask):
    """DoWhile.execute: start, check, and continue or finish the loop."""

    task_type = "DO_WHILE"

    def cancel(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> None:
        task.status = "CANCELED"

    def execute(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> bool:
        latest: dict[str, TaskRecord] = {}
        for body_task in _body(task, workflow, this_iteration=True):
            known = latest.get(body_task.reference_task_name)
            if known is None or body_task.retry_count > known.retry_count:
                latest[body_task.reference_task_name] = body_task
        if not latest:
            items = _items(workflow, task)
            if items == []:
                task.output_data["iteration"] = 0
                task.status = "COMPLETED"
                return True
            return self._next_iteration(runtime, workflow, task, 1)
        if self._record(workflow, task, list(latest.values()), runtime):
            return True
        if not self._iteration_complete(task, latest):
            return False
        try:
            again = self._condition(workflow, task)
        except ScriptError as exc:
            condition = task.workflow_task.get("loopCondition")
            reason = f"Unable to evaluate condition {condition}, exception {exc}"
            return fail_task(task, reason, "FAILED_WITH_TERMINAL_ERROR")
        if again:
            return self._next_iteration(runtime, workflow, task, task.iteration + 1)
        task.status = "COMPLETED"
        return True

    def _next_iteration(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord, iteration: int) -> bool:
        task.iteration = iteration
        task.output_data["iteration"] = iteration
        items = _items(workflow, task)
        if items is not None:
            task.output_data["loopIndex"] = iteration - 1
            if iteration - 1 < len(items):
                task.output_data["loopItem"] = items[iteration - 1]
        runtime.schedule_next_iteration(task, workflow)
        return True

    def _record(self, workflow: WorkflowRecord, task: TaskRecord, body: list[TaskRecord], runtime: Runtime) -> bool:
        """Store this iteration's outputs; True when a body task failed (the loop then FAILED)."""
        outputs: dict[str, Any] = {}
        reasons: list[str] = []
        for body_task in body:
            outputs[remove_iteration(body_task.reference_task_name)] = body_task.output_data
            if not body_task.successful:
                reasons.append(f"{body_task.reason_for_incompletion} ")
                break
        task.output_data[str(task.iteration)] = outputs
        keep = (task.workflow_task.get("inputParameters") or {}).get("keepLastN")
        if isinstance(keep, int) and task.iteration > keep:
            for old in range(1, task.iteration - keep + 1):
                task.output_data.pop(str(old), None)
            for old_task in _body(task, workflow, this_iteration=False):
                if old_task.iteration <= task.iteration - keep:
                    runtime.remove_task(workflow, old_task)
        if reasons:
            fail_task(task, "".join(reasons))
        return bool(reasons)

    @staticmethod
    def _iteration_complete(task: TaskRecord, latest: dict[str, TaskRecord]) -> bool:
        for workflow_task in task.workflow_task.get("loopOver") or []:
            found = latest.get(append_iteration(str(workflow_task.get("taskReferenceName")), task.iteration))
            if found is None or not found.terminal:
                return False
        if any(not t.terminal for t in latest.values()):
            return False
        loop_ref = task.workflow_task.get("taskReferenceName")
        for body_task in latest.values():
            following = graph.next_task(task.workflow_task, remove_iteration(body_task.reference_task_name), None)
            if following is None or following.get("taskReferenceName") == loop_ref:
                continue
            if not graph.has(task.workflow_task, str(following.get("taskReferenceName"))):
                continue
            if append_iteration(str(following.get("taskReferenceName")), task.iteration) not in latest:
                return False
        return True

    @staticmethod
    def _condition(workflow: WorkflowRecord, task: TaskRecord) -> bool:
        doc = expressions.document(workflow)
        bindings = expressions.task_input(task.workflow_task.get("inputParameters"), doc, task.task_def, task.task_id)
        bindings[task.reference_task_name] = task.output_data
        for body_task in _body(task, workflow, this_iteration=False):
            bindings[remove_iteration(body_task.reference_task_name)] = body_task.output_data
        condition = task.workflow_task.get("loopCondition")
        items = _items(workflow, task)
        if items is None:
            return condition is not None and scripts.truthy(scripts.javascript(str(condition), bindings))
        index = task.iteration - 1
        bindings["loopIndex"] = index
        if 0 <= index < len(items):
            bindings["loopItem"] = items[index]
        more = index < len(items) - 1
        if condition and str(condition).strip():
            return scripts.truthy(scripts.javascript(str(condition), bindings)) and more
        return more


system_task(DoWhile())
