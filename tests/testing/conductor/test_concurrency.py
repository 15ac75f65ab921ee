"""Many workers at once: every task is delivered exactly once and every workflow completes."""

from __future__ import annotations

import threading
from collections import Counter

from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api.task_resource_api import TaskResourceApi
from conductor.client.http.models import TaskResult
from conductor.client.orkes_clients import OrkesClients

WORKFLOWS = 200


def _worker(url: str, name: str, seen: Counter, lock: threading.Lock, done: threading.Event) -> None:
    api: TaskResourceApi = (
        OrkesClients(configuration=Configuration(server_api_url=url)).get_task_client().taskResourceApi
    )
    while not done.is_set():
        task = None
        for task in api.batch_poll("noop", workerid=name, count=4, timeout=50) or []:
            while task is not None:
                with lock:
                    seen[task.task_id] += 1
                result = TaskResult(
                    workflow_instance_id=task.workflow_instance_id,
                    task_id=task.task_id,
                    status="COMPLETED",
                    worker_id=name,
                    output_data={"by": name},
                )
                task = api.update_task_v2(result)


def test_parallel_workers_deliver_each_task_once(conductor):
    conductor.chain("wf", "noop", "noop")
    workflow_ids = [conductor.start("wf", {"value": n}) for n in range(WORKFLOWS)]
    seen: Counter = Counter()
    lock, done = threading.Lock(), threading.Event()
    workers = [
        threading.Thread(target=_worker, args=(conductor.emulator.url, f"w{i}", seen, lock, done)) for i in range(4)
    ]
    for worker in workers:
        worker.start()
    try:
        finished = False
        for _ in range(200):
            statuses = {conductor.emulator.get_workflow(wid)["status"] for wid in workflow_ids}
            if statuses == {"COMPLETED"}:
                finished = True
                break
            done.wait(0.05)
    finally:
        done.set()
        for worker in workers:
            worker.join(10)

    assert finished
    assert len(seen) == 2 * WORKFLOWS
    assert set(seen.values()) == {1}  # no task handed to two workers
    assert all(conductor.emulator.get_workflow(wid)["output"]["by"].startswith("w") for wid in workflow_ids)
