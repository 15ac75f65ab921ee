"""pytest fixtures: ``lakefs_emulator`` (memory blockstore, presign on) and ``s3_lakefs_emulator`` (S3 on moto).

Both take emulator options through indirect parametrization, faults and latency included::

    @pytest.mark.parametrize("lakefs_emulator", [{"faults": FaultOptions(fault_rate=0.1, seed=7)}], indirect=True)
    def test_survives_faults(lakefs_emulator): ...
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from perago.testing.lakefs.emulator import LakeFSEmulator


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options = getattr(request, "param", None) or {}
    if not isinstance(options, dict):
        raise TypeError(f"lakeFS emulator fixture parameters must be a dict of LakeFSEmulator options, got {options!r}")
    return options


@pytest.fixture
def lakefs_emulator(request: pytest.FixtureRequest) -> Iterator[LakeFSEmulator]:
    """A started lakeFS emulator on a free loopback port."""
    with LakeFSEmulator(**_options(request)) as emulator:
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
def s3_lakefs_emulator(request: pytest.FixtureRequest, moto_s3_endpoint: str) -> Iterator[LakeFSEmulator]:
    """A lakeFS emulator whose blockstore is S3 (moto), a new bucket per test; presigned URLs point at S3."""
    bucket = f"lakefs-{uuid.uuid4().hex[:12]}"
    options = {"blockstore": "s3", "s3_endpoint": moto_s3_endpoint, "s3_bucket": bucket, **_options(request)}
    with LakeFSEmulator(**options) as emulator:
        yield emulator
