"""The emulator's HTTP errors, rendered like Conductor's ``ErrorResponse``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error that the HTTP layer turns into ``{"status", "message", "instance", "retryable"}``."""

    def __init__(self, status: int, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retryable = retryable
        self.extra: dict[str, Any] = {}

    def body(self) -> dict[str, Any]:
        """Return the JSON error body Conductor sends (``ApiException.body`` in conductor-python)."""
        return {
            "status": self.status,
            "message": self.message,
            "instance": "perago-conductor-emulator",
            "retryable": self.retryable,
            **self.extra,
        }


def not_found(message: str) -> ApiError:
    """Return a 404 error."""
    return ApiError(404, message)


def invalid(message: str) -> ApiError:
    """Return a 400 error (Conductor's INVALID_INPUT)."""
    return ApiError(400, message)
