"""conductor-python's own TaskHandler (multiprocess worker) completes workflows against the emulator."""

from __future__ import annotations

from conductor.client.http.models import WorkflowTask

from tests.testing.conductor import handler_workers


def test_task_handler_worker_completes_workflows(conductor):
    # Imported here: importing TaskHandler switches multiprocessing to "spawn" for the whole process.
    from conductor.client.automator.task_handler import TaskHandler
    from conductor.client.worker.worker import Worker

    conductor.task_def("double", response_timeout_seconds=30)
    conductor.workflow_def(
        "doubling",
        [
            WorkflowTask(
                name="double",
                task_reference_name="d1",
                type="SIMPLE",
                input_parameters={"value": "${workflow.input.value}"},
            ),
            WorkflowTask(
                name="double",
                task_reference_name="d2",
                type="SIMPLE",
                input_parameters={"value": "${d1.output.doubled}"},
            ),
        ],
        output={"result": "${d2.output.doubled}"},
    )
    worker = Worker("double", handler_workers.double, poll_interval=10, worker_id="handler-test", thread_count=2)
    handler = TaskHandler(
        workers=[worker],
        configuration=conductor.configuration,
        scan_for_annotated_workers=False,
        monitor_processes=False,
    )
    handler.start_processes()
    try:
        workflow_ids = [conductor.start("doubling", {"value": n}) for n in (1, 2, 3)]
        statuses = {wid: conductor.emulator.wait_for_workflow(wid, timeout=30)["status"] for wid in workflow_ids}
    finally:
        handler.stop_processes()
        processes = [*handler.task_runner_processes, handler.logger_process]
        for process in processes:
            process.join(10)

    assert not any(process.is_alive() for process in processes)  # stopped cleanly, nothing left behind

    assert statuses == dict.fromkeys(workflow_ids, "COMPLETED")
    for n, workflow_id in zip((1, 2, 3), workflow_ids, strict=True):
        workflow = conductor.workflow(workflow_id)
        assert workflow.output == {"result": n * 4}
        assert {t.worker_id for t in workflow.tasks} == {"handler-test"}
    assert conductor.emulator.request_count("update_v2") >= 6
