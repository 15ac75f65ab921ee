"""The perago error hierarchy: one root, families per concern.

Every message says what failed, where (task, path, branch) and what to do. Adapters translate third-party
exceptions into these (``raise ... from exc``) so that no lakeFS or Conductor exception type reaches task code
or a failure reason.
"""

from __future__ import annotations


class PeragoError(Exception):
    """Root of every error perago raises.

    Attributes:
        retryable: Whether Conductor's retry policy may help. ``result_for_exception`` maps a non-retryable
            error to ``FAILED_WITH_TERMINAL_ERROR`` and a retryable one to ``FAILED``.
    """

    retryable: bool = True


class NonRetryableError(PeragoError):
    """Raise this (or a subclass) from task code to say "a retry cannot help": the task fails terminally."""

    retryable = False


class TaskDefinitionError(PeragoError):
    """A task is declared wrongly (missing annotations, wrong models, duplicate names, bad module)."""

    retryable = False


class TaskInputError(PeragoError):
    """The task input does not have the shape the task expects (terminal)."""

    retryable = False


class TaskOutputError(PeragoError):
    """The task function returned something that does not validate against its output model (terminal)."""

    retryable = False


class GuardrailViolation(PeragoError):
    """One or more guardrail checks failed (terminal).

    Attributes:
        phase: ``"pre"`` or ``"post"``.
        failures: One human-readable line per failed check, offending paths included (bounded).
    """

    retryable = False
    phase: str = "unknown"

    def __init__(self, failures: list[str], phase: str | None = None) -> None:
        self.phase = phase or self.phase
        self.failures = list(failures)
        listed = "; ".join(self.failures)
        super().__init__(f"{len(self.failures)} {self.phase} guardrail check(s) failed: {listed}")


class PreGuardrailViolation(GuardrailViolation):
    """A guardrail checked before the task body failed."""

    phase = "pre"


class PostGuardrailViolation(GuardrailViolation):
    """A guardrail checked after the task body failed."""

    phase = "post"


class StaleAttemptError(PeragoError):
    """This attempt is no longer the current one for its task: it must not publish (retryable).

    Raised by the attempt fence, and when the worker has signalled that the attempt went stale.
    """

    retryable = True


class AttemptCancelledError(StaleAttemptError):
    """The attempt's cancellation flag was set (lease lost, task re-delivered, worker shutting down)."""


class WorkspaceError(PeragoError):
    """A local attempt workspace could not be prepared, read or cleaned."""


class UnsafePathError(WorkspaceError):
    """An object path or symlink would land outside the attempt directory (terminal, nothing was written)."""

    retryable = False


class LakeFSError(PeragoError):
    """A lakeFS call failed; ``retryable`` tells whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool = True, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class PublishConflictError(LakeFSError):
    """Merging the staging branch into the target branch conflicted.

    Attributes:
        paths: The conflicting paths when lakeFS could tell them (may be empty).
    """

    def __init__(self, message: str, *, paths: list[str], retryable: bool) -> None:
        super().__init__(message, retryable=retryable, status=409)
        self.paths = list(paths)


class ConductorError(PeragoError):
    """A Conductor call failed; ``retryable`` tells whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool = True, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class ConfigurationError(PeragoError):
    """Settings are missing or invalid."""

    retryable = False
