"""Leased locks in lakeFS: at most one holder per key across every worker process and host (DESIGN §5).

The primitive is lakeFS's conditional upload: ``If-None-Match: *`` creates an object only if the path has none
(controller UploadObject -> apiutil.BuildConditionFromParams -> Graveler.Set -> handleUpdate ->
staging Manager.Update -> ``kv.SetMsgIf``: one atomic write, ``ErrPreconditionFailed`` -> HTTP 412). ``If-Match`` is
501, so an object is never updated in place: every change of a lock is the atomic creation of its next
**generation**, ``perago-locks/<key digest>/<generation>`` on the hidden branch ``perago-locks`` (never committed).

- Acquire: list the key's generations; if the newest is held and not expired, the key is held (hand back).
  Otherwise create newest+1 (held by us, expiring ``lease_s`` from now). A 412 means another taker won it.
- Renew (every third of the lease): create newest+1 again, still ours, with a later expiry. A 412 means a taker
  found our lease expired and took the key: we lost it and must stop.
- Release: create newest+1 marked free.
- Two takers of an expired lease both try to create the *same* next generation: exactly one creation succeeds.
  Takeover is never "delete, then create" (both takers could win that).
- After every creation the taker lists the generations again and holds the key only if its generation is the
  newest. This makes pruning safe: a creator deletes the generations below its own, so a taker that decided on a
  stale listing may re-create a pruned generation — but then a newer one exists and the check refuses it.
  A lakeFS deletion leaves the path free for ``If-None-Match`` (a tombstone reads as absent), hence the check.

A killed holder stops renewing; its key frees itself ``lease_s`` after its last renewal. Expiry times are the
holders' wall clocks: workers must keep their clocks in sync (NTP) to well within the lease. Like every lease, this
assumes a holder does not stall longer than its remaining lease between two renewals; the worker cancels an attempt
whose renewal finds the key taken.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from lakefs_sdk import BranchCreation, PathList

from perago.concurrency import LockKey
from perago.errors import LakeFSError
from perago.lakefs.client import LakeFSConnection, check_status

LOCK_BRANCH = "perago-locks"
LOCK_ROOT = "perago-locks/"
_META = "x-lakefs-meta-perago-"
PAGE = 1000


@dataclass(frozen=True)
class Generation:
    """One generation of a lock: who held it (or that it was released) and until when."""

    number: int
    state: str
    holder: str
    token: str
    expires: float
    digest: str = ""

    def holds(self, now: float) -> bool:
        """Whether this generation, as the newest, keeps the key held at ``now``."""
        return self.state == "held" and now < self.expires


@dataclass(frozen=True)
class Lease:
    """A held lock: the generation that is ours."""

    repository: str
    key: LockKey
    holder: str
    lease_s: float
    generation: int
    expires: float


@dataclass(frozen=True)
class Held:
    """Why a key could not be taken: its current holder and when that holder's lease ends."""

    key: LockKey
    holder: str
    expires: float


def _path(key: LockKey, number: int = -1) -> str:
    return f"{LOCK_ROOT}{key.digest}/" + (f"{number:012d}" if number >= 0 else "")


def _generation(path: str, metadata: dict[str, str]) -> Generation | None:
    try:
        number = int(path.rsplit("/", 1)[1])
        expires = float(metadata.get("perago-expires", "0"))
    except (IndexError, ValueError):
        return None
    state, holder, token = (
        metadata.get("perago-state", ""),
        metadata.get("perago-holder", ""),
        metadata.get("perago-token", ""),
    )
    return Generation(number, state, holder, token, expires)


class LakeFSLocks:
    """Leased locks on the hidden branch ``perago-locks`` of a repository (see the module docstring)."""

    def __init__(self, conn: LakeFSConnection, clock: Callable[[], float] = time.time) -> None:
        self.conn = conn
        self.clock = clock
        self._ready: set[str] = set()
        self._guard = threading.Lock()

    def _ensure_branch(self, repository: str) -> None:
        """Create the hidden lock branch from the default branch once (409: it exists already)."""
        with self._guard:
            if repository in self._ready:
                return
        repo = self.conn.call(
            f"read repository {repository}", lambda: self.conn.sdk.repositories_api.get_repository(repository)
        )
        creation = BranchCreation(name=LOCK_BRANCH, source=repo.default_branch, hidden=True)
        try:
            self.conn.call(
                f"create branch {LOCK_BRANCH} in {repository}",
                lambda: self.conn.sdk.branches_api.create_branch(repository, creation),
            )
        except LakeFSError as exc:
            if exc.status != 409:
                raise
        with self._guard:
            self._ready.add(repository)

    def _listed(self, repository: str, prefix: str) -> Iterator[tuple[Generation, float]]:
        """Every generation under ``prefix`` with its object's mtime (lakeFS's clock), in path order."""
        what, listing = f"list the locks under {prefix} in {repository}", self.conn.sdk.objects_api.list_objects
        for stats in self.conn.paged(what, listing, repository, LOCK_BRANCH, prefix=prefix, user_metadata=True):
            generation = _generation(stats.path, dict(stats.metadata or {}))
            if generation is not None:
                yield replace(generation, digest=stats.path.split("/")[1]), float(stats.mtime)

    def generations(self, repository: str, key: LockKey) -> list[Generation]:
        """The key's generations, oldest first."""
        return sorted((g for g, _ in self._listed(repository, _path(key))), key=lambda g: g.number)

    def _put(self, repository: str, key: LockKey, generation: Generation) -> None:
        """Create ``generation`` if its path is free (412, also when a retried creation had landed: ignored)."""
        route = f"/repositories/{self.conn.quote(repository)}/branches/{LOCK_BRANCH}/objects"
        url = self.conn.api_url(route, path=_path(key, generation.number))
        body = json.dumps({"key": key.description, "state": generation.state, "holder": generation.holder}).encode()
        headers = {
            "Content-Type": "application/octet-stream",
            "If-None-Match": "*",
            f"{_META}state": generation.state,
            f"{_META}holder": generation.holder,
            f"{_META}token": generation.token,
            f"{_META}expires": f"{generation.expires:.3f}",
        }

        def put() -> None:
            response = self.conn.request("POST", url, api=True, body=body, headers=headers)
            check_status(response.status, response.data, f"create lock generation {generation.number}")

        try:
            self.conn.retry.run(f"create lock generation {generation.number} of {key.digest[:12]}", put)
        except LakeFSError as exc:
            if exc.status != 412:
                raise

    def _confirm(self, repository: str, key: LockKey, generation: Generation) -> Generation | None:
        """After creating ``generation``: None if it is the key's newest and ours, else the newest (it won)."""
        newest = self.generations(repository, key)
        self._prune(repository, key, [g for g in newest if g.number < generation.number])
        top = newest[-1] if newest else None
        if top is not None and top.number == generation.number and top.token == generation.token:
            return None
        return top or generation

    def _prune(self, repository: str, key: LockKey, below: list[Generation]) -> None:
        """Delete generations below ours (best effort: leftovers only cost listing)."""
        if len(below) < 2:  # keep the one before ours: deleting at most every other time halves the requests
            return
        paths = PathList(paths=[_path(key, g.number) for g in below])
        with contextlib.suppress(LakeFSError):
            self.conn.call(
                f"prune lock {key.digest[:12]}",
                lambda: self.conn.sdk.objects_api.delete_objects(repository, LOCK_BRANCH, paths),
            )

    def acquire(self, repository: str, key: LockKey, holder: str, lease_s: float) -> Lease | Held:
        """Take ``key`` for ``lease_s`` seconds, or say who holds it."""
        self._ensure_branch(repository)
        existing = self.generations(repository, key)
        top = existing[-1] if existing else None
        now = self.clock()
        if top is not None and top.holds(now):
            return Held(key, top.holder, top.expires)
        number = top.number + 1 if top is not None else 1
        mine = Generation(number, "held", holder, uuid.uuid4().hex, now + lease_s)
        self._put(repository, key, mine)
        winner = self._confirm(repository, key, mine)
        if winner is None:
            return Lease(repository, key, holder, lease_s, number, mine.expires)
        return Held(key, winner.holder, winner.expires)

    def renew(self, lease: Lease) -> Lease | None:
        """Extend ``lease`` by its length from now; None when the key was taken from us (stop at once)."""
        mine = Generation(lease.generation + 1, "held", lease.holder, uuid.uuid4().hex, self.clock() + lease.lease_s)
        self._put(lease.repository, lease.key, mine)
        if self._confirm(lease.repository, lease.key, mine) is not None:
            return None
        return replace(lease, generation=mine.number, expires=mine.expires)

    def release(self, lease: Lease) -> None:
        """Free the key: one creation (if a taker found our lease expired, it has the key already: no harm)."""
        self._put(lease.repository, lease.key, Generation(lease.generation + 1, "free", lease.holder, "", 0.0))

    def expire_idle(self, repository: str, idle_for: float, *, dry_run: bool = False) -> list[str]:
        """Delete every generation of keys idle for ``idle_for`` seconds (released or expired that long ago).

        For the janitor: a key's newest generation is deleted only after that long, so a taker would have to stall
        longer than ``idle_for`` between its listing and its creation for the deletion to matter. Returns the key
        digests removed (or, with ``dry_run``, that would be).
        """
        keys: dict[str, list[tuple[int, float]]] = {}
        try:
            for generation, mtime in self._listed(repository, LOCK_ROOT):
                idle_since = generation.expires if generation.state == "held" else mtime
                keys.setdefault(generation.digest, []).append((generation.number, idle_since))
        except LakeFSError as exc:
            if exc.status == 404:  # no lock branch: this repository never held a lock
                return []
            raise
        cutoff = self.clock() - idle_for
        idle = sorted(digest for digest, found in keys.items() if max(found)[1] < cutoff)
        paths = [f"{LOCK_ROOT}{digest}/{number:012d}" for digest in idle for number, _ in keys[digest]]
        for start in range(0, 0 if dry_run else len(paths), PAGE):
            chunk = PathList(paths=paths[start : start + PAGE])
            self.conn.call(
                f"delete idle locks of {repository}",
                lambda chunk=chunk: self.conn.sdk.objects_api.delete_objects(repository, LOCK_BRANCH, chunk),  # type: ignore[misc]
            )
        return idle


__all__ = ["LOCK_BRANCH", "Generation", "Held", "LakeFSLocks", "Lease"]
