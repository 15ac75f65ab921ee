"""pytest fixtures: ``lakefs_emulator`` (memory blockstore, presign on)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from perago.testing.lakefs.emulator import LakeFSEmulator


@pytest.fixture
def lakefs_emulator() -> Iterator[LakeFSEmulator]:
    """A started lakeFS emulator on a free loopback port."""
    with LakeFSEmulator() as emulator:
        yield emulator
