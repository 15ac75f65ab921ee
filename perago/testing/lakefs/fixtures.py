"""pytest fixtures: ``lakefs_emulator`` (memory blockstore, presign on) and ``s3_lakefs_emulator`` (S3 on moto)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from perago.testing.lakefs.emulator import LakeFSEmulator


@pytest.fixture
def lakefs_emulator() -> Iterator[LakeFSEmulator]:
    """A started lakeFS emulator on a free loopback port."""
    with LakeFSEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def moto_s3_endpoint() -> Iterator[str]:
    """A moto S3 server on loopback for the whole session (a real S3 HTTP endpoint)."""
    from moto.server import ThreadedMotoServer

    server: Any = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server._server.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_lakefs_emulator(moto_s3_endpoint: str) -> Iterator[LakeFSEmulator]:
    """A lakeFS emulator whose blockstore is S3 (moto), a new bucket per test; presigned URLs point at S3."""
    bucket = f"lakefs-{uuid.uuid4().hex[:12]}"
    with LakeFSEmulator(blockstore="s3", s3_endpoint=moto_s3_endpoint, s3_bucket=bucket) as emulator:
        yield emulator
