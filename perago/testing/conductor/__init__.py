"""A Conductor emulator: ``ConductorEmulator`` (loopback HTTP server) and ``ManualClock``.

Example:
    >>> from perago.testing.conductor import ConductorEmulator, ManualClock
    >>> with ConductorEmulator(clock=ManualClock()) as emu:  # doctest: +SKIP
    ...     Configuration(server_api_url=emu.url)
"""

from perago.testing.conductor.clock import Clock, ManualClock, SystemClock
from perago.testing.conductor.emulator import ROUTE_NAMES, ConductorEmulator

__all__ = ["ROUTE_NAMES", "Clock", "ConductorEmulator", "ManualClock", "SystemClock"]
