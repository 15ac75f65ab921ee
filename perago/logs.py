"""Logging setup for perago's command-line tools.

The library itself stays silent (``logger.disable("perago")`` in ``perago/__init__.py``) until a CLI calls
:func:`configure_logging`. Every attempt's lines carry ``task``, ``task_id``, ``workflow_id`` and
``execution_id`` in their ``extra``.
"""

from __future__ import annotations

import sys

from loguru import logger

_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <7}</level> <cyan>{extra[task]}</cyan> {message}"
)


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    """Enable perago's logs on stderr, as text or one JSON object a line (``json=True``)."""
    logger.remove()
    logger.configure(extra={"task": "-"})
    if json:
        logger.add(sys.stderr, level=level.upper(), serialize=True)
    else:
        logger.add(sys.stderr, level=level.upper(), format=_FORMAT)
    logger.enable("perago")
