"""``/api/metadata`` routes (MetadataResource): task and workflow definitions."""

from __future__ import annotations

from perago.testing.conductor.api import OK, Request, Response, Route, ok, route
from perago.testing.conductor.engine import Engine
from perago.testing.conductor.validation import validation_error, workflow_def_violations


def _register_task_defs(engine: Engine, request: Request) -> Response:
    engine.definitions.put_task_defs(request.json_list(), engine.now_ms())
    return OK


def _update_task_def(engine: Engine, request: Request) -> Response:
    engine.definitions.update_task_def(request.json_object(required=True), engine.now_ms())
    return OK


def _delete_task_def(engine: Engine, request: Request) -> Response:
    engine.definitions.delete_task_def(request.params["name"])
    return OK


def _register_workflow_def(engine: Engine, request: Request) -> Response:
    overwrite = request.flag("overwrite", False)
    engine.definitions.create_workflow_def(request.json_object(required=True), engine.now_ms(), overwrite=overwrite)
    return OK


def _update_workflow_defs(engine: Engine, request: Request) -> Response:
    return ok(engine.definitions.update_workflow_defs(request.json_list(), engine.now_ms()))


def _validate_workflow_def(engine: Engine, request: Request) -> Response:
    violations = workflow_def_violations(request.json(), "validateWorkflowDef.workflowDef")
    if violations:
        raise validation_error(violations)
    return OK


def _get_workflow_def(engine: Engine, request: Request) -> Response:
    return ok(engine.definitions.get_workflow_def(request.params["name"], request.int_arg("version", None)))


def _delete_workflow_def(engine: Engine, request: Request) -> Response:
    engine.definitions.delete_workflow_def(request.params["name"], int(request.params["version"]))
    return OK


def _latest_versions(engine: Engine, request: Request) -> Response:
    names = engine.definitions.names_and_versions()
    return ok([engine.definitions.get_workflow_def(name) for name in names])


ROUTES: list[Route] = [
    route("POST", "/metadata/taskdefs", "register_task_defs", _register_task_defs),
    route("PUT", "/metadata/taskdefs", "update_task_def", _update_task_def),
    route("GET", "/metadata/taskdefs", "get_task_defs", lambda e, r: ok(e.definitions.all_task_defs())),
    route(
        "GET",
        "/metadata/taskdefs/{name}",
        "get_task_def",
        lambda e, r: ok(e.definitions.get_task_def(r.params["name"])),
    ),
    route("DELETE", "/metadata/taskdefs/{name}", "delete_task_def", _delete_task_def),
    route("POST", "/metadata/workflow", "register_workflow_def", _register_workflow_def),
    route("POST", "/metadata/workflow/validate", "validate_workflow_def", _validate_workflow_def),
    route("PUT", "/metadata/workflow", "update_workflow_defs", _update_workflow_defs),
    route("GET", "/metadata/workflow", "get_workflow_defs", lambda e, r: ok(e.definitions.all_workflow_defs())),
    route(
        "GET",
        "/metadata/workflow/names-and-versions",
        "workflow_names_and_versions",
        lambda e, r: ok(e.definitions.names_and_versions()),
    ),
    route("GET", "/metadata/workflow/latest-versions", "workflow_latest_versions", _latest_versions),
    route("GET", "/metadata/workflow/{name}", "get_workflow_def", _get_workflow_def),
    route("DELETE", "/metadata/workflow/{name}/{version}", "delete_workflow_def", _delete_workflow_def),
]
