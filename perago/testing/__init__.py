"""Test tools: emulators of lakeFS and Conductor, a task harness, and pytest fixtures (plugin ``perago``).

```python
from perago.testing import TaskEnvironment, LakeFSEmulator, ConductorEmulator
```
"""

from perago.testing.conductor import ConductorEmulator, ManualClock
from perago.testing.harness import LakeFSRepository, TaskEnvironment, TaskRun
from perago.testing.lakefs import LakeFSEmulator

__all__ = ["ConductorEmulator", "LakeFSEmulator", "LakeFSRepository", "ManualClock", "TaskEnvironment", "TaskRun"]
