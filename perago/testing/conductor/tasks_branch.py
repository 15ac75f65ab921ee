"""Branching: SWITCH (SwitchTaskMapper, Switch) and the legacy DECISION (DecisionTaskMapper, Decision).

The case is evaluated when the task is scheduled: SWITCH with its ``evaluatorType`` (``value-param``:
the input parameter named by ``expression``; ``javascript``/``graaljs``: the script with ``$`` bound to
the input), DECISION with ``caseExpression`` (JavaScript) or ``caseValueParam``. The result, printed as
Java would (``true``, ``2``, ``null``), selects ``decisionCases[result]`` or the ``defaultCase``; its first
task is scheduled together with the switch, which completes on its first execution. SWITCH output:
``{"evaluationResult": [r], "selectedCase": r}``; DECISION output ``{"caseOutput": [r]}``. A SWITCH
whose expression fails is FAILED with the error as reason; a DECISION script error fails the workflow.
"""

from __future__ import annotations

from typing import Any

from perago.testing.conductor import scripts
from perago.testing.conductor.expressions import java_str
from perago.testing.conductor.model import TaskRecord, WorkflowRecord
from perago.testing.conductor.scripts import ScriptError
from perago.testing.conductor.systask import (
    MapContext,
    Runtime,
    SystemTask,
    TerminateWorkflow,
    fail_task,
    mapper,
    system_task,
)


def _with_case(context: MapContext, task: TaskRecord, cases: list[dict[str, Any]] | None) -> list[TaskRecord]:
    scheduled = [task]
    if cases:
        scheduled += context.runtime.tasks_to_schedule(
            context.workflow, cases[0], context.retry_count, context.retried_task_id
        )
        task.input_data["hasChildren"] = "true"
    return scheduled


@mapper("SWITCH")
def map_switch(context: MapContext) -> list[TaskRecord]:
    """SwitchTaskMapper."""
    workflow_task = context.workflow_task
    evaluator = workflow_task.get("evaluatorType")
    if evaluator not in scripts.EVALUATORS:
        raise TerminateWorkflow(f"No evaluator registered for type: {evaluator}")
    task = context.start_now(context.create_task("SWITCH", "IN_PROGRESS"))
    task.task_def_name = "SWITCH"
    task.input_data = dict(context.task_input)
    try:
        result = java_str(scripts.evaluate(evaluator, str(workflow_task.get("expression")), context.task_input))
    except ScriptError as exc:
        fail_task(task, str(exc))
        return [task]
    task.input_data["case"] = result
    task.output_data = {"evaluationResult": [result], "selectedCase": result}
    cases = (workflow_task.get("decisionCases") or {}).get(result)
    return _with_case(context, task, cases if cases is not None else workflow_task.get("defaultCase"))


@mapper("DECISION")
def map_decision(context: MapContext) -> list[TaskRecord]:
    """DecisionTaskMapper (deprecated in Conductor, still used by many definitions)."""
    workflow_task = context.workflow_task
    expression = workflow_task.get("caseExpression")
    if expression and str(expression).strip():
        try:
            value = scripts.javascript(str(expression), context.task_input)
        except ScriptError as exc:
            raise TerminateWorkflow(f"Error while evaluating script: {expression}") from exc
        case = "null" if value is None else java_str(value)
    else:
        case = java_str(context.task_input.get(str(workflow_task.get("caseValueParam"))))
    task = context.start_now(context.create_task("DECISION", "IN_PROGRESS"))
    task.task_def_name = "DECISION"
    task.input_data = {"case": case}
    task.output_data = {"caseOutput": [case]}
    cases = (workflow_task.get("decisionCases") or {}).get(case)
    return _with_case(context, task, cases or workflow_task.get("defaultCase"))


class _Branch(SystemTask):
    """Switch / Decision: complete on the first execution (the case was chosen when mapping)."""

    def __init__(self, task_type: str) -> None:
        self.task_type = task_type

    def execute(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> bool:
        task.status = "COMPLETED"
        return True


system_task(_Branch("SWITCH"))
system_task(_Branch("DECISION"))
