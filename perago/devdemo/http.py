"""Tiny JSON-over-HTTP helpers for the demo (stdlib only: the demo talks to both servers' REST APIs)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

from perago.errors import PeragoError


class DemoHTTPError(PeragoError):
    """A demo call to Conductor or lakeFS failed."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def basic_auth(user: str, password: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def call_json(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout_s: float = 30
) -> Any:
    """Send ``body`` as JSON (``bytes`` as they are) and decode the JSON (or text) response.

    Errors name the URL and status.
    """
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        kind = "application/octet-stream" if isinstance(body, bytes) else "application/json"
        request.add_header("Content-Type", kind)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            raw = response.read().decode()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise DemoHTTPError(f"{method} {url} failed: HTTP {exc.code} {detail}", exc.code) from exc
    except OSError as exc:
        raise DemoHTTPError(f"{method} {url} failed: {exc}; is the server running?") from exc
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw
