"""perago: Conductor task workers on lakeFS-versioned workspaces.

The public API (docs/design.md §1) is importable from here; the library's logging stays disabled until a perago
command-line tool (or the user) enables it with ``logger.enable("perago")``.
"""

from loguru import logger

from perago.attempt import assert_current_attempt_snapshot
from perago.body import (
    build_workspace_free_task_output,
    build_workspace_task_output,
    invoke_workspace_free_task,
    invoke_workspace_task_body,
)
from perago.callid import call_identity
from perago.context import TaskContext, current_task_context
from perago.errors import (
    AttemptCancelledError,
    GuardrailViolation,
    NonRetryableError,
    PeragoError,
    PostGuardrailViolation,
    PreGuardrailViolation,
    PublishConflictError,
    StaleAttemptError,
    TaskDefinitionError,
    TaskInputError,
    TaskOutputError,
    UnsafePathError,
)
from perago.execution import (
    AttemptEvent,
    CleanupStaging,
    CompleteNoOpWorkspace,
    DownloadWorkspace,
    EarlierResult,
    FindEarlierResult,
    LoadCurrentAttempt,
    PublishWorkspace,
    StageWorkspace,
    StepChain,
    TaskExecutionContext,
)
from perago.guards import (
    ChangesOnlyUnder,
    FileCount,
    ForbiddenPaths,
    MaxFileSize,
    MaxTotalSize,
    RequiredPaths,
    ValidJson,
    check_guardrails,
)
from perago.models import AttemptSnapshot, DownloadRecord, StagedWorkspace, WorkspaceInput
from perago.result import RuntimeTaskResult, completed_result, result_for_exception
from perago.runtime import attempt_metadata, run_workspace_free_task_attempt, run_workspace_task_attempt
from perago.snapshot import ATTEMPT_WORKSPACE_MARKER
from perago.spec import WorkspaceSpec
from perago.task import TaskDefinition, discover_tasks, load_module_task, task
from perago.workspace import (
    cleanup_attempt_workspace_safely,
    gc_attempt_workspaces,
    new_workspace_owner,
    prepare_attempt_workspace,
    register_active_workspace_owner,
    unregister_active_workspace_owner,
)

logger.disable("perago")

__all__ = [
    "ATTEMPT_WORKSPACE_MARKER",
    "AttemptCancelledError",
    "AttemptEvent",
    "AttemptSnapshot",
    "ChangesOnlyUnder",
    "CleanupStaging",
    "CompleteNoOpWorkspace",
    "DownloadRecord",
    "DownloadWorkspace",
    "EarlierResult",
    "FileCount",
    "FindEarlierResult",
    "ForbiddenPaths",
    "GuardrailViolation",
    "LoadCurrentAttempt",
    "MaxFileSize",
    "MaxTotalSize",
    "NonRetryableError",
    "PeragoError",
    "PostGuardrailViolation",
    "PreGuardrailViolation",
    "PublishConflictError",
    "PublishWorkspace",
    "RequiredPaths",
    "RuntimeTaskResult",
    "StageWorkspace",
    "StagedWorkspace",
    "StaleAttemptError",
    "StepChain",
    "TaskContext",
    "TaskDefinition",
    "TaskDefinitionError",
    "TaskExecutionContext",
    "TaskInputError",
    "TaskOutputError",
    "UnsafePathError",
    "ValidJson",
    "WorkspaceInput",
    "WorkspaceSpec",
    "assert_current_attempt_snapshot",
    "attempt_metadata",
    "build_workspace_free_task_output",
    "build_workspace_task_output",
    "call_identity",
    "check_guardrails",
    "cleanup_attempt_workspace_safely",
    "completed_result",
    "current_task_context",
    "discover_tasks",
    "gc_attempt_workspaces",
    "invoke_workspace_free_task",
    "invoke_workspace_task_body",
    "load_module_task",
    "new_workspace_owner",
    "prepare_attempt_workspace",
    "register_active_workspace_owner",
    "result_for_exception",
    "run_workspace_free_task_attempt",
    "run_workspace_task_attempt",
    "task",
    "unregister_active_workspace_owner",
]
