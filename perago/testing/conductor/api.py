"""The request and response types the route modules share, and how a route is declared."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from perago.testing.conductor.errors import invalid

if TYPE_CHECKING:
    from perago.testing.conductor.engine import Engine


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

    def json_object(self, *, required: bool = False) -> dict[str, Any]:
        """The body as a JSON object (400 otherwise; an empty body is {} unless ``required``)."""
        value = self.json()
        if value is None and not required:
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

    def text(self) -> str:
        """The body as text; a JSON-encoded string is decoded (conductor-python sends log lines that way)."""
        text = self.body.decode("utf-8")
        try:
            decoded = json.loads(text)
        except ValueError:
            return text
        return decoded if isinstance(decoded, str) else text


@dataclass
class Response:
    """What a route returns: a status and a JSON value, a text body, or nothing."""

    status: int = 200
    json_body: Any = None
    text: str | None = None


Handler = Callable[["Engine", Request], Response]
Route = tuple[str, re.Pattern[str], str, Handler]
NO_CONTENT = Response(204)
OK = Response(200)
_SEGMENT = "(?P<{}>[^/]+)"


def ok(value: Any) -> Response:
    """200 with a JSON body."""
    return Response(200, json_body=value)


def text(value: str | None) -> Response:
    """200 with a ``text/plain`` body (Conductor answers ids that way)."""
    return Response(200, text=value or "")


def route(method: str, template: str, name: str, handler: Handler) -> Route:
    """Declare a route: ``{param}`` segments match one path segment."""
    pattern = re.sub(r"\{(\w+)\}", lambda m: _SEGMENT.format(m.group(1)), template)
    return method, re.compile(f"^{pattern}$"), name, handler
