"""Every test gets its own empty content cache (``PERAGO_CACHE_DIR``), never the user's ``~/.cache/perago``.

A cache shared between tests would let one test's downloads answer another's (request counts, injected faults);
session-scoped fixtures and the subprocesses they start get one directory for the session.

``warnings_logged``: perago's warnings while a test runs, for any test that asserts on them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from loguru import logger


@pytest.fixture(scope="session", autouse=True)
def _session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    previous = os.environ.get("PERAGO_CACHE_DIR")
    os.environ["PERAGO_CACHE_DIR"] = str(tmp_path_factory.mktemp("perago-cache-session"))
    yield
    if previous is None:
        os.environ.pop("PERAGO_CACHE_DIR", None)
    else:
        os.environ["PERAGO_CACHE_DIR"] = previous


@pytest.fixture(autouse=True)
def _test_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERAGO_CACHE_DIR", str(tmp_path_factory.mktemp("perago-cache")))


@pytest.fixture
def warnings_logged() -> Iterator[list[str]]:
    """perago's WARNING-and-above log lines while the test runs."""
    lines: list[str] = []
    logger.enable("perago")
    sink = logger.add(lambda m: lines.append(m.record["message"]), level="WARNING")
    try:
        yield lines
    finally:
        logger.remove(sink)
        logger.disable("perago")
