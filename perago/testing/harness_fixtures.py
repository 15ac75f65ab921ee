"""pytest fixtures for testing your own tasks: ``lakefs_repository`` (a fresh emulated lakeFS repository)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from perago.testing.harness_repo import LakeFSRepository


@pytest.fixture
def lakefs_repository() -> Iterator[LakeFSRepository]:
    """A lakeFS emulator with one empty repository ``test-repo`` (default branch ``main``)."""
    from perago.testing.lakefs import LakeFSEmulator

    with LakeFSEmulator() as emulator:
        emulator.create_repository("test-repo", default_branch="main")
        yield LakeFSRepository(
            name="test-repo",
            endpoint=emulator.endpoint.rstrip("/").removesuffix("/api/v1"),
            access_key_id=emulator.access_key_id,
            secret_access_key=emulator.secret_access_key,
        )
