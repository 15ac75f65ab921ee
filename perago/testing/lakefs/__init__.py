"""A lakeFS emulator for tests and the embedded demo (``LakeFSEmulator``)."""

from perago.testing.lakefs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, LakeFSEmulator
from perago.testing.lakefs.server import OPERATION_IDS

__all__ = ["DEFAULT_ACCESS_KEY_ID", "DEFAULT_SECRET_ACCESS_KEY", "OPERATION_IDS", "LakeFSEmulator"]
