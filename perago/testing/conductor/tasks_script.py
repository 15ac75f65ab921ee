"""Inline computation: INLINE, legacy LAMBDA, JSON_JQ_TRANSFORM, SET_VARIABLE, TERMINATE and NOOP.

These run inside the evaluation that schedules them (synchronous system tasks):

- Inline: ``evaluatorType`` (default ``javascript``) evaluates ``expression`` with ``$`` = the task input;
  output ``{"result": value}``. A script error is FAILED_WITH_TERMINAL_ERROR (Conductor raises
  TerminateWorkflowException), a time-out FAILED; both put the message in ``output.error``.
- Lambda: ``scriptExpression`` is a function body (``return ...``); errors are FAILED.
- JsonJqTransform: jq ``queryExpression`` over the whole input; output ``{"result": first, "resultList": all}``.
- SetVariable: the input's keys become ``workflow.variables`` (256 KB at most).
- Terminate: COMPLETED with output ``workflowOutput``; the decider then ends the workflow with
  ``terminationStatus`` (COMPLETED, FAILED or TERMINATED) and ``terminationReason``.
"""

from __future__ import annotations

import json

from perago.testing.conductor import scripts
from perago.testing.conductor.model import TaskRecord, WorkflowRecord
from perago.testing.conductor.scripts import ScriptError
from perago.testing.conductor.systask import MapContext, Runtime, SystemTask, fail_task, mapper, system_task

MAX_VARIABLES_BYTES = 256 * 1024  # conductor.app.maxWorkflowVariablesPayloadSizeThreshold


@mapper("INLINE", "LAMBDA", "JSON_JQ_TRANSFORM")
def map_with_template(context: MapContext) -> list[TaskRecord]:
    """InlineTaskMapper, LambdaTaskMapper, JsonJQTransformTaskMapper: input with the inputTemplate."""
    task = context.start_now(context.create_task(status="IN_PROGRESS"))
    task.input_data = context.resolved_input()
    return [task]


@mapper("SET_VARIABLE")
def map_set_variable(context: MapContext) -> list[TaskRecord]:
    """SetVariableTaskMapper."""
    task = context.start_now(context.create_task(status="IN_PROGRESS"))
    task.input_data = dict(context.task_input)
    return [task]


@mapper("TERMINATE")
def map_terminate(context: MapContext) -> list[TaskRecord]:
    """TerminateTaskMapper."""
    task = context.start_now(context.create_task("TERMINATE", "IN_PROGRESS"))
    task.input_data = context.resolved_input(template=False)
    return [task]


@mapper("NOOP")
def map_noop(context: MapContext) -> list[TaskRecord]:
    """NoopTaskMapper (no input)."""
    return [context.start_now(context.create_task("NOOP", "IN_PROGRESS"))]


def _fail(task: TaskRecord, status: str, message: str) -> bool:
    task.output_data["error"] = message
    return fail_task(task, message, status)


class Inline(SystemTask):
    """Inline.execute."""

    task_type = "INLINE"

    def execute(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> bool:
        evaluator = task.input_data.get("evaluatorType", "javascript")
        expression = task.input_data.get("expression")
        if not isinstance(evaluator, str) or not evaluator.strip():
            message = (
                "Empty 'evaluatorType' in INLINE task's input parameters. A non-empty String value must be provided."
            )
            return _fail(task, "FAILED_WITH_TERMINAL_ERROR", message)
        if evaluator not in scripts.EVALUATORS:
            return _fail(task, "FAILED_WITH_TERMINAL_ERROR", f"Unknown evaluator '{evaluator}' in INLINE task.")
        if not isinstance(expression, str) or not expression.strip():
            message = "Empty 'expression' in Inline task's input parameters. A non-empty String value must be provided."
            return _fail(task, "FAILED_WITH_TERMINAL_ERROR", message)
        try:
            task.output_data["result"] = scripts.evaluate(evaluator, expression, task.input_data)
        except ScriptError as exc:
            timed_out = "not evaluated within" in str(exc)
            return _fail(task, "FAILED" if timed_out else "FAILED_WITH_TERMINAL_ERROR", str(exc))
        task.status = "COMPLETED"
        return True


class Lambda(SystemTask):
    """Lambda.execute (deprecated; INLINE replaced it)."""

    task_type = "LAMBDA"

    def execute(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> bool:
        expression = task.input_data.get("scriptExpression")
        if not isinstance(expression, str) or not expression.strip():
            message = "Empty 'scriptExpression' in Lambda task's input parameters."
            return fail_task(task, f"{message} A non-empty String value must be provided.")
        try:
            value = scripts.javascript(f"function scriptFun(){{{expression}}} scriptFun();", task.input_data)
        except ScriptError as exc:
            return _fail(task, "FAILED", str(exc))
        task.output_data["result"] = value
        task.status = "COMPLETED"
        return True


class JsonJqTransform(SystemTask):
    """JsonJqTransform.start/execute."""

    task_type = "JSON_JQ_TRANSFORM"

    def start(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> None:
        query = task.input_data.get("queryExpression")
        if query is None:
            fail_task(task, "Missing 'queryExpression' in input parameters")
            return
        try:
            results = scripts.jq_transform(str(query), task.input_data)
        except ScriptError as exc:
            _fail(task, "FAILED", str(exc))
            return
        task.status = "COMPLETED"
        task.output_data["result"] = results[0] if results else None
        task.output_data["resultList"] = results

    def execute(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> bool:
        self.start(runtime, workflow, task)
        return True


class SetVariable(SystemTask):
    """SetVariable.execute."""

    task_type = "SET_VARIABLE"

    def execute(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> bool:
        merged = {**workflow.variables, **task.input_data}
        size = len(json.dumps(merged, default=str).encode())
        if size > MAX_VARIABLES_BYTES:
            reason = (
                f"The variables payload size: {size} of workflow: {workflow.workflow_id} is greater than the "
                f"permissible limit: {MAX_VARIABLES_BYTES // 1024} kilobytes"
            )
            return fail_task(task, reason, "FAILED_WITH_TERMINAL_ERROR")
        workflow.variables.update(task.input_data)
        task.status = "COMPLETED"
        return True


class Terminate(SystemTask):
    """Terminate.execute."""

    task_type = "TERMINATE"

    def execute(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> bool:
        if task.input_data.get("terminationStatus") not in ("COMPLETED", "FAILED", "TERMINATED"):
            fail_task(task, "given termination status is not valid")
            return False
        output = task.input_data.get("workflowOutput")
        if output is not None:
            task.output_data = dict(output) if isinstance(output, dict) else {"output": output}
        task.status = "COMPLETED"
        return True


class Noop(SystemTask):
    """Noop.execute."""

    task_type = "NOOP"

    def execute(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> bool:
        task.status = "COMPLETED"
        return True


for _task in (Inline(), Lambda(), JsonJqTransform(), SetVariable(), Terminate(), Noop()):
    system_task(_task)
