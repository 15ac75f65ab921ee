"""Run the example workers in-process and register their task definitions (via ``perago.conductor``)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence

from loguru import logger

from perago.settings import PeragoSettings
from perago.task import TaskDefinition


def enable_logs(level: str = "INFO") -> None:
    """Show perago's own log lines (the library is silent by default) on stderr, compactly."""
    logger.remove()
    logger.add(sys.stderr, level=level, format="<dim>{time:HH:mm:ss.SSS} {level: <7} {message}</dim>")
    logger.enable("perago")
    logger.disable("perago.testing")


def register_tasks(tasks: Sequence[TaskDefinition], settings: PeragoSettings) -> None:
    """Register (create or update) the Conductor task definitions of ``tasks``."""
    from perago.conductor.registration import register_task_definitions

    register_task_definitions(list(tasks), settings)


@contextlib.contextmanager
def start_workers(tasks: Sequence[TaskDefinition], settings: PeragoSettings) -> Iterator[object]:
    """A started worker polling for every task in ``tasks``; stopped (drained) on exit."""
    from perago.conductor import Worker

    worker = Worker(list(tasks), settings)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
