"""The ``/api`` routes of the emulator: each maps a parsed request onto the engine.

Route names (used by ``ConductorEmulator.request_count`` and ``inject_fault``) are the names in
``ROUTES``: ``health`` (also served at ``/health``), ``token``, ``poll``, ``batch_poll``, ``update``,
``update_v2``, ``get_task``, ``add_log``, ``get_logs``, ``queue_sizes``, ``start_workflow``,
``start_workflow_by_name``, ``get_workflow``, ``terminate``, ``register_task_defs``,
``update_task_def``, ``get_task_def``, ``get_task_defs``, ``delete_task_def``,
``register_workflow_def``, ``update_workflow_defs``, ``get_workflow_def``, ``get_workflow_defs``,
``delete_workflow_def``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perago.testing.conductor.engine import Engine
from perago.testing.conductor.errors import invalid, not_found


@dataclass
class Request:
    """A parsed HTTP request."""

    params: dict[str, str]
    query: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (400 when it is not)."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise invalid(f"request body is not valid JSON: {exc}") from exc

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object (400 otherwise)."""
        value = self.json()
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise invalid("request body must be a JSON object")
        return value

    def json_list(self) -> list[Any]:
        """The body as a JSON array (400 otherwise)."""
        value = self.json()
        if not isinstance(value, list):
            raise invalid("request body must be a JSON array")
        return value

    def int_arg(self, name: str, default: int | None) -> int | None:
        """An integer query parameter (400 when malformed)."""
        raw = self.query.get(name)
        if raw in (None, ""):
            return default
        try:
            return int(str(raw))
        except ValueError as exc:
            raise invalid(f"query parameter {name} must be an integer, got {raw!r}") from exc

    def flag(self, name: str, default: bool) -> bool:
        """A boolean query parameter."""
        raw = self.query.get(name)
        return default if raw is None else raw.lower() == "true"


@dataclass
class Response:
    """What a route returns: a status and a JSON value, a text body, or nothing."""

    status: int = 200
    json_body: Any = None
    text: str | None = None


Handler = Callable[[Engine, Request], Response]
NO_CONTENT = Response(204)
OK = Response(200)


def _ok(value: Any) -> Response:
    return Response(200, json_body=value)


def _poll(engine: Engine, request: Request) -> Response:
    # Conductor's single poll is a batch poll of one with a 100 ms long poll
    tasks = engine.poll(request.params["type"], request.query.get("workerid"), request.query.get("domain"), 1, 100)
    return _ok(tasks[0]) if tasks else NO_CONTENT


def _batch_poll(engine: Engine, request: Request) -> Response:
    count = request.int_arg("count", 1) or 1
    timeout = request.int_arg("timeout", 100) or 0
    return _ok(
        engine.poll(request.params["type"], request.query.get("workerid"), request.query.get("domain"), count, timeout)
    )


def _update(engine: Engine, request: Request) -> Response:
    return Response(200, text=engine.update(request.json_object()).task_id)


def _update_v2(engine: Engine, request: Request) -> Response:
    task = engine.update_v2(request.json_object())
    return NO_CONTENT if task is None else _ok(task)


def _add_log(engine: Engine, request: Request) -> Response:
    text = request.body.decode("utf-8")
    try:  # conductor-python sends the log line JSON-encoded
        decoded = json.loads(text)
        text = decoded if isinstance(decoded, str) else text
    except ValueError:
        pass
    engine.add_log(request.params["id"], text)
    return OK


def _get_logs(engine: Engine, request: Request) -> Response:
    # TaskResource.getTaskLogs: 204 No Content when the task has no log entry.
    logs = engine.logs(request.params["id"])
    return _ok(logs) if logs else NO_CONTENT


def _queue_sizes(engine: Engine, request: Request) -> Response:
    types = [t for t in request.query.get("taskType", "").split(",") if t]
    return _ok(engine.queue_sizes(types))


def _start(engine: Engine, request: Request) -> Response:
    return Response(200, text=engine.start_workflow(request.json_object()))


def _start_by_name(engine: Engine, request: Request) -> Response:
    start = {
        "name": request.params["name"],
        "version": request.int_arg("version", None),
        "correlationId": request.query.get("correlationId"),
        "priority": request.int_arg("priority", 0),
        "input": request.json_object(),
    }
    return Response(200, text=engine.start_workflow(start))


def _get_workflow(engine: Engine, request: Request) -> Response:
    include = request.flag("includeTasks", True)
    return _ok(engine.get_workflow(request.params["id"], include_tasks=include))


def _terminate(engine: Engine, request: Request) -> Response:
    engine.terminate(request.params["id"], request.query.get("reason"))
    return OK


def _register_task_defs(engine: Engine, request: Request) -> Response:
    engine.definitions.put_task_defs(request.json_list(), engine.now_ms())
    return OK


def _update_task_def(engine: Engine, request: Request) -> Response:
    engine.definitions.put_task_defs([request.json_object()], engine.now_ms())
    return OK


def _register_workflow_def(engine: Engine, request: Request) -> Response:
    overwrite = request.flag("overwrite", False)
    engine.definitions.put_workflow_defs([request.json_object()], engine.now_ms(), overwrite=overwrite)
    return OK


def _update_workflow_defs(engine: Engine, request: Request) -> Response:
    engine.definitions.put_workflow_defs(request.json_list(), engine.now_ms(), overwrite=True)
    return OK


def _get_workflow_def(engine: Engine, request: Request) -> Response:
    version = request.int_arg("version", None)
    return _ok(engine.definitions.get_workflow_def(request.params["name"], version))


def _delete_workflow_def(engine: Engine, request: Request) -> Response:
    engine.definitions.delete_workflow_def(request.params["name"], int(request.params["version"]))
    return OK


def _delete_task_def(engine: Engine, request: Request) -> Response:
    engine.definitions.delete_task_def(request.params["name"])
    return OK


_SEGMENT = "(?P<{}>[^/]+)"


def _route(method: str, template: str, name: str, handler: Handler) -> tuple[str, re.Pattern[str], str, Handler]:
    pattern = re.sub(r"\{(\w+)\}", lambda m: _SEGMENT.format(m.group(1)), template)
    return method, re.compile(f"^{pattern}$"), name, handler


_HEALTHY = {"healthResults": [], "suppressedHealthResults": [], "healthy": True}


def _no_auth(engine: Engine, request: Request) -> Response:
    # conductor-oss has no /token: conductor-python then runs unauthenticated. With credentials the
    # server answers this route itself (see perago.testing.conductor.auth).
    raise not_found("POST /api/token: authentication is not enabled on this emulator")


# Order matters: literal paths before the ``{id}`` catch-alls.
ROUTES: list[tuple[str, re.Pattern[str], str, Handler]] = [
    _route("GET", "/health", "health", lambda e, r: _ok(_HEALTHY)),
    _route("POST", "/token", "token", _no_auth),
    _route("GET", "/tasks/poll/batch/{type}", "batch_poll", _batch_poll),
    _route("GET", "/tasks/poll/{type}", "poll", _poll),
    _route("POST", "/tasks", "update", _update),
    _route("POST", "/tasks/update-v2", "update_v2", _update_v2),
    _route("GET", "/tasks/queue/sizes", "queue_sizes", _queue_sizes),
    _route("POST", "/tasks/{id}/log", "add_log", _add_log),
    _route("GET", "/tasks/{id}/log", "get_logs", _get_logs),
    _route("GET", "/tasks/{id}", "get_task", lambda e, r: _ok(e.get_task(r.params["id"]))),
    _route("POST", "/workflow", "start_workflow", _start),
    _route("POST", "/workflow/{name}", "start_workflow_by_name", _start_by_name),
    _route("GET", "/workflow/{id}", "get_workflow", _get_workflow),
    _route("DELETE", "/workflow/{id}", "terminate", _terminate),
    _route("POST", "/metadata/taskdefs", "register_task_defs", _register_task_defs),
    _route("PUT", "/metadata/taskdefs", "update_task_def", _update_task_def),
    _route("GET", "/metadata/taskdefs", "get_task_defs", lambda e, r: _ok(e.definitions.all_task_defs())),
    _route(
        "GET",
        "/metadata/taskdefs/{name}",
        "get_task_def",
        lambda e, r: _ok(e.definitions.get_task_def(r.params["name"])),
    ),
    _route("DELETE", "/metadata/taskdefs/{name}", "delete_task_def", _delete_task_def),
    _route("POST", "/metadata/workflow", "register_workflow_def", _register_workflow_def),
    _route("PUT", "/metadata/workflow", "update_workflow_defs", _update_workflow_defs),
    _route("GET", "/metadata/workflow", "get_workflow_defs", lambda e, r: _ok(e.definitions.all_workflow_defs())),
    _route("GET", "/metadata/workflow/{name}", "get_workflow_def", _get_workflow_def),
    _route("DELETE", "/metadata/workflow/{name}/{version}", "delete_workflow_def", _delete_workflow_def),
]


def match(method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None:
    """Find the route for ``method`` and ``path`` (relative to ``/api``)."""
    for route_method, pattern, name, handler in ROUTES:
        if route_method != method:
            continue
        found = pattern.match(path)
        if found is not None:
            return name, handler, found.groupdict()
    return None
