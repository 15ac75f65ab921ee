"""The worker's gate around one attempt: memoized results, earlier work of the step, concurrency keys (DESIGN §5).

Before an attempt downloads anything, the runtime asks ``find_earlier_result``; the gate answers, in order:

1. a memo (``@task(cache=True)``): the same call on the same input commit completed before -> complete with it;
2. the step's retry chain already merged (DESIGN §2, :mod:`perago.conductor.chain`) -> complete with that merge;
3. otherwise it takes the attempt's locks: the memo key's (identical calls compute once) and the concurrency
   key's (``@task(concurrency_key=...)``). A held key hands the attempt back to Conductor
   (:class:`~perago.concurrency.AttemptHandedBack`: IN_PROGRESS, ``callbackAfterSeconds`` =
   ``PERAGO_BLOCKED_CALLBACK_S``), which spends no retry; the next delivery asks again (and finds the memo).

Locks are renewed every third of their lease (the task's ``responseTimeoutSeconds``) while the attempt runs; a
renewal that finds the key taken cancels the attempt, which then publishes nothing. When the attempt ends, the gate
records the memo of a completed computation, then releases the locks. ``now()`` of the task context is the retry
chain's first scheduled time, read from Conductor only when the body asks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from conductor.client.http.models.task import Task
from loguru import logger
from pydantic import BaseModel, ValidationError

from perago.concurrency import AttemptHandedBack, LockKey, handed_back_result
from perago.conductor.attempt import execution_id_for, task_input
from perago.conductor.chain import StepPublications, load_chain
from perago.errors import ConfigurationError, PeragoError
from perago.execution import AttemptEvent, EarlierResult, OnEvent, StepChain, TaskExecutionContext
from perago.memo import MemoRecord, memo_key, memo_lock_key
from perago.models import AttemptSnapshot, DownloadRecord, WorkspaceInput
from perago.result import RuntimeTaskResult, failure_reason, result_for_exception
from perago.spec import WorkspaceSpec
from perago.task import TaskDefinition

if TYPE_CHECKING:
    from perago.conductor.worker import Worker
    from perago.lakefs.client import LakeFSConnection
    from perago.lakefs.locks import LakeFSLocks, Lease
    from perago.lakefs.memo import LakeFSMemo


@dataclass
class GateServices:
    """What every attempt of one worker shares: Conductor, the store, lakeFS memo and locks, settings."""

    worker: Worker
    _conn: LakeFSConnection | None = None
    _guard: threading.RLock = field(default_factory=threading.RLock)
    _memo: LakeFSMemo | None = None
    _locks: LakeFSLocks | None = None

    def conn(self) -> LakeFSConnection:
        """The store's lakeFS connection, or one from the settings when the store is not perago's."""
        # lakefs_sdk is imported only once a task needs it, as the worker does for its store.
        from perago.lakefs.client import LakeFSConnection

        with self._guard:
            if self._conn is None:
                own = getattr(self.worker.store, "conn", None)
                self._conn = own if isinstance(own, LakeFSConnection) else LakeFSConnection(self.worker.settings)
            return self._conn

    @property
    def memo(self) -> LakeFSMemo:
        """Memo lookups and records."""
        from perago.lakefs.memo import LakeFSMemo

        with self._guard:
            if self._memo is None:
                self._memo = LakeFSMemo(self.conn())
            return self._memo

    @property
    def locks(self) -> LakeFSLocks:
        """Leased locks (on the wall clock; tests replace ``locks.clock``)."""
        from perago.lakefs.locks import LakeFSLocks

        with self._guard:
            if self._locks is None:
                self._locks = LakeFSLocks(self.conn())
            return self._locks


class AttemptGate:
    """Memo, earlier work and locks for one delivery of a task (see the module docstring)."""

    def __init__(
        self,
        services: GateServices,
        definition: TaskDefinition,
        task: Task,
        cancel: threading.Event,
        on_event: OnEvent | None = None,
    ):
        self.services, self.definition, self.task, self.cancel = services, definition, task, cancel
        self.on_event = on_event
        self.settings = services.worker.settings
        self.holder = f"{services.worker.worker_id}/{execution_id_for(task)}"
        self.lease_s = float(task.response_timeout_seconds or definition.response_timeout_s)
        self.events: list[AttemptEvent] = []
        self._chain: list[StepChain | None] = []
        self._asked = self._reused = False
        self._pinned: str | None = None
        self._resolved: str | None = None
        self._leases: list[Lease] = []
        self._stop = threading.Event()
        self._keeper: threading.Thread | None = None

    # -- runtime hooks ------------------------------------------------------------------------------------------
    def chain_started_ms(self) -> int:
        """When the first attempt of this step's retry chain was scheduled (for ``now()``)."""
        chain = self._load_chain()
        return chain.since_ms if chain is not None and chain.since_ms else AttemptSnapshot.of(self.task).scheduled_time

    def callbacks(self, callbacks: dict[str, Any]) -> dict[str, Any]:
        """The store callbacks, the download wrapped to learn the commit the attempt read (the memo's input)."""
        download = callbacks["download_workspace"]

        def download_workspace(workspace_input: Any, workspace_spec: Any, workspace_dir: Any) -> DownloadRecord | None:
            record: DownloadRecord | None = download(workspace_input, workspace_spec, workspace_dir)
            self._pinned = record.commit_id if record is not None else None
            return record

        return callbacks | {"download_workspace": download_workspace}

    def find_earlier_result(
        self, workspace: WorkspaceInput, spec: WorkspaceSpec, execution: TaskExecutionContext
    ) -> EarlierResult | None:
        """The runtime's hook: memo, then the chain's merge, then the locks (the second ask: the chain only)."""
        if self._asked:
            return self._published(workspace, spec)
        self._asked = True
        earlier = self._memo_hit(workspace) if self.definition.cache else None
        earlier = earlier or self._published(workspace, spec)
        if earlier is not None:
            self._reused = True
            return earlier
        self._lock(self._keys(workspace), self.settings.lock_repository or workspace.repository)
        if self.definition.cache:
            # An identical call may have finished between the lookup and the lock: look again, now that no other
            # attempt of this call can be computing.
            earlier = self._memo_hit(workspace)
            if earlier is not None:
                self._reused = True
                self.release()
                return earlier
        return None

    def blocked_free(self) -> RuntimeTaskResult | None:
        """For a workspace-free task: take its concurrency key before it runs; a result when it must not run."""
        key = self.definition.concurrency_key
        params = self._params() if key is not None else None
        if key is None or params is None:
            return None  # no key, or params the runtime will refuse with its own error
        try:
            if not self.settings.lock_repository:
                raise ConfigurationError(
                    f"task {self.definition.name} is workspace-free and has a concurrency_key: set "
                    "PERAGO_LOCK_REPOSITORY to the lakeFS repository that holds the locks (branch perago-locks)"
                )
            lock_key = key.lock_key(self.definition.name, params.model_dump(mode="json"), None)
            self._lock([(lock_key, "concurrency key")], self.settings.lock_repository)
        except AttemptHandedBack as exc:
            self._event("handed back", f"{exc} (again in {exc.after_s} s)")
            return handed_back_result(exc, self.settings.failure_reason_max_length)
        except PeragoError as exc:
            failed = result_for_exception(exc, self.settings.failure_reason_max_length)
            self._event("failed", failed.reason_for_incompletion or "")
            return failed
        return None

    def finish(self, result: RuntimeTaskResult) -> RuntimeTaskResult:
        """Record the memo of a completed computation, release the locks; ``result`` with the gate's events."""
        if result.status == "COMPLETED" and self.definition.cache and not self._reused and self._pinned:
            self._record(result)
        self.release()
        if not self.events:
            return result
        events = tuple(sorted((*result.events, *self.events), key=lambda e: e.at))
        return replace(result, events=events, logs=tuple(line for e in events for line in e.log_lines()))

    def release(self) -> None:
        """Stop renewing and free every lock held (errors logged: the key then frees itself after its lease)."""
        self._stop.set()
        if self._keeper is not None and self._keeper is not threading.current_thread():
            self._keeper.join(timeout=5)
        while self._leases:
            lease = self._leases.pop()
            try:
                self.services.locks.release(lease)
            except PeragoError as exc:
                logger.warning("could not release lock {} ({}); it frees itself by its lease", lease.key.digest, exc)

    def __enter__(self) -> AttemptGate:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    # -- memo and chain -----------------------------------------------------------------------------------------
    def _params(self) -> BaseModel | None:
        try:
            return self.definition.params_model.model_validate(task_input(self.task).get("params"))
        except ValidationError:
            return None

    def _load_chain(self) -> StepChain | None:
        if not self._chain:
            self._chain.append(load_chain(self.services.worker.api.get_task, self.task))
        return self._chain[0]

    def _published(self, workspace: WorkspaceInput, spec: WorkspaceSpec) -> EarlierResult | None:
        store = self.services.worker.store
        if spec.read_only or not hasattr(store, "find_step_publication"):
            return None  # a read-only attempt publishes nothing; a store without the lookup cannot tell
        chain = self._load_chain()
        return None if chain is None else cast(StepPublications, store).find_step_publication(workspace, chain)

    def _key(self, workspace: WorkspaceInput, commit: str) -> str:
        params = self._params()
        assert params is not None  # the runtime validated them before asking
        return memo_key(self.definition, params, commit, workspace.branch)

    def _input_commit(self, workspace: WorkspaceInput) -> str:
        if self._resolved is None:
            self._resolved = self.services.memo.resolve(workspace)
        return self._resolved

    def _memo_hit(self, workspace: WorkspaceInput) -> EarlierResult | None:
        key = self._key(workspace, self._input_commit(workspace))
        record = self.services.memo.lookup(workspace.repository, key)
        return record.earlier() if record is not None else None

    def _record(self, result: RuntimeTaskResult) -> None:
        output = result.output_data
        workspace = WorkspaceInput.model_validate(task_input(self.task)["workspace"])
        assert self._pinned is not None
        params = self._params()
        assert params is not None
        identity = AttemptSnapshot.of(self.task)
        record = MemoRecord(
            key=self._key(workspace, self._pinned),
            output_ref=str(output["workspace"]["ref"]),
            result=dict(output["result"]),
            input_commit=self._pinned,
            computed_by=f"{identity.workflow_id}/{identity.task_id}",
        )
        metadata = record.metadata(self.definition, params, workspace.branch)
        try:
            fresh = self.services.memo.record(
                workspace.repository, record, metadata, identity.workflow_id, execution_id_for(self.task)
            )
        except PeragoError as exc:
            self._event("memo", f"not recorded ({failure_reason(exc, 300)}); the next identical call runs again")
            return
        where = f"perago-memo-{record.key}"
        self._event("memo", f"recorded {where} -> {record.output_ref}" if fresh else f"{where} was recorded already")

    # -- locks --------------------------------------------------------------------------------------------------
    def _keys(self, workspace: WorkspaceInput) -> list[tuple[LockKey, str]]:
        keys: list[tuple[LockKey, str]] = []
        params = self._params()
        assert params is not None
        if self.definition.cache:
            keys.append((memo_lock_key(self._key(workspace, self._input_commit(workspace))), "an identical call"))
        if self.definition.concurrency_key is not None:
            values = params.model_dump(mode="json")
            lock_key = self.definition.concurrency_key.lock_key(self.definition.name, values, workspace.model_dump())
            keys.append((lock_key, "concurrency key"))
        return keys

    def _lock(self, keys: list[tuple[LockKey, str]], repository: str) -> None:
        """Take every key or none; a held one hands the attempt back."""
        from perago.lakefs.locks import Held

        for key, what in keys:
            taken = self.services.locks.acquire(repository, key, self.holder, self.lease_s)
            if isinstance(taken, Held):
                self.release()
                until = datetime.fromtimestamp(taken.expires, tz=UTC).strftime("%H:%M:%SZ")
                raise AttemptHandedBack(
                    f"{what} {key.description} is held by {taken.holder} (lease until {until})",
                    after_s=self.settings.blocked_callback_s,
                )
            self._leases.append(taken)
            self._event("locked", f"{what} {key.description} (generation {taken.generation})")
        if self._leases and self._keeper is None:
            self._keeper = threading.Thread(target=self._keep, name="perago-lock-keeper", daemon=True)
            self._keeper.start()

    def _keep(self) -> None:
        while not self._stop.wait(self.lease_s / 3) and self.renew():
            pass

    def renew(self) -> bool:
        """Renew every lease held (the keeper does, each third of the lease); False once a key was lost.

        A key taken by someone else (our lease ran out before this renewal) cancels the attempt: it stops at its
        next phase boundary and publishes nothing. A renewal that fails for another reason is tried again.
        """
        for index, lease in enumerate(list(self._leases)):
            try:
                renewed = self.services.locks.renew(lease)
            except PeragoError as exc:
                logger.warning("could not renew lock {} ({}); trying again", lease.key.description, exc)
                continue
            if renewed is None:
                logger.error("lock {} was taken after its lease ran out; stopping the attempt", lease.key.description)
                self._leases.remove(lease)
                self._event("lock lost", f"{lease.key.description} was taken after the lease ran out")
                self.cancel.set()
                return False
            self._leases[index] = renewed
        return True

    def _event(self, phase: str, detail: str) -> None:
        event = AttemptEvent(phase, detail)
        self.events.append(event)
        if self.on_event is not None:  # to the task log as it happens, with the runtime's own events
            self.on_event(event)


__all__ = ["AttemptGate", "GateServices"]
