"""The task-log line of an attempt event: written once, read back exactly, however it travelled."""

from __future__ import annotations

from perago.conductor.records import ConductorRecords
from perago.conductor.registration import register_task_definitions
from perago.eventlog import RecordedEvent, event_line, parse_log
from perago.execution import AttemptEvent
from perago.settings import PeragoSettings
from perago.testing.conductor import ConductorEmulator
from tests.conductor.free_tasks import double
from tests.conductor.helpers import register_workflow, simple, start

TRACEBACK = 'Traceback (most recent call last):\n  File "t.py", line 1, in f\nValueError: "café" is not a number'
FAILED = AttemptEvent("failed", 'ValueError: "café" is not a number', 1_700_000_000.1234, {"traceback": TRACEBACK})


def test_a_line_reads_back_as_the_event_it_was_written_from() -> None:
    published = AttemptEvent("published", "merge commit c9 on main", 1_700_000_001.5, {"ref": "c9", "branch": "main"})
    lines = [event_line(event, "t-1-p1", "host 1") for event in (FAILED, published)]

    events, others = parse_log(["\n".join(lines)])

    assert others == []
    assert events == [
        RecordedEvent(
            1_700_000_000.123, "failed", "t-1-p1", "host_1", FAILED.detail, None, tuple(TRACEBACK.split("\n"))
        ),
        RecordedEvent(1_700_000_001.5, "published", "t-1-p1", "host_1", "merge commit c9 on main", "c9"),
    ]
    assert (
        lines[1] == "2023-11-14T22:13:21.500Z published execution=t-1-p1 worker=host_1 ref=c9: merge commit c9 on main"
    )


def test_events_are_ordered_by_their_own_time_and_foreign_lines_are_kept_apart() -> None:
    late = event_line(AttemptEvent("completed", "", 1_700_000_002.0), "t-1-p1", "w")
    early = event_line(AttemptEvent("received", "poll 1, retry 0", 1_700_000_001.0), "t-1-p1", "w")

    events, others = parse_log([late, "a line some other worker logged", early])

    assert [event.phase for event in events] == ["received", "completed"]
    assert others == ["a line some other worker logged"]


def test_a_line_escaped_by_conductor_python_reads_back_unchanged(conductor_emulator: ConductorEmulator) -> None:
    """conductor-python json-escapes a POST /tasks/{id}/log body (quotes stripped) and the server stores it as is."""
    settings = PeragoSettings(conductor_server_url=conductor_emulator.url)
    register_task_definitions([double], settings)
    register_workflow(conductor_emulator, "one", [simple("double", "d", {"params": {"x": 1}})])
    workflow_id = start(conductor_emulator, "one", {})
    task_id = conductor_emulator.get_workflow(workflow_id)["tasks"][0]["taskId"]
    records = ConductorRecords(settings)
    line = event_line(FAILED, "t-1-p1", "w")

    records.add_log(task_id, line)

    [stored] = records.task_logs(task_id)
    assert "\n" not in stored and "\\n" in stored and "\\u00e9" in stored, "escaped on the wire, as on a real server"
    assert parse_log([stored]) == parse_log([line])
