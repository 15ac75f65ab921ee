"""Deterministic helpers (DESIGN §5): random numbers, UUIDs and time that replay on every attempt of a call.

After pynenc's deterministic executor: the values are the same on every attempt of the same call on the same input
commit.

```python
ctx = current_task_context()
sample = ctx.random().sample(rows, 100)      # a random.Random: the same draws on a retry
run_id = ctx.uuid4()                         # the same UUID sequence on a retry
stamp = ctx.now().isoformat()                # when the step's first attempt was scheduled
```

Each stream is seeded with the SHA-256 of the call identity (``perago.params_sha256``: task name, version and
canonical params), the input commit (the ref as given when a custom download callback records no commit; none for
a workspace-free task) and the stream's name, so a retry that reads the same commit writes
byte-identical files (and its merge then adds no change), while another call or another input commit gets other
values. ``random()`` returns one ``random.Random`` per attempt (successive calls continue its sequence) and
``uuid4()`` draws from a stream of its own, so using one does not shift the other. Draw in a fixed order: values
drawn from several threads interleave differently on each attempt.

``now()`` is not a clock: it is the time Conductor scheduled the first attempt of the step's retry chain (the
same on every retry and re-delivery), as an aware UTC datetime, and the same on every call. Without a scheduled
time (``TaskEnvironment``, an attempt built by hand) it is :data:`FIXED_NOW`.
"""

from __future__ import annotations

import hashlib
import random
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from perago.errors import PeragoError

FIXED_NOW = datetime(2000, 1, 1, tzinfo=UTC)
"""``now()`` when the attempt carries no scheduled time (``TaskEnvironment``): 2000-01-01T00:00:00Z."""


class Determinism:
    """The deterministic streams of one attempt.

    Args:
        started_ms: When the step's retry chain started (epoch ms, Conductor's clock; 0 when unknown), asked once,
            on the first ``now()``.
    """

    def __init__(self, started_ms: Callable[[], int]) -> None:
        self._started_ms = started_ms
        self._identity: Callable[[], str] | None = None
        self._input_commit = ""
        self._lock = threading.Lock()
        self._random: random.Random | None = None
        self._uuids: random.Random | None = None
        self._now: datetime | None = None

    def bind(self, identity: Callable[[], str], input_commit: str) -> None:
        """Seed from the call identity (computed on first use) and the commit the attempt read."""
        with self._lock:
            self._identity, self._input_commit = identity, input_commit

    def _stream(self, name: str) -> random.Random:
        if self._identity is None:
            raise PeragoError(
                "current_task_context().random(), .uuid4() and .now() are available in the task body (and its "
                "guardrails), once the attempt knows its call and input commit"
            )
        material = f"perago.determinism\0{self._identity()}\0{self._input_commit}\0{name}".encode()
        return random.Random(int.from_bytes(hashlib.sha256(material).digest(), "big"))

    def random(self) -> random.Random:
        """This attempt's ``random.Random`` (the same object on every call)."""
        with self._lock:
            if self._random is None:
                self._random = self._stream("random")
            return self._random

    def uuid4(self) -> uuid.UUID:
        """The next UUID (version 4 layout) of this attempt's UUID stream."""
        with self._lock:
            if self._uuids is None:
                self._uuids = self._stream("uuid4")
            return uuid.UUID(int=self._uuids.getrandbits(128), version=4)

    def now(self) -> datetime:
        """When the step's first attempt was scheduled (aware UTC), or :data:`FIXED_NOW` when unknown."""
        with self._lock:
            if self._now is None:
                started = self._started_ms()
                self._now = datetime.fromtimestamp(started / 1000, tz=UTC) if started > 0 else FIXED_NOW
            return self._now


__all__ = ["FIXED_NOW", "Determinism"]
