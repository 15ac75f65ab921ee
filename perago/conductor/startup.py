"""The worker's start-up checks: settings Conductor would refuse, and each served task's definition on the server.

A task type without a definition still runs on conductor-oss: ``MetadataMapperService`` substitutes an ad-hoc
``new TaskDef(name)`` (3600 s response timeout, 3 retries, 60 s apart), silently. So at start the worker reads each
served task's definition (``GET /metadata/taskdefs/{name}``), creates the missing ones from the ``@task`` settings,
and warns, field by field, about the ones that differ; with ``--register`` it puts every served definition
(``PUT``: drift compares the settings only, and the descriptions and schemas are refreshed too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loguru import logger

from perago.conductor.client import ConductorApi
from perago.conductor.registration import task_def_for
from perago.errors import ConfigurationError
from perago.settings import PeragoSettings
from perago.task import TaskDefinition

MAX_POLL_TIMEOUT_MS = 5000
"""``ExecutionService.MAX_POLL_TIMEOUT_MS``: a longer batch-poll timeout is refused with 400."""

COMPARED_FIELDS = (
    "responseTimeoutSeconds",
    "timeoutSeconds",
    "timeoutPolicy",
    "retryCount",
    "retryLogic",
    "retryDelaySeconds",
    "concurrentExecLimit",
    "inputKeys",
    "outputKeys",
)
"""The fields of a TaskDef that change how Conductor runs the task (descriptions and schemas are not compared)."""

_ZERO_IS_UNSET = frozenset({"concurrentExecLimit"})  # null and 0 both mean "no limit" (TaskDef.concurrencyLimit())


def check_poll_timeout(settings: PeragoSettings) -> None:
    """Refuse a poll timeout Conductor refuses (``ExecutionService.poll``: "cannot be more than 5 seconds").

    Raises:
        ConfigurationError: ``poll_timeout_ms`` is above 5000.
    """
    if settings.poll_timeout_ms > MAX_POLL_TIMEOUT_MS:
        raise ConfigurationError(
            f"PERAGO_POLL_TIMEOUT_MS is {settings.poll_timeout_ms}, but Conductor refuses a long-poll timeout above "
            f"{MAX_POLL_TIMEOUT_MS} ms (every poll would fail with HTTP 400); set it to {MAX_POLL_TIMEOUT_MS} or less"
        )


def _same(name: str, server: Any, wanted: Any) -> bool:
    if name in _ZERO_IS_UNSET:
        return (server or 0) == (wanted or 0)
    if isinstance(wanted, list):
        return list(server or []) == wanted
    return bool(server == wanted)


def drift(server: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """One ``"<field>: <server value> on the server, <wanted> in @task"`` line per compared field that differs."""
    return [
        f"{name}: {server.get(name)!r} on the server, {wanted.get(name)!r} in @task"
        for name in COMPARED_FIELDS
        if not _same(name, server.get(name), wanted.get(name))
    ]


def sync_task_definitions(tasks: Sequence[TaskDefinition], api: ConductorApi, *, update: bool = False) -> list[str]:
    """Create missing task definitions, warn about (or, with ``update``, fix) differing ones.

    Each action and each drift is logged (drift as a warning) and returned.

    Returns:
        One line per definition created, updated or found differing.
    """
    report: list[str] = []
    missing = []
    for definition in tasks:
        server = api.get_task_def(definition.name)
        if server is None:
            missing.append(definition)
            continue
        wanted = task_def_for(definition)
        differences = drift(server, api.to_json(wanted))
        if update:
            api.update_task_def(wanted)
            if differences:
                report.append(f"updated task definition {definition.name}: {'; '.join(differences)}")
                logger.info("{}", report[-1])
        elif differences:
            listed = "; ".join(differences)
            report.append(
                f"task definition {definition.name} on Conductor differs from its @task settings: {listed}; "
                "Conductor runs it with the server's values (start the worker with --register to update it)"
            )
            logger.warning("{}", report[-1])
    if missing:
        api.register_task_defs([task_def_for(d) for d in missing])
        report.append(f"created task definition(s) {', '.join(d.name for d in missing)} from their @task settings")
        logger.info("{}", report[-1])
    return report
