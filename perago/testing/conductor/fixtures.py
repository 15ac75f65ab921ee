"""pytest fixtures: ``conductor_emulator`` (real clock) and ``conductor_emulator_manual`` (ManualClock)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from perago.testing.conductor.clock import ManualClock
from perago.testing.conductor.emulator import ConductorEmulator


@pytest.fixture
def conductor_emulator() -> Iterator[ConductorEmulator]:
    """A started emulator on a free loopback port, on real time (timeouts swept every ~100 ms)."""
    with ConductorEmulator() as emulator:
        yield emulator


class ManualConductorEmulator(ConductorEmulator):
    """A ConductorEmulator whose :attr:`clock` is a :class:`ManualClock` tests advance."""

    clock: ManualClock

    def __init__(self, host: str = "127.0.0.1", port: int = 0, clock: ManualClock | None = None) -> None:
        super().__init__(host, port, clock if clock is not None else ManualClock())


@pytest.fixture
def conductor_emulator_manual() -> Iterator[ManualConductorEmulator]:
    """A started emulator on a ManualClock (``.clock.advance(seconds)`` fires timers)."""
    with ManualConductorEmulator() as emulator:
        yield emulator
