"""Every task type the emulator runs: the mappers and system tasks of the ``tasks_*`` family modules.

Importing this module registers them all. Task types that conductor-oss has but the emulator does not
run (EVENT, KAFKA_PUBLISH, the AI/agent tasks ...) are refused when a workflow starts, instead of
silently becoming worker tasks nobody polls.
"""

from __future__ import annotations

from perago.testing.conductor import (  # noqa: F401 - imported for their registrations
    tasks_branch,
    tasks_fork,
    tasks_http,
    tasks_loop,
    tasks_script,
    tasks_wait,
    tasks_worker,
    tasks_workflow,
)
from perago.testing.conductor.systask import MAPPERS, SYSTEM_TASKS, Mapper, SystemTask, is_system

UNSUPPORTED = frozenset(
    {
        "EVENT",
        "KAFKA_PUBLISH",
        "PULL_WORKFLOW_MESSAGES",
        "AGENT",
        "GET_AGENT_CARD",
        "CANCEL_AGENT",
        "LIST_MCP_TOOLS",
        "CALL_MCP_TOOL",
        "LLM_TEXT_COMPLETE",
        "LLM_CHAT_COMPLETE",
        "LLM_INDEX_TEXT",
        "LLM_SEARCH_INDEX",
        "LLM_GENERATE_EMBEDDINGS",
        "LLM_STORE_EMBEDDINGS",
        "LLM_GET_EMBEDDINGS",
    }
)


def mapper(task_type: str) -> Mapper:
    """The mapper of a workflow task type (UserDefinedTaskMapper for worker types)."""
    return MAPPERS.get(task_type, tasks_worker.map_user_defined)


def system_task(task_type: str) -> SystemTask:
    """The system task implementation of a task instance type."""
    return SYSTEM_TASKS[task_type]


def is_sync_system(task_type: str) -> bool:
    """A synchronous system task: the decider runs it inline (a rerun starts it at once)."""
    return is_system(task_type) and not system_task(task_type).is_async
