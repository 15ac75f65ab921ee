"""``/api/workflow`` routes (WorkflowResource): start, read, operations, search."""

from __future__ import annotations

from perago.testing.conductor import operations, search
from perago.testing.conductor.api import NO_CONTENT, OK, Request, Response, Route, ok, route, text
from perago.testing.conductor.engine import Engine
from perago.testing.conductor.errors import not_found


def _start(engine: Engine, request: Request) -> Response:
    return text(engine.start_workflow(request.json_object(required=True)))


def _start_by_name(engine: Engine, request: Request) -> Response:
    name = request.params["name"]
    version = request.int_arg("version", None)
    if engine.definitions.find_workflow_def(name, version) is None:  # MetadataServiceImpl.getWorkflowDef
        raise not_found(f"No such workflow found by name: {name}, version: {version}")
    start = {
        "name": name,
        "version": version,
        "correlationId": request.query.get("correlationId"),
        "priority": request.int_arg("priority", 0),
        "input": request.json_object(required=True),
    }
    return text(engine.start_workflow(start))


def _execute(engine: Engine, request: Request) -> Response:
    version = int(request.params["version"]) or None
    start = {**request.json_object(required=True), "name": request.params["name"], "version": version}
    start["requestId"] = request.query.get("requestId")
    refs = [r for r in (request.query.get("waitUntilTaskRef") or "").split(",") if r]
    wait_s = request.int_arg("waitForSeconds", 10) or 10
    return ok(engine.execute(start, refs, wait_s))


def _get(engine: Engine, request: Request) -> Response:
    return ok(engine.get_workflow(request.params["id"], include_tasks=request.flag("includeTasks", True)))


def _terminate(engine: Engine, request: Request) -> Response:
    engine.terminate(request.params["id"], request.query.get("reason"))
    return OK


def _terminate_remove(engine: Engine, request: Request) -> Response:
    engine.terminate(request.params["id"], request.query.get("reason"))
    operations.remove(engine, request.params["id"], request.flag("archiveWorkflow", True))
    return OK


def _remove(engine: Engine, request: Request) -> Response:
    operations.remove(engine, request.params["id"], request.flag("archiveWorkflow", True))
    return OK


def _retry(engine: Engine, request: Request) -> Response:
    operations.retry(engine, request.params["id"], request.flag("resumeSubworkflowTasks", False))
    return NO_CONTENT


def _restart(engine: Engine, request: Request) -> Response:
    operations.restart(engine, request.params["id"], request.flag("useLatestDefinitions", False))
    return NO_CONTENT


def _rerun(engine: Engine, request: Request) -> Response:
    return text(operations.rerun(engine, request.params["id"], request.json_object()))


def _pause(engine: Engine, request: Request) -> Response:
    operations.pause(engine, request.params["id"])
    return OK


def _resume(engine: Engine, request: Request) -> Response:
    operations.resume(engine, request.params["id"])
    return OK


def _skip(engine: Engine, request: Request) -> Response:
    operations.skip_task(engine, request.params["id"], request.params["ref"], request.json_object())
    return OK


def _reset_callbacks(engine: Engine, request: Request) -> Response:
    operations.reset_callbacks(engine, request.params["id"])
    return NO_CONTENT


def _decide(engine: Engine, request: Request) -> Response:
    operations.decide(engine, request.params["id"])
    return OK


def _search(engine: Engine, request: Request) -> Response:
    start, size = request.int_arg("start", 0) or 0, request.int_arg("size", 100) or 0
    q = request.query
    return ok(search.search(engine, start, size, q.get("sort"), q.get("freeText", "*"), q.get("query")))


def _running(engine: Engine, request: Request) -> Response:
    return ok(search.running_ids(engine, request.params["name"], request.int_arg("version", None)))


def _correlated(engine: Engine, request: Request) -> Response:
    closed, tasks = request.flag("includeClosed", False), request.flag("includeTasks", False)
    return ok(search.correlated(engine, request.params["name"], request.params["correlationId"], closed, tasks))


def _correlated_many(engine: Engine, request: Request) -> Response:
    closed, tasks = request.flag("includeClosed", False), request.flag("includeTasks", False)
    ids = [str(i) for i in request.json_list()]
    return ok({i: search.correlated(engine, request.params["name"], i, closed, tasks) for i in ids})


def _tasks(engine: Engine, request: Request) -> Response:
    statuses = [s for s in request.query.get("status", "").split(",") if s]
    start, count = request.int_arg("start", 0) or 0, request.int_arg("count", 15) or 0
    return ok(search.task_page(engine, request.params["id"], start, count, statuses))


def _status(engine: Engine, request: Request) -> Response:
    output, variables = request.flag("includeOutput", False), request.flag("includeVariables", False)
    return ok(search.status_summary(engine, request.params["id"], output, variables))


ROUTES: list[Route] = [
    route("POST", "/workflow", "start_workflow", _start),
    route("GET", "/workflow/search", "search", _search),
    route("GET", "/workflow/running/{name}", "running", _running),
    route("PUT", "/workflow/decide/{id}", "decide", _decide),
    route("POST", "/workflow/execute/{name}/{version}", "execute", _execute),
    route("POST", "/workflow/{name}/correlated", "correlated_batch", _correlated_many),
    route("GET", "/workflow/{name}/correlated/{correlationId}", "correlated", _correlated),
    route("POST", "/workflow/{id}/retry", "retry", _retry),
    route("POST", "/workflow/{id}/restart", "restart", _restart),
    route("POST", "/workflow/{id}/rerun", "rerun", _rerun),
    route("POST", "/workflow/{id}/resetcallbacks", "reset_callbacks", _reset_callbacks),
    route("PUT", "/workflow/{id}/pause", "pause", _pause),
    route("PUT", "/workflow/{id}/resume", "resume", _resume),
    route("PUT", "/workflow/{id}/skiptask/{ref}", "skip_task", _skip),
    route("GET", "/workflow/{id}/tasks", "workflow_tasks", _tasks),
    route("GET", "/workflow/{id}/status", "workflow_status", _status),
    route("DELETE", "/workflow/{id}/remove", "remove", _remove),
    route("DELETE", "/workflow/{id}/terminate-remove", "terminate_remove", _terminate_remove),
    route("POST", "/workflow/{name}", "start_workflow_by_name", _start_by_name),
    route("GET", "/workflow/{id}", "get_workflow", _get),
    route("DELETE", "/workflow/{id}", "terminate", _terminate),
]
