"""pytest plugin (entry point ``perago``): fixtures for the emulators and the task harness.

Each subsystem adds its fixtures by importing them here.
"""

from perago.testing.conductor.fixtures import conductor_emulator, conductor_emulator_manual  # noqa: F401
from perago.testing.harness_fixtures import lakefs_repository  # noqa: F401
from perago.testing.lakefs.fixtures import lakefs_emulator, moto_s3_endpoint, s3_lakefs_emulator  # noqa: F401
