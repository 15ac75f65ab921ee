"""``/api/tasks`` routes (TaskResource): polling, results, logs, queues, signals."""

from __future__ import annotations

from perago.testing.conductor import polling
from perago.testing.conductor.api import NO_CONTENT, OK, Request, Response, Route, ok, route, text
from perago.testing.conductor.engine import Engine
from perago.testing.conductor.errors import invalid, not_found
from perago.testing.conductor.updates import RESULT_STATUSES


def _poll(engine: Engine, request: Request) -> Response:
    # ExecutionService.getLastPollTask: a batch poll of one with a 100 ms long poll; 204 when empty
    tasks = engine.poll(request.params["type"], request.query.get("workerid"), request.query.get("domain"), 1, 100)
    return ok(tasks[0]) if tasks else NO_CONTENT


def _batch_poll(engine: Engine, request: Request) -> Response:
    # TaskResource.batchPoll answers 200 [] when nothing is there (v3.21.20+)
    count = request.int_arg("count", 1) or 1
    timeout = request.int_arg("timeout", 100) or 0
    worker, domain = request.query.get("workerid"), request.query.get("domain")
    return ok(engine.poll(request.params["type"], worker, domain, count, timeout))


def _update(engine: Engine, request: Request) -> Response:
    result = request.json_object(required=True)
    engine.update(result)
    return text(str(result.get("taskId") or ""))


def _update_v2(engine: Engine, request: Request) -> Response:
    task = engine.update_v2(request.json_object(required=True))
    return NO_CONTENT if task is None else ok(task)


def _status(raw: str) -> str:
    if raw not in RESULT_STATUSES:
        raise invalid(f"status {raw!r} is not a TaskResult status; use one of {sorted(RESULT_STATUSES)}")
    return raw


def _apply_update_by_ref(engine: Engine, request: Request) -> str | None:
    params = request.params
    return engine.update_by_ref(
        params["workflowId"],
        params["ref"],
        _status(params["status"]),
        request.query.get("workerid"),
        request.json_object(),
    )


def _update_by_ref(engine: Engine, request: Request) -> Response:
    return text(_apply_update_by_ref(engine, request))


def _update_by_ref_sync(engine: Engine, request: Request) -> Response:
    params = request.params
    if _apply_update_by_ref(engine, request) is None:
        raise not_found(f"Found no running task {params['ref']} of workflow {params['workflowId']} to update")
    return ok(engine.get_workflow(params["workflowId"]))


def _signal(engine: Engine, request: Request) -> Response:
    engine.signal(request.params["workflowId"], _status(request.params["status"]), request.json_object())
    return OK


def _signal_sync(engine: Engine, request: Request) -> Response:
    workflow_id = request.params["workflowId"]
    if engine.signal(workflow_id, _status(request.params["status"]), request.json_object()) is None:
        raise not_found(f"Found no blocked task in workflow {workflow_id} to signal")
    return ok(engine.get_workflow(workflow_id))


def _add_log(engine: Engine, request: Request) -> Response:
    if not request.body:
        raise invalid("Required request body is missing")
    engine.add_log(request.params["id"], request.text())
    return OK


def _get_logs(engine: Engine, request: Request) -> Response:
    logs = engine.logs(request.params["id"])
    return ok(logs) if logs else NO_CONTENT  # TaskResource.getTaskLogs: 204 when there is none


def _queue_sizes(engine: Engine, request: Request) -> Response:
    return ok(engine.queue_sizes([t for t in request.query.get("taskType", "").split(",") if t]))


def _queue_size(engine: Engine, request: Request) -> Response:
    task_type = request.query.get("taskType") or ""
    with engine.lock:
        return ok(engine.store.queue_size(task_type, request.query.get("domain") or None))


def _poll_data(engine: Engine, request: Request) -> Response:
    with engine.lock:
        return ok(polling.poll_data(engine.executor, request.query.get("taskType") or ""))


def _all_poll_data(engine: Engine, request: Request) -> Response:
    with engine.lock:
        return ok(polling.poll_data(engine.executor, None))


ROUTES: list[Route] = [
    route("GET", "/tasks/poll/batch/{type}", "batch_poll", _batch_poll),
    route("GET", "/tasks/poll/{type}", "poll", _poll),
    route("POST", "/tasks", "update", _update),
    route("POST", "/tasks/update-v2", "update_v2", _update_v2),
    route("GET", "/tasks/queue/sizes", "queue_sizes", _queue_sizes),
    route("GET", "/tasks/queue/size", "queue_size", _queue_size),
    route("GET", "/tasks/queue/polldata", "poll_data", _poll_data),
    route("GET", "/tasks/queue/polldata/all", "poll_data_all", _all_poll_data),
    route("POST", "/tasks/{workflowId}/{status}/signal", "signal", _signal),
    route("POST", "/tasks/{workflowId}/{status}/signal/sync", "signal_sync", _signal_sync),
    route("POST", "/tasks/{workflowId}/{ref}/{status}/sync", "update_by_ref_sync", _update_by_ref_sync),
    route("POST", "/tasks/{workflowId}/{ref}/{status}", "update_by_ref", _update_by_ref),
    route("POST", "/tasks/{id}/log", "add_log", _add_log),
    route("GET", "/tasks/{id}/log", "get_logs", _get_logs),
    route("GET", "/tasks/{id}", "get_task", lambda e, r: ok(e.get_task(r.params["id"]))),
]
