"""Attempt events to Conductor's task log as they happen, off the hot path, each sent once.

A worker killed mid-attempt never sends its final update, so the events must not wait for it; but a request per
event would cost more than a short attempt itself. So an attempt's ``on_event`` only appends the event's line
(:func:`perago.eventlog.event_line`) to a pending batch, and a background sender, ticking every ``linger_s / 2``,
posts a batch once it is ``linger_s`` old, one ``POST /api/tasks/{id}/log`` per line (conductor-python escapes
newlines in that body, so each entry stays one line). When the attempt ends, the runtime's result takes whatever is
still pending into the final update as one entry (the server keeps at most ``conductor.app.taskExecLogSizeLimit`` =
10 entries of a ``TaskResult``, ``ExecutionDAOFacade.addTaskExecLog``): a short attempt costs no extra request, a
long one a request per event older than ``linger_s``, and a SIGKILL loses at most the last ``1.5 * linger_s`` of
events. An attempt whose result is never reported (stale, or abandoned on shutdown) sends what is pending at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from loguru import logger

from perago.errors import PeragoError
from perago.eventlog import event_line
from perago.execution import AttemptEvent, OnEvent
from perago.result import RuntimeTaskResult

DEFAULT_LINGER_S = 0.5
"""How long an event may wait to share a request (or the final update) with the attempt's next events."""

IDLE_EXIT_S = 30.0
"""The sender thread ends after this long with nothing pending (the next event starts another)."""

Key = tuple[str, str]
"""``(task id, execution id)``: one delivery's pending events."""


@dataclass
class _Batch:
    due: float
    lines: list[str] = field(default_factory=list)


class EventStream:
    """Batches attempt events per delivery and posts them from a background thread (see the module docstring)."""

    def __init__(
        self,
        post: Callable[[str, str], None],
        worker_id: str,
        *,
        linger_s: float = DEFAULT_LINGER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._post = post
        self.worker_id = worker_id
        self.linger_s = linger_s
        self._clock = clock
        self._cond = threading.Condition()
        self._pending: dict[Key, _Batch] = {}
        self._sender: threading.Thread | None = None
        self._idle_since = clock()

    def listener(self, task_id: str, execution_id: str) -> OnEvent:
        """The runtime's ``on_event`` for one delivery: appends the event's line to its batch (no I/O)."""
        key = (task_id, execution_id)

        def on_event(event: AttemptEvent) -> None:
            line = event_line(event, execution_id, self.worker_id)
            with self._cond:
                batch = self._pending.get(key)
                if batch is None:
                    self._pending[key] = _Batch(self._clock() + self.linger_s, [line])
                    self._wake_sender()
                else:
                    batch.lines.append(line)

        return on_event

    def take(self, task_id: str, execution_id: str) -> list[str]:
        """The delivery's lines not sent yet, removed from the stream (they travel with the final update)."""
        with self._cond:
            batch = self._pending.pop((task_id, execution_id), None)
        return batch.lines if batch is not None else []

    def settle(self, task_id: str, execution_id: str, result: RuntimeTaskResult, reported: bool) -> RuntimeTaskResult:
        """``result`` with the task log its final update carries: the lines not sent yet, as one entry.

        For a result that will not be reported (``reported`` False), those lines are sent now instead.
        """
        lines = self.take(task_id, execution_id)
        if not reported:
            self._send(task_id, lines)
            return result
        return replace(result, logs=("\n".join(lines),) if lines else (), events=())

    def _wake_sender(self) -> None:
        """Start the sender thread if none runs (caller holds the lock).

        The sender ticks every ``linger_s / 2`` instead of being woken per event: an attempt's events cost no
        thread switch, and a batch is sent between ``linger_s`` and ``1.5 * linger_s`` after its first event.
        """
        if self._sender is None:
            self._idle_since = self._clock()
            self._sender = threading.Thread(target=self._run, name="perago-events", daemon=True)
            self._sender.start()

    def _due(self) -> list[tuple[str, list[str]]] | None:
        """Pop the batches that are due; None once nothing was pending for IDLE_EXIT_S. Caller holds the lock."""
        now = self._clock()
        if self._pending:
            self._idle_since = now
        elif now - self._idle_since >= IDLE_EXIT_S:
            self._sender = None  # a later event starts a new sender
            return None
        due = [key for key, batch in self._pending.items() if batch.due <= now]
        return [(key[0], self._pending.pop(key).lines) for key in due]

    def _run(self) -> None:
        tick = max(self.linger_s / 2, 0.001)
        while True:
            with self._cond:
                self._cond.wait(tick)  # nobody notifies: a tick is a timed wait
                due = self._due()
            if due is None:
                return
            for task_id, lines in due:
                self._send(task_id, lines)

    def _send(self, task_id: str, lines: list[str]) -> None:
        for line in lines:
            try:
                self._post(task_id, line)
            except PeragoError as exc:  # the attempt goes on; its log misses this line
                logger.warning("could not add an event to the Conductor log of task {}: {}", task_id, exc)
            except Exception as exc:  # never let the sender die: later batches would pile up unsent
                logger.error("adding an event to the Conductor log of task {} failed: {!r}", task_id, exc)
