"""A Conductor emulator: ``ConductorEmulator`` (loopback HTTP server on ``/api``), ``ManualClock``, ``Faults``.

conductor-python's task, workflow and metadata clients and its ``TaskHandler`` work against it
unchanged (``Configuration(server_api_url=emu.url)``). It follows conductor-oss's server code (the Java
class each module follows is named in its docstring):

- metadata: task definitions and versioned workflow definitions, validated like the server (400 with
  ``validationErrors``); tasks without a definition run on Conductor's ad-hoc one;
- workflows: SIMPLE/worker tasks and every common system task -- SWITCH, DECISION, FORK_JOIN,
  FORK_JOIN_DYNAMIC, JOIN, EXCLUSIVE_JOIN, DO_WHILE, DYNAMIC, SUB_WORKFLOW, START_WORKFLOW, INLINE,
  LAMBDA, JSON_JQ_TRANSFORM, SET_VARIABLE, TERMINATE, WAIT, HUMAN, HTTP (loopback only), NOOP --,
  ``${...}`` expressions with JSONPath, retry, restart, rerun, pause/resume, skip, terminate, remove,
  search, correlated workflows, failure workflows, timeouts, rate and concurrency limits, domains;
- tasks: poll / batch poll, update (v1 and update-v2), update by reference, signal, logs, lease
  extension, poll data, queue sizes;
- faults: injected per route (``inject_fault``) or at random rates with lost answers and latency
  (:class:`Faults`, the CLI's ``--fault-rate``/``--ambiguous-rate``/``--latency-ms``);
- ``/health``; optional Orkes-style auth (``auth=(key, secret)``), open like conductor-oss by default.

What it does not do, and why: ``docs/conductor-emulator.md``.

Example:
    >>> from perago.testing.conductor import ConductorEmulator, ManualClock
    >>> clock = ManualClock()
    >>> with ConductorEmulator(clock=clock) as emu:  # doctest: +SKIP
    ...     Configuration(server_api_url=emu.url)
    ...     clock.advance(31)  # fires a 30 s response timeout
"""

from perago.testing.conductor.clock import Clock, ManualClock, SystemClock
from perago.testing.conductor.emulator import ConductorEmulator
from perago.testing.conductor.routes import ROUTE_NAMES
from perago.testing.conductor.traffic import Faults

__all__ = ["ROUTE_NAMES", "Clock", "ConductorEmulator", "Faults", "ManualClock", "SystemClock"]
