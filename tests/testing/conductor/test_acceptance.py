"""Acceptance: conductor-python's own clients and TaskHandler workers run workflows with every system task.

One emulator and one TaskHandler (worker processes for ``double``, ``shout`` and ``echo``) serve the module.
Each test names the conductor-oss classes whose behaviour it checks; definitions are plain workflow JSON,
registered through conductor-python's metadata client.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models import StartWorkflowRequest
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor

from perago.testing.conductor import ConductorEmulator
from tests.testing.conductor import handler_workers


class Stack:
    def __init__(self, emulator: ConductorEmulator) -> None:
        self.emulator = emulator
        self.configuration = Configuration(server_api_url=emulator.url)
        clients = OrkesClients(configuration=self.configuration)
        self.metadata = clients.get_metadata_client()
        self.executor = WorkflowExecutor(self.configuration)
        self._api = ApiClient(self.configuration)

    def register(self, definition: dict[str, Any]) -> None:
        model = self._api.deserialize_class({"version": 1, "schemaVersion": 2, **definition}, "WorkflowDef")
        self.metadata.register_workflow_def(model, overwrite=True)

    def run(self, name: str, workflow_input: dict[str, Any] | None = None, **request: Any) -> dict[str, Any]:
        workflow_id = self.executor.start_workflow(
            StartWorkflowRequest(name=name, input=workflow_input or {}, **request)
        )
        self.emulator.wait_for_workflow(workflow_id, timeout=30)
        return self.emulator.get_workflow(workflow_id)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    # Imported here: importing TaskHandler switches multiprocessing to "spawn" for the whole process.
    from conductor.client.automator.task_handler import TaskHandler
    from conductor.client.worker.worker import Worker

    with ConductorEmulator() as emulator:
        stack = Stack(emulator)
        workers = [
            Worker(name, function, poll_interval=10, worker_id=f"acceptance-{name}", thread_count=2)
            for name, function in (
                ("double", handler_workers.double),
                ("shout", handler_workers.shout),
                ("echo", handler_workers.echo),
            )
        ]
        handler = TaskHandler(
            workers=workers,
            configuration=stack.configuration,
            scan_for_annotated_workers=False,
            monitor_processes=False,
        )
        handler.start_processes()
        try:
            yield stack
        finally:
            handler.stop_processes()
            for process in [*handler.task_runner_processes, handler.logger_process]:
                process.join(10)


def tasks_by_ref(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["referenceTaskName"]: t for t in workflow["tasks"]}


def simple(name: str, ref: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "taskReferenceName": ref, "type": "SIMPLE", "inputParameters": inputs}


LOOP_CHILD = {
    "name": "acceptance_loop_child",
    "tasks": [
        {
            "name": "loop",
            "taskReferenceName": "loop",
            "type": "DO_WHILE",
            "inputParameters": {"rounds": "${workflow.input.rounds}"},
            "loopCondition": "$.loop['iteration'] < $.rounds",
            "loopOver": [
                {
                    "name": "parity",
                    "taskReferenceName": "parity",
                    "type": "SWITCH",
                    "evaluatorType": "javascript",
                    "expression": "$.i % 2 == 0 ? 'even' : 'odd'",
                    "inputParameters": {"i": "${loop.output.iteration}"},
                    "decisionCases": {
                        "even": [simple("double", "dbl", {"value": "${loop.output.iteration}"})],
                    },
                    "defaultCase": [
                        {
                            "name": "odd_note",
                            "taskReferenceName": "odd_note",
                            "type": "INLINE",
                            "inputParameters": {
                                "evaluatorType": "graaljs",
                                "expression": "'odd ' + $.i",
                                "i": "${loop.output.iteration}",
                            },
                        }
                    ],
                }
            ],
        }
    ],
    "outputParameters": {"iterations": "${loop.output.iteration}", "last": "${dbl.output.doubled}"},
}


def test_switch_inside_do_while_inside_sub_workflow(stack):
    """SubWorkflowTaskMapper/SubWorkflow, DoWhileTaskMapper/DoWhile, SwitchTaskMapper/Switch, Inline."""
    stack.register(LOOP_CHILD)
    stack.register(
        {
            "name": "acceptance_nested",
            "tasks": [
                simple("double", "first", {"value": "${workflow.input.start}"}),
                {
                    "name": "child",
                    "taskReferenceName": "child",
                    "type": "SUB_WORKFLOW",
                    "subWorkflowParam": {"name": "acceptance_loop_child"},
                    "inputParameters": {"rounds": "${first.output.doubled}"},
                },
            ],
            "outputParameters": {"child": "${child.output}"},
        }
    )

    parent = stack.run("acceptance_nested", {"start": 2}, correlation_id="nested-1")

    assert parent["status"] == "COMPLETED", parent["reasonForIncompletion"]
    child_task = tasks_by_ref(parent)["child"]
    assert (child_task["taskType"], child_task["status"]) == ("SUB_WORKFLOW", "COMPLETED")
    child = stack.emulator.get_workflow(child_task["subWorkflowId"])
    assert child_task["outputData"] == {"subWorkflowId": child["workflowId"], "iterations": 4, "last": 8}
    assert (child["parentWorkflowId"], child["correlationId"]) == (parent["workflowId"], "nested-1")
    assert child["input"] == {"rounds": 4}
    refs = [t["referenceTaskName"] for t in child["tasks"]]
    assert refs == [
        "loop",
        "parity__1",
        "odd_note__1",
        "parity__2",
        "dbl__2",
        "parity__3",
        "odd_note__3",
        "parity__4",
        "dbl__4",
    ]
    tasks = tasks_by_ref(child)
    assert {t["status"] for t in child["tasks"]} == {"COMPLETED"}
    assert (tasks["parity__2"]["taskType"], tasks["parity__2"]["iteration"]) == ("SWITCH", 2)
    assert tasks["parity__2"]["outputData"] == {"evaluationResult": ["even"], "selectedCase": "even"}
    assert tasks["odd_note__3"]["outputData"] == {"result": "odd 3"}
    assert tasks["dbl__4"]["outputData"] == {"doubled": 8}
    loop = tasks["loop"]["outputData"]
    assert loop["iteration"] == 4
    assert loop["1"] == {
        "parity": {"evaluationResult": ["odd"], "selectedCase": "odd"},
        "odd_note": {"result": "odd 1"},
    }
    assert loop["4"]["dbl"] == {"doubled": 8}
    assert parent["output"] == {"child": child_task["outputData"]}


def test_simple_tasks_without_definitions_register_and_run(stack):
    """MetadataMapperService.populateWorkflowTaskWithDefinition: no TaskDef registered, ad-hoc one used."""
    assert [d.name for d in stack.metadata.get_all_task_defs()] == []
    stack.register({"name": "acceptance_adhoc", "tasks": [simple("echo", "e", {"value": "${workflow.input.v}"})]})

    workflow = stack.run("acceptance_adhoc", {"v": "hi"})

    assert workflow["status"] == "COMPLETED"
    assert workflow["output"] == {"echoed": "hi"}
    task = workflow["tasks"][0]
    assert (task["taskType"], task["responseTimeoutSeconds"], task["workflowTask"]["taskDefinition"]["retryCount"]) == (
        "echo",
        3600,
        3,
    )


def test_dynamic_fork_with_fork_task_inputs_and_join(stack):
    """ForkJoinDynamicTaskMapper.getDynamicTasksSimple and Join: references _<name>_<i>, inputs get __index."""
    stack.register(
        {
            "name": "acceptance_dynamic_fork",
            "tasks": [
                {
                    "name": "fan_out",
                    "taskReferenceName": "fan_out",
                    "type": "FORK_JOIN_DYNAMIC",
                    "inputParameters": {"forkTaskName": "double", "forkTaskInputs": "${workflow.input.items}"},
                },
                {"name": "gather", "taskReferenceName": "gather", "type": "JOIN"},
            ],
        }
    )

    workflow = stack.run("acceptance_dynamic_fork", {"items": [{"value": 1}, {"value": 5}]})

    assert workflow["status"] == "COMPLETED"
    tasks = tasks_by_ref(workflow)
    assert [t["taskType"] for t in workflow["tasks"]] == ["FORK", "double", "double", "JOIN"]
    assert tasks["_double_1"]["inputData"] == {"value": 5, "__index": 1}
    assert tasks["fan_out"]["inputData"]["forkedTasks"] == ["_double_0", "_double_1"]
    assert tasks["gather"]["inputData"]["joinOn"] == ["_double_0", "_double_1"]
    assert tasks["gather"]["outputData"] == {"_double_0": {"doubled": 2}, "_double_1": {"doubled": 10}}
    assert workflow["output"] == tasks["gather"]["outputData"]


def test_dynamic_fork_with_tasks_param_and_static_fork(stack):
    """ForkJoinDynamicTaskMapper.getDynamicForkTasksAndInput, ForkJoinTaskMapper, JoinTaskMapper."""
    stack.register(
        {
            "name": "acceptance_forks",
            "tasks": [
                {
                    "name": "prepare",
                    "taskReferenceName": "prepare",
                    "type": "INLINE",
                    "inputParameters": {
                        "evaluatorType": "javascript",
                        "expression": "({tasks: [{name: 'shout', taskReferenceName: 's1'}], inputs: {s1: {text: 'a'}}})",  # noqa: E501
                    },
                },
                {
                    "name": "dyn",
                    "taskReferenceName": "dyn",
                    "type": "FORK_JOIN_DYNAMIC",
                    "dynamicForkTasksParam": "tasks",
                    "dynamicForkTasksInputParamName": "inputs",
                    "inputParameters": {
                        "tasks": "${prepare.output.result.tasks}",
                        "inputs": "${prepare.output.result.inputs}",
                    },
                },
                {"name": "dyn_join", "taskReferenceName": "dyn_join", "type": "JOIN"},
                {
                    "name": "fork",
                    "taskReferenceName": "fork",
                    "type": "FORK_JOIN",
                    "forkTasks": [
                        [
                            simple("double", "left", {"value": 3}),
                            simple("shout", "left_2", {"text": "${left.output.doubled}"}),
                        ],
                        [simple("shout", "right", {"text": "${dyn_join.output.s1.text}b"})],
                    ],
                },
                {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["left_2", "right"]},
            ],
        }
    )

    workflow = stack.run("acceptance_forks")

    assert workflow["status"] == "COMPLETED", workflow["reasonForIncompletion"]
    tasks = tasks_by_ref(workflow)
    assert tasks["dyn_join"]["outputData"] == {"s1": {"text": "A"}}
    assert tasks["join"]["outputData"] == {"left_2": {"text": "6"}, "right": {"text": "AB"}}
    assert (tasks["fork"]["taskType"], tasks["fork"]["status"]) == ("FORK", "COMPLETED")


def test_decision_dynamic_and_exclusive_join(stack):
    """DecisionTaskMapper (caseValueParam and caseExpression), DynamicTaskMapper, ExclusiveJoin."""
    stack.register(
        {
            "name": "acceptance_decision",
            "tasks": [
                {
                    "name": "route",
                    "taskReferenceName": "route",
                    "type": "DECISION",
                    "caseValueParam": "kind",
                    "inputParameters": {"kind": "${workflow.input.kind}"},
                    "decisionCases": {"loud": [simple("shout", "loud", {"text": "${workflow.input.text}"})]},
                    "defaultCase": [
                        {
                            "name": "pick",
                            "taskReferenceName": "quiet",
                            "type": "DYNAMIC",
                            "dynamicTaskNameParam": "worker",
                            "inputParameters": {"worker": "echo", "value": "${workflow.input.text}"},
                        }
                    ],
                },
                {
                    "name": "either",
                    "taskReferenceName": "either",
                    "type": "EXCLUSIVE_JOIN",
                    "joinOn": ["loud", "quiet"],
                },
            ],
        }
    )
    stack.metadata.register_task_def(_task_def("echo"))  # DynamicTaskMapper needs a registered definition

    loud = stack.run("acceptance_decision", {"kind": "loud", "text": "hey"})
    quiet = stack.run("acceptance_decision", {"kind": "other", "text": "hey"})

    assert (loud["status"], quiet["status"]) == ("COMPLETED", "COMPLETED")
    assert tasks_by_ref(loud)["route"]["outputData"] == {"caseOutput": ["loud"]}
    assert tasks_by_ref(loud)["either"]["outputData"] == {"text": "HEY"}
    quiet_tasks = tasks_by_ref(quiet)
    assert (quiet_tasks["quiet"]["taskType"], quiet_tasks["quiet"]["taskDefName"]) == ("echo", "echo")
    assert quiet_tasks["either"]["outputData"] == {"echoed": "hey"}
    stack.metadata.unregister_task_def("echo")


def _task_def(name: str) -> Any:
    from conductor.client.http.models import TaskDef

    return TaskDef(name=name, response_timeout_seconds=60)


def test_script_tasks_variables_and_terminate(stack):
    """Inline, Lambda, JsonJqTransform, SetVariable, Noop, Terminate and WorkflowExecutorOps.endExecution."""
    stack.register(
        {
            "name": "acceptance_scripts",
            "tasks": [
                {
                    "name": "sum",
                    "taskReferenceName": "sum",
                    "type": "INLINE",
                    "inputParameters": {
                        "evaluatorType": "javascript",
                        "expression": "$.xs.reduce((a, b) => a + b, 0)",
                        "xs": "${workflow.input.xs}",
                    },
                },
                {
                    "name": "legacy",
                    "taskReferenceName": "legacy",
                    "type": "LAMBDA",
                    "inputParameters": {"scriptExpression": "return {twice: $.n * 2};", "n": "${sum.output.result}"},
                },
                {
                    "name": "shape",
                    "taskReferenceName": "shape",
                    "type": "JSON_JQ_TRANSFORM",
                    "inputParameters": {"queryExpression": ".xs | map(. * 10)", "xs": "${workflow.input.xs}"},
                },
                {
                    "name": "remember",
                    "taskReferenceName": "remember",
                    "type": "SET_VARIABLE",
                    "inputParameters": {"total": "${sum.output.result}"},
                },
                {"name": "nothing", "taskReferenceName": "nothing", "type": "NOOP"},
                {
                    "name": "stop",
                    "taskReferenceName": "stop",
                    "type": "TERMINATE",
                    "inputParameters": {
                        "terminationStatus": "COMPLETED",
                        "workflowOutput": {"total": "${workflow.variables.total}", "tens": "${shape.output.result}"},
                    },
                },
                simple("double", "never", {"value": 1}),
            ],
        }
    )

    workflow = stack.run("acceptance_scripts", {"xs": [1, 2, 3]})

    assert workflow["status"] == "COMPLETED"
    assert (
        workflow["reasonForIncompletion"]
        == f"Workflow is COMPLETED by TERMINATE task: {tasks_by_ref(workflow)['stop']['taskId']}"
    )
    tasks = tasks_by_ref(workflow)
    assert tasks["sum"]["outputData"] == {"result": 6}
    assert tasks["legacy"]["outputData"] == {"result": {"twice": 12}}
    assert tasks["shape"]["outputData"] == {"result": [10, 20, 30], "resultList": [[10, 20, 30]]}
    assert workflow["variables"] == {"total": 6}
    assert [t["taskType"] for t in workflow["tasks"]] == [
        "INLINE",
        "LAMBDA",
        "JSON_JQ_TRANSFORM",
        "SET_VARIABLE",
        "NOOP",
        "TERMINATE",
    ]
    assert workflow["output"] == {"total": 6, "tens": [10, 20, 30]}


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        payload = json.dumps({"got": body, "path": self.path}).encode()
        self.send_response(201 if self.path == "/created" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_http_task_calls_loopback_and_fails_on_4xx(stack):
    """HttpTask.start/httpCall (response statusCode, body, headers); RestTemplate errors fail the task."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    stack.register(
        {
            "name": "acceptance_http",
            "tasks": [
                {
                    "name": "call",
                    "taskReferenceName": "call",
                    "type": "HTTP",
                    "inputParameters": {
                        "http_request": {"uri": "${workflow.input.uri}", "method": "POST", "body": {"n": 1}}
                    },
                }
            ],
        }
    )
    try:
        ok = stack.run("acceptance_http", {"uri": f"{base}/created"})
        bad = stack.run("acceptance_http", {"uri": f"{base}/missing"})
        remote = stack.run("acceptance_http", {"uri": "http://example.com/"})
    finally:
        server.shutdown()
        server.server_close()

    assert ok["status"] == "COMPLETED"
    response = ok["tasks"][0]["outputData"]["response"]
    assert (response["statusCode"], response["reasonPhrase"]) == (201, "Created")
    assert response["body"] == {"got": {"n": 1}, "path": "/created"}
    assert response["headers"]["Content-Type"] == ["application/json"]
    assert bad["status"] == "FAILED"
    assert bad["tasks"][0]["reasonForIncompletion"].startswith(
        "Failed to invoke HTTP task due to: java.lang.Exception: 404"
    )
    assert "only calls loopback addresses" in remote["tasks"][0]["reasonForIncompletion"]


def test_start_workflow_and_failure_workflow(stack):
    """StartWorkflow (fire and forget) and WorkflowExecutorOps.terminateWorkflow starting failureWorkflow."""
    stack.register(
        {"name": "acceptance_cleanup", "tasks": [simple("echo", "note", {"value": "${workflow.input.reason}"})]}
    )
    stack.register(
        {
            "name": "acceptance_failing",
            "failureWorkflow": "acceptance_cleanup",
            "tasks": [
                {
                    "name": "spawn",
                    "taskReferenceName": "spawn",
                    "type": "START_WORKFLOW",
                    "inputParameters": {
                        "startWorkflow": {"name": "acceptance_cleanup", "input": {"reason": "spawned"}}
                    },
                },
                {
                    "name": "stop",
                    "taskReferenceName": "stop",
                    "type": "TERMINATE",
                    "inputParameters": {"terminationStatus": "FAILED", "terminationReason": "bad input"},
                },
            ],
        }
    )

    failed = stack.run("acceptance_failing", {"k": 1}, correlation_id="c-9")

    assert (failed["status"], failed["reasonForIncompletion"]) == ("FAILED", "bad input")
    spawned = stack.emulator.wait_for_workflow(tasks_by_ref(failed)["spawn"]["outputData"]["workflowId"], 30)
    assert (spawned["status"], spawned["output"], spawned["correlationId"]) == (
        "COMPLETED",
        {"echoed": "spawned"},
        "c-9",
    )
    cleanup = stack.emulator.wait_for_workflow(failed["output"]["conductor.failure_workflow"], 30)
    assert cleanup["input"]["workflowId"] == failed["workflowId"]
    assert (cleanup["input"]["reason"], cleanup["input"]["failureStatus"], cleanup["input"]["k"]) == (
        "bad input",
        "FAILED",
        1,
    )
    assert cleanup["output"] == {"echoed": "bad input"}
