r"""The task-log form of attempt events: one line per phase transition, readable in Conductor's UI and parsed back.

A line is ``<time> <phase> execution=<id> worker=<id>[ ref=<ref>]: <detail>``, for example::

    2025-05-01T12:00:00.131Z downloaded execution=7d1e-p1 worker=host-12-a1b2c3: songs@3f9a...: 3 objects, 120 B

The time is the event's own (UTC, milliseconds): Conductor stamps a log entry with the time it received it
(``ExecutionService.log``), and several events travel in one entry, so the entry's time is not the event's.
A failure's traceback follows its line, every line indented by two spaces. Conductor keeps the entries of one task
id, which may hold several deliveries (the same task handed back and polled again): ``execution=`` tells them apart.

conductor-python sends a ``POST /tasks/{id}/log`` body through ``json.dumps`` with the quotes stripped (its
``rest.py``), and the server stores that body as given (``TaskResource.log`` takes a raw ``String``): a line with a
newline, a quote or a non-ASCII character arrives escaped (``\n``, ``\"``, ``\u00e9``). The parser reads
such an entry back unescaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from perago.execution import AttemptEvent

_INDENT = "  "
_LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (?P<phase>[a-z][a-z -]*?)"
    r" execution=(?P<execution>\S+) worker=(?P<worker>\S+)(?: ref=(?P<ref>\S+))?(?:: (?P<detail>.*))?$"
)


@dataclass(frozen=True)
class RecordedEvent:
    """An attempt event as read back from a task log.

    Attributes:
        at: When it happened (epoch seconds, millisecond precision).
        phase: The phase (``received``, ``downloaded``, ... see :class:`perago.execution.AttemptEvent`).
        execution_id: The delivery it belongs to.
        worker_id: The worker that ran that delivery.
        detail: The human-readable detail.
        ref: The commit or ref the event names (published, no-op and reused events), if any.
        extra: Continuation lines (a failure's traceback).
    """

    at: float
    phase: str
    execution_id: str
    worker_id: str
    detail: str = ""
    ref: str | None = None
    extra: tuple[str, ...] = ()


def format_time(at: float) -> str:
    """``2025-05-01T12:00:00.131Z``: an epoch time in UTC with milliseconds."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _token(text: str) -> str:
    """One whitespace-free token (a worker id may be any string a user configured)."""
    return "_".join(text.split()) or "-"


def event_line(event: AttemptEvent, execution_id: str, worker_id: str) -> str:
    """The task-log text of one event (its traceback, if any, on indented lines after it)."""
    ref = event.fields.get("ref")
    head = f"{format_time(event.at)} {event.phase} execution={_token(execution_id)} worker={_token(worker_id)}"
    head += f" ref={_token(str(ref))}" if ref else ""
    text = f"{head}: {' '.join(event.detail.split())}" if event.detail else head
    traceback = event.fields.get("traceback")
    if traceback:
        text += "".join(f"\n{_INDENT}{line}" for line in str(traceback).rstrip("\n").splitlines())
    return text


def _parse_time(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def parse_log(entries: Iterable[str]) -> tuple[list[RecordedEvent], list[str]]:
    """The events in a task's log entries, in time order, and the lines that are not perago events.

    Continuation lines belong to the event before them; an entry written by someone else (a user's
    ``POST /tasks/{id}/log``, an older perago) is returned whole among the other lines.
    """
    events: list[RecordedEvent] = []
    others: list[str] = []
    for entry in entries:
        current: RecordedEvent | None = None
        for line in _unescaped(entry).splitlines():
            match = _LINE.match(line)
            if match is not None:
                current = _recorded(match)
                events.append(current)
            elif current is not None and line.startswith(_INDENT):
                current = _with_extra(events, current, line[len(_INDENT) :])
            elif line.strip():
                others.append(line)
                current = None
    events.sort(key=lambda event: event.at)  # stable: same-millisecond events keep their logged order
    return events, others


def _unescaped(entry: str) -> str:
    """An entry as it was written, when it came through conductor-python's escaping (see the module docstring)."""
    if "\n" in entry or "\\" not in entry:
        return entry
    try:
        decoded = json.loads(f'"{entry}"')
    except ValueError:
        return entry
    return decoded if isinstance(decoded, str) else entry


def _recorded(match: re.Match[str]) -> RecordedEvent:
    return RecordedEvent(
        at=_parse_time(match["at"]),
        phase=match["phase"],
        execution_id=match["execution"],
        worker_id=match["worker"],
        detail=match["detail"] or "",
        ref=match["ref"],
    )


def _with_extra(events: list[RecordedEvent], current: RecordedEvent, line: str) -> RecordedEvent:
    updated = replace(current, extra=(*current.extra, line))
    events[-1] = updated
    return updated
