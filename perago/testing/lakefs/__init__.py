"""A lakeFS emulator for tests, soaks and the embedded demo (``LakeFSEmulator``, docs/lakefs-emulator.md)."""

from perago.testing.lakefs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, LakeFSEmulator
from perago.testing.lakefs.faults import FaultOptions
from perago.testing.lakefs.server import OPERATION_IDS

__all__ = ["DEFAULT_ACCESS_KEY_ID", "DEFAULT_SECRET_ACCESS_KEY", "OPERATION_IDS", "FaultOptions", "LakeFSEmulator"]
