"""Provenance both ways: from a lakeFS commit to the Conductor attempt that made it, and back.

A commit's ``perago.*`` metadata names the workflow, step, task and execution that published it; Conductor's own
record of that attempt (its status, its events, the task that reported the commit as its output) closes the loop.
The reads are passed in as callables returning the servers' JSON, so this module needs neither client.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from perago.callid import call_identity
from perago.errors import PeragoError
from perago.history import Attempt, Delivery, attempt_of
from perago.history_text import compact, delivery_lines, instant


class NotPublishedByPeragoError(PeragoError):
    """The commit carries no ``perago.*`` metadata: perago did not publish it."""


@dataclass(frozen=True)
class Provenance:
    """A commit, the attempt its metadata names, and what Conductor records about both.

    Attributes:
        repository: The lakeFS repository.
        commit: The commit (id, message, committer, creation_date, metadata, parents).
        workflow: The workflow the metadata names, as Conductor reports it (None: Conductor has no record).
        attempt: The task the metadata names, with its deliveries (None: Conductor has no record).
    """

    repository: str
    commit: Mapping[str, Any]
    workflow: Mapping[str, Any] | None
    attempt: Attempt | None

    @property
    def metadata(self) -> Mapping[str, str]:
        """The commit's ``perago.*`` metadata."""
        return {k: str(v) for k, v in (self.commit.get("metadata") or {}).items() if k.startswith("perago.")}

    @property
    def reporters(self) -> list[Mapping[str, Any]]:
        """The workflow's tasks whose output workspace is this commit (the attempt itself, or a retry reusing it)."""
        commit_id = self.commit.get("id")
        tasks = (self.workflow or {}).get("tasks") or []
        return [t for t in tasks if ((t.get("outputData") or {}).get("workspace") or {}).get("ref") == commit_id]

    @property
    def delivery(self) -> Delivery | None:
        """The delivery that published the commit (by its ``published`` event, else by execution id)."""
        if self.attempt is None:
            return None
        execution = self.metadata.get("perago.execution_id")
        for delivery in self.attempt.deliveries:
            if any(e.phase == "published" and e.ref == self.commit.get("id") for e in delivery.events):
                return delivery
        return next((d for d in self.attempt.deliveries if d.execution_id == execution), None)


def explain(
    repository: str,
    commit: Mapping[str, Any],
    read_workflow: Callable[[str], Mapping[str, Any] | None],
    read_task: Callable[[str], Mapping[str, Any] | None],
    read_logs: Callable[[str], Sequence[str]],
) -> Provenance:
    """Follow a commit's metadata to Conductor.

    Raises:
        NotPublishedByPeragoError: The commit carries no ``perago.task_id``.
    """
    metadata = commit.get("metadata") or {}
    task_id = metadata.get("perago.task_id")
    if not task_id:
        raise NotPublishedByPeragoError(
            f"commit {commit.get('id')} in {repository} carries no perago.* metadata: perago did not publish it "
            "(perago's merges carry perago.task_id; explain one of them, e.g. from `lakectl log`)"
        )
    workflow_id = str(metadata.get("perago.workflow_id") or "")
    workflow = read_workflow(workflow_id) if workflow_id else None
    task = read_task(str(task_id))
    attempt = attempt_of(task, read_logs(str(task_id))) if task is not None else None
    return Provenance(repository, commit, workflow, attempt)


def _params_line(provenance: Provenance) -> str:
    meta = provenance.metadata
    task = provenance.attempt.task if provenance.attempt is not None else {}
    params = (task.get("inputData") or {}).get("params")
    if params is None:
        return f"params    (not in Conductor's record); call identity {meta.get('perago.params_sha256')}"
    recorded = meta.get("perago.params_sha256")
    if call_identity(meta.get("perago.task", ""), int(meta.get("perago.task_version") or 0), params) == recorded:
        return f"params    {compact(params)} (Conductor's input; call identity {recorded})"
    return (
        f"params    {compact(params)} (Conductor's input; perago.params_sha256 {recorded} hashes them as the params "
        "model validated them, defaults filled in)"
    )


def _made_by(provenance: Provenance) -> list[str]:
    meta, workflow = provenance.metadata, provenance.workflow or {}
    retried = f", retry of {meta['perago.retried_task_id']}" if meta.get("perago.retried_task_id") else ""
    named = f" ({workflow.get('workflowName')} v{workflow.get('workflowVersion')})" if workflow else ""
    result = meta.get("perago.result")
    lines = [
        "made by perago",
        f"  task      {meta.get('perago.task')} v{meta.get('perago.task_version')}",
        f"  workflow  {meta.get('perago.workflow_id')}{named}",
        f"  step      {meta.get('perago.task_ref')}",
        f"  attempt   task {meta.get('perago.task_id')}{retried}, retry {meta.get('perago.retry_count')}, "
        f"poll {meta.get('perago.poll_count')}, worker {meta.get('perago.worker_id')}",
        f"  execution {meta.get('perago.execution_id')}",
        f"  input     {provenance.repository}@{meta.get('perago.input_commit')}",
        f"  {_params_line(provenance)}",
    ]
    if result is not None:
        try:
            lines.append(f"  result    {compact(json.loads(result))}")
        except ValueError:
            lines.append(f"  result    {result[:160]} (not JSON)")
    return lines


def _record(provenance: Provenance, tracebacks: bool) -> list[str]:
    lines = ["Conductor's record"]
    workflow, attempt = provenance.workflow, provenance.attempt
    if workflow is None:
        lines.append(f"  workflow {provenance.metadata.get('perago.workflow_id')}: no record (removed or archived)")
    else:
        lines.append(f"  workflow {workflow.get('workflowId')}: {workflow.get('status')}")
    if attempt is None:
        lines.append(f"  task {provenance.metadata.get('perago.task_id')}: no record (removed or archived)")
        return lines
    task = attempt.task
    lines.append(f"  task {attempt.task_id}: {task.get('status')}, worker {task.get('workerId') or '-'}")
    delivery = provenance.delivery
    if delivery is not None:
        lines.extend(f"    {line}" for line in delivery_lines(delivery, tracebacks))
    for reporter in provenance.reporters:
        lines.append(
            f"  reported as the output of task {reporter.get('taskId')} (step {reporter.get('referenceTaskName')}, "
            f"{reporter.get('status')})"
        )
    if workflow is not None and not provenance.reporters:
        lines.append("  no task of the workflow reports this commit as its output")
    return lines


def render_explain(provenance: Provenance, *, tracebacks: bool = False) -> str:
    """The text of ``python -m perago explain``."""
    commit = provenance.commit
    created = commit.get("creation_date")
    header = [
        f"commit {commit.get('id')} in {provenance.repository}",
        f"  message   {commit.get('message')}",
        f"  committed {instant(int(created) * 1000) if created else '-'} by {commit.get('committer') or '-'}",
    ]
    return "\n".join([*header, *_made_by(provenance), *_record(provenance, tracebacks)])
