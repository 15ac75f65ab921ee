"""Every ``/api`` route of the emulator and how a request finds its route.

Route names (for ``ConductorEmulator.request_count``, ``inject_fault`` and the CLI's ``--fault-route``)
are in ``ROUTE_NAMES``. Order matters: literal paths come before the ``{id}`` catch-alls, as Spring
prefers the more specific mapping.
"""

from __future__ import annotations

from perago.testing.conductor import routes_metadata, routes_tasks, routes_workflow
from perago.testing.conductor.api import Handler, Request, Response, Route, ok, route
from perago.testing.conductor.engine import Engine
from perago.testing.conductor.errors import not_found

_HEALTHY = {"healthResults": [], "suppressedHealthResults": [], "healthy": True}


def _no_auth(engine: Engine, request: Request) -> Response:
    # conductor-oss has no /token: conductor-python then runs unauthenticated. With credentials the
    # server answers this route itself (see perago.testing.conductor.auth).
    raise not_found("POST /api/token: authentication is not enabled on this emulator")


ROUTES: list[Route] = [
    route("GET", "/health", "health", lambda e, r: ok(_HEALTHY)),
    route("POST", "/token", "token", _no_auth),
    *routes_tasks.ROUTES,
    *routes_workflow.ROUTES,
    *routes_metadata.ROUTES,
]
ROUTE_NAMES = frozenset(name for _, _, name, _ in ROUTES)
UPDATE_ROUTES = frozenset({"update", "update_v2", "update_by_ref", "update_by_ref_sync", "signal", "signal_sync"})


def match(method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None:
    """Find the route for ``method`` and ``path`` (relative to ``/api``)."""
    for route_method, pattern, name, handler in ROUTES:
        if route_method != method:
            continue
        found = pattern.match(path)
        if found is not None:
            return name, handler, found.groupdict()
    return None
