"""Optional Orkes-style key/secret auth: ``POST /api/token`` issues a token for ``X-Authorization``.

Without credentials the emulator behaves like conductor-oss: ``/api/token`` is 404, which tells
conductor-python to run without authentication.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from perago.testing.conductor.errors import ApiError, not_found

_OPEN_ROUTES = frozenset({"health", "token"})


class Auth:
    """Checks ``/api/token`` credentials and the ``X-Authorization`` header of every other call."""

    def __init__(self, credentials: tuple[str, str] | None) -> None:
        self._credentials = credentials
        self._tokens: set[str] = set()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """True when the emulator was given a key and secret."""
        return self._credentials is not None

    def issue(self, body: Any) -> dict[str, str]:
        """Return ``{"token": ...}`` for the right ``keyId``/``keySecret``; 401 otherwise."""
        if self._credentials is None:
            raise not_found("POST /api/token: authentication is not enabled on this emulator")
        key_id, key_secret = self._credentials
        given = body if isinstance(body, dict) else {}
        matches = secrets.compare_digest(str(given.get("keyId", "")), key_id) and secrets.compare_digest(
            str(given.get("keySecret", "")), key_secret
        )
        if not matches:
            raise _unauthorized("INVALID_CREDENTIALS", "invalid keyId or keySecret")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        return {"token": token}

    def check(self, route: str, header: str | None) -> None:
        """Raise 401 unless auth is off, the route is open, or ``header`` is an issued token."""
        if self._credentials is None or route in _OPEN_ROUTES:
            return
        with self._lock:
            valid = header is not None and header in self._tokens
        if not valid:
            raise _unauthorized("INVALID_TOKEN", "missing or unknown X-Authorization token")

    def revoke_all(self) -> None:
        """Forget every issued token (clients then get INVALID_TOKEN and fetch a new one)."""
        with self._lock:
            self._tokens.clear()


def _unauthorized(code: str, message: str) -> ApiError:
    error = ApiError(401, message)
    error.extra = {"error": code}
    return error
