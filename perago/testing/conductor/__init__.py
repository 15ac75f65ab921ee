"""A Conductor emulator: ``ConductorEmulator`` (loopback HTTP server on ``/api``) and ``ManualClock``.

conductor-python's task, workflow and metadata clients and its ``TaskHandler`` work against it
unchanged (``Configuration(server_api_url=emu.url)``). It follows conductor-oss's server code:

- metadata: task definitions (``/metadata/taskdefs``) and versioned workflow definitions
  (``/metadata/workflow``); a workflow snapshots its SIMPLE tasks' TaskDefs when it starts, and a
  start fails with 400 when one has no definition (registered or inline);
- workflows: start by name or StartWorkflowRequest (``text/plain`` id), get (with tasks), terminate;
  SIMPLE tasks in sequence, FORK_JOIN + JOIN, optional tasks, ``${...}`` input/output expressions;
- tasks: poll / batch poll (long poll, at most 5 s), update (v1 and the Orkes-style update-v2 that
  returns the next task or 204), logs, ``extendLease``, IN_PROGRESS + ``callbackAfterSeconds``
  re-queueing the same taskId, updates to finished tasks or workflows ignored with 200;
- time: response, total (per ``timeoutPolicy``), poll and workflow timeouts; retries with a new
  taskId after FIXED / EXPONENTIAL_BACKOFF / LINEAR_BACKOFF delays;
- ``/health``; optional Orkes-style auth (``auth=(key, secret)``: ``POST /api/token`` then an
  ``X-Authorization`` header), open like conductor-oss by default.

Test helpers: ``sweep()``, ``get_workflow()``, ``get_task()``, ``wait_for_workflow()``,
``request_count(route)``, ``inject_fault(route, status, times)`` (route names: ``ROUTE_NAMES``).

Deliberate differences: ``GET /api/tasks/{id}`` for an unknown id answers 404 with Conductor's error
body (conductor-oss answers 204); only SIMPLE, FORK_JOIN and JOIN task types run (others are
rejected at start with 400); nothing is persisted.

Example:
    >>> from perago.testing.conductor import ConductorEmulator, ManualClock
    >>> clock = ManualClock()
    >>> with ConductorEmulator(clock=clock) as emu:  # doctest: +SKIP
    ...     Configuration(server_api_url=emu.url)
    ...     clock.advance(31)  # fires a 30 s response timeout
"""

from perago.testing.conductor.clock import Clock, ManualClock, SystemClock
from perago.testing.conductor.emulator import ROUTE_NAMES, ConductorEmulator

__all__ = ["ROUTE_NAMES", "Clock", "ConductorEmulator", "ManualClock", "SystemClock"]
