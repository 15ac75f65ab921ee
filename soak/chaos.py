"""K worker processes, SIGKILLed and SIGTERMed at random (bounded in time and count), each restarted at once."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from soak.stack import ROOT, Stack


@dataclass
class Workers:
    """The worker processes of the soak, and what was done to them."""

    stack: Stack
    count: int
    concurrency: int = 4
    min_age_s: float = 2.0
    procs: list[subprocess.Popen[bytes] | None] = field(default_factory=list)
    born: list[float] = field(default_factory=list)
    started: int = 0
    sigkills: int = 0
    sigterms: int = 0

    def _spawn(self, slot: int) -> subprocess.Popen[bytes]:
        self.started += 1
        log = self.stack.log(f"worker-{slot}")
        argv = [sys.executable, "-m", "perago.worker", "soak.tasks", f"--concurrency={self.concurrency}"]
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=self.stack.env())

    def start(self) -> None:
        self.procs = [self._spawn(slot) for slot in range(self.count)]
        self.born = [time.monotonic()] * self.count

    @property
    def kills(self) -> int:
        return self.sigkills + self.sigterms

    def strike(self, rng: random.Random) -> None:
        """Kill one worker (SIGKILL three times out of four, else SIGTERM and let it drain), then restart it.

        Only a worker that has been up for ``min_age_s`` (it has imported, checked both servers and is polling) is
        struck, so that kills land on attempts in flight rather than on processes still starting.
        """
        grown = [slot for slot in range(self.count) if time.monotonic() - self.born[slot] >= self.min_age_s]
        if not grown:
            return
        slot = rng.choice(grown)
        proc = self.procs[slot]
        assert proc is not None
        if rng.random() < 0.75:
            proc.send_signal(signal.SIGKILL)
            self.sigkills += 1
        else:
            proc.send_signal(signal.SIGTERM)
            self.sigterms += 1
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self.procs[slot] = self._spawn(slot)
        self.born[slot] = time.monotonic()

    def stop(self) -> list[int]:
        """SIGTERM every worker and wait for it to drain; returns their exit codes."""
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self.procs:
            if proc is None:
                continue
            try:
                codes.append(proc.wait(timeout=20))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
        return codes
