"""Every test gets its own empty content cache (``PERAGO_CACHE_DIR``), never the user's ``~/.cache/perago``.

A cache shared between tests would let one test's downloads answer another's (request counts, injected faults);
session-scoped fixtures and the subprocesses they start get one directory for the session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


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
