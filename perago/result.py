"""Attempt results and the mapping from exceptions to Conductor task statuses (DESIGN §4).

| exception | status |
|---|---|
| ``TaskInputError``, pydantic ``ValidationError`` (input, params, output), ``TaskOutputError`` | terminal |
| ``GuardrailViolation`` (pre and post), any ``PeragoError`` with ``retryable = False`` | terminal |
| ``NonRetryableError`` raised by task code, or a type listed in the task's ``non_retryable`` | terminal |
| transient lakeFS/Conductor errors, stale or cancelled attempts, other user exceptions | ``FAILED`` |

"terminal" is ``FAILED_WITH_TERMINAL_ERROR``: Conductor does not retry it. ``FAILED`` lets its retry policy apply.
"""

from __future__ import annotations

import re
import traceback as tb
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from perago.errors import PeragoError

if TYPE_CHECKING:
    from perago.execution import AttemptEvent

TaskStatus = Literal["COMPLETED", "FAILED", "FAILED_WITH_TERMINAL_ERROR", "IN_PROGRESS"]
CUT_MARK = "…[truncated]"
TRACEBACK_MAX_LENGTH = 8000
"""The longest traceback kept (its end: the innermost frames and the exception itself)."""
REDACTED = "***"

_PATTERNS = [
    # Authorization / X-Authorization / Proxy-Authorization headers: keep the header name, drop the value.
    re.compile(r"(?i)((?:proxy-|x-)?authorization['\"]?\s*[:=]\s*['\"]?)(?:(?:basic|bearer|token)\s+)?[^\s'\",}]+"),
    # key=value / "key": "value" pairs whose key looks secret.
    re.compile(
        r"(?i)((?:password|passwd|secret(?:_access_key)?|token|api[_-]?key|access[_-]?key[_-]?id|auth[_-]?secret)"
        r"['\"]?\s*[:=]\s*['\"]?)[^\s'\",}&]+"
    ),
    # userinfo in URLs: scheme://user:password@host
    re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+(?=@)"),
]
_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA|AKIAJ)[A-Z0-9]{12,}\b")


@dataclass(frozen=True)
class RuntimeTaskResult:
    """What one attempt reports to Conductor.

    Attributes:
        status: ``COMPLETED``, ``FAILED`` or ``FAILED_WITH_TERMINAL_ERROR``.
        output_data: The task output (DESIGN wire shapes).
        reason_for_incompletion: ``"<ErrorType>: <message>"``, bounded and redacted; None when completed.
        logs: Short log lines for Conductor's task log (the phase transitions, and a failure's traceback).
        error_type: The exception type name when the attempt failed (e.g. ``StaleAttemptError``).
        events: The attempt's phase transitions with their times.
        traceback: A failure's traceback, secrets redacted and bounded (None when completed).
        exception: The exception a failed attempt raised (kept in-process, never sent anywhere).
        callback_after_seconds: For ``IN_PROGRESS`` (an attempt handed back): when Conductor should deliver it again.
    """

    status: TaskStatus
    output_data: Mapping[str, Any] = field(default_factory=dict)
    reason_for_incompletion: str | None = None
    logs: tuple[str, ...] = ()
    error_type: str | None = None
    events: tuple[AttemptEvent, ...] = ()
    traceback: str | None = None
    exception: BaseException | None = field(default=None, compare=False, repr=False)
    callback_after_seconds: int = 0

    @property
    def is_terminal_failure(self) -> bool:
        """True when Conductor must not retry."""
        return self.status == "FAILED_WITH_TERMINAL_ERROR"

    @property
    def is_stale(self) -> bool:
        """True when the attempt failed because it was no longer current (fenced or cancelled)."""
        return self.error_type in ("StaleAttemptError", "AttemptCancelledError")


def completed_result(output_data: Mapping[str, Any], logs: Iterable[str] = ()) -> RuntimeTaskResult:
    """A COMPLETED result with the given output."""
    return RuntimeTaskResult(status="COMPLETED", output_data=dict(output_data), logs=tuple(logs))


def format_traceback(exc: BaseException, secrets: Iterable[str] = (), max_length: int = TRACEBACK_MAX_LENGTH) -> str:
    """The exception's traceback, secrets redacted, keeping its last ``max_length`` characters."""
    try:
        text = redact("".join(tb.format_exception(exc)).rstrip(), secrets)
    except Exception:
        return f"<no traceback for {type(exc).__name__}>"
    return text if len(text) <= max_length else CUT_MARK + text[len(text) - max_length + len(CUT_MARK) :]


def failed_result(
    exc: BaseException,
    max_length: int,
    *,
    secrets: Iterable[str] = (),
    non_retryable: tuple[type[BaseException], ...] = (),
) -> RuntimeTaskResult:
    """:func:`result_for_exception` with the redacted traceback and the exception itself attached; never raises."""
    secrets = tuple(secrets)
    result = result_for_exception(exc, max_length, secrets=secrets, non_retryable=non_retryable)
    return replace(result, traceback=format_traceback(exc, secrets), exception=exc)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace given secrets and credential-looking values in ``text`` with ``***``.

    Given secrets shorter than 4 characters are ignored (replacing them would mangle ordinary words and still
    reveal nothing), longer ones are replaced longest first.
    """
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return _ACCESS_KEY.sub(REDACTED, text)


def truncate(text: str, max_length: int) -> str:
    """Cut ``text`` to at most ``max_length`` characters, marking the cut inside the limit."""
    if max_length <= 0:
        return ""
    if len(text) <= max_length:
        return text
    if max_length <= len(CUT_MARK):
        return CUT_MARK[:max_length]
    return text[: max_length - len(CUT_MARK)] + CUT_MARK


def is_terminal(exc: BaseException, non_retryable: tuple[type[BaseException], ...] = ()) -> bool:
    """Whether ``exc`` must fail the task terminally (see the module table)."""
    if isinstance(exc, ValidationError):
        return True
    if isinstance(exc, PeragoError):
        return not exc.retryable
    return bool(non_retryable) and isinstance(exc, non_retryable)


def _message(exc: BaseException) -> str:
    """The exception's message; for pydantic, each error as ``location: message (input: value)``, no URLs."""
    if isinstance(exc, ValidationError):
        errors = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']} (input: {e['input']!r})"
            for e in exc.errors(include_url=False)
        )
        message = f"{exc.error_count()} validation error(s) for {exc.title}: {errors}"
    else:
        message = str(exc)
    notes = getattr(exc, "__notes__", None) or []
    return " — ".join([message, *map(str, notes)]) if message else " — ".join(map(str, notes))


def failure_reason(exc: BaseException, max_length: int, secrets: Iterable[str] = ()) -> str:
    """``"<ErrorType>: <message>"``, redacted, then bounded to ``max_length``.

    A pydantic ``ValidationError`` lists each error as ``location: message (input: value)``; notes added to an
    exception (``add_note``, e.g. which task's params failed) follow the message.
    """
    try:
        message = _message(exc)
    except Exception:
        message = f"<unprintable {type(exc).__name__}>"
    secrets = tuple(secrets)
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    # Redact before and after folding whitespace: a secret containing a newline must not survive as "a b".
    return truncate(redact(" ".join(redact(text, secrets).split()), secrets), max_length)


def result_for_exception(
    exc: BaseException,
    max_length: int,
    *,
    secrets: Iterable[str] = (),
    non_retryable: tuple[type[BaseException], ...] = (),
    output_data: Mapping[str, Any] | None = None,
) -> RuntimeTaskResult:
    """Map an exception to a failed result; never raises.

    Args:
        exc: What went wrong.
        max_length: The reason is never longer than this many characters.
        secrets: Values to redact besides the built-in credential patterns.
        non_retryable: Exception types that fail terminally (the task's own list).
        output_data: Optional output to attach (e.g. the error type for Conductor's UI).

    Returns:
        ``FAILED_WITH_TERMINAL_ERROR`` or ``FAILED`` with a bounded, redacted reason.
    """
    try:
        status: TaskStatus = "FAILED_WITH_TERMINAL_ERROR" if is_terminal(exc, non_retryable) else "FAILED"
        reason = failure_reason(exc, max_length, secrets)
        data = dict(output_data or {"error": {"type": type(exc).__name__, "retryable": status == "FAILED"}})
        return RuntimeTaskResult(
            status=status, output_data=data, reason_for_incompletion=reason, error_type=type(exc).__name__
        )
    except Exception:  # pragma: no cover - last resort: this function must never raise
        return RuntimeTaskResult(status="FAILED", reason_for_incompletion=truncate("InternalError", max_length))
