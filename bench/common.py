"""Shared benchmark machinery: sizes, timing, tables, targets, seeding an emulated lakeFS, child-process RSS."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import urllib3

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    figure: str
    perago: float
    baseline: float | None
    unit: str
    baseline_name: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0) or self.perago == 0:
            return None
        # for times and memory lower is better: ratio = baseline / perago (>1 means perago wins)
        return (
            self.baseline / self.perago
            if self.unit in ("s", "ms", "MiB", "requests", "bytes")
            else self.perago / self.baseline
        )


@dataclass
class Target:
    name: str
    measured: float
    threshold: float
    higher_is_better: bool = True

    @property
    def met(self) -> bool:
        return self.measured >= self.threshold if self.higher_is_better else self.measured <= self.threshold

    def describe(self) -> str:
        op = ">=" if self.higher_is_better else "<="
        return f"{'MET' if self.met else 'NOT MET'}: {self.name}: {self.measured:.3g} (target {op} {self.threshold:g})"


@dataclass
class Report:
    scenario: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self) -> str:
        lines = [f"## {self.scenario}", "", "| figure | perago | baseline | ratio |", "|---|---|---|---|"]
        for row in self.rows:
            base = "-" if row.baseline is None else f"{row.baseline:.3g} {row.unit} ({row.baseline_name})"
            ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
            lines.append(f"| {row.figure} | {row.perago:.3g} {row.unit} | {base} | {ratio} |")
        lines += [""] + [f"- {t.describe()}" for t in self.targets] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def save(self) -> None:
        RESULTS.mkdir(exist_ok=True)
        data = {
            "scenario": self.scenario,
            "rows": [row.__dict__ | {"ratio": row.ratio} for row in self.rows],
            "targets": [t.__dict__ | {"met": t.met} for t in self.targets],
            "notes": self.notes,
        }
        name = self.scenario.split(".")[0].strip().replace(" ", "_")
        (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2))


def median_time(fn: Callable[[], Any], repeat: int, setup: Callable[[], Any] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def interleaved(runs: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Median seconds of each callable, run in rounds (one of each per round, the order rotated each round).

    Other work shares this machine: interleaving gives every client the same mix of quiet and busy moments, where
    timing one client's repeats after another's would compare different moments.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for round_ in range(repeat):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            started = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}, {platform.system()} {platform.machine()}"


@contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="perago-bench-") as tmp:
        yield Path(tmp)


# -- an emulated lakeFS in its own process (so the client under test does not share the server's GIL) -----------


@dataclass
class Lake:
    endpoint: str
    access_key_id: str
    secret_access_key: str
    process: subprocess.Popen[str]
    control: str = ""  # bench.lakeserver's control endpoint (latency, request counts, seeding)

    def _control(self, route: str, **query: Any) -> Any:
        assert self.control, "start the emulator with lake_process() for latency, counts and seeding"
        return urllib3.request("GET", f"{self.control}{route}", fields=query, timeout=600).json()

    def set_latency(self, ms: float) -> None:
        """Delay every request (API and presigned) by ``ms``: one round trip of network distance."""
        self._control("/latency", ms=ms)

    def requests(self) -> int:
        """API calls plus presigned object reads and writes since the last reset."""
        stats = self._control("/stats")
        return int(stats["api"]) + int(stats["presigned"])

    def object_reads(self) -> int:
        """Object content reads (presigned or through the API) since the last reset."""
        return int(self._control("/stats")["object_reads"])

    def reset_requests(self) -> None:
        self._control("/reset")

    def seed(self, repo: str, count: int, size: int, dirs: int = 10, sha256: bool = True, path: str = "") -> str:
        """``count`` random objects (or the one object ``path``) committed on ``repo``'s main inside the emulator."""
        found = self._control("/seed", repo=repo, count=count, size=size, dirs=dirs, sha256=int(sha256), path=path)
        return str(found["commit"])

    @property
    def auth(self) -> dict[str, str]:
        return urllib3.make_headers(basic_auth=f"{self.access_key_id}:{self.secret_access_key}")

    def api(self, method: str, route: str, **kwargs: Any) -> Any:
        response = urllib3.request(
            method, f"{self.endpoint}/api/v1{route}", headers=self.auth | kwargs.pop("headers", {}), **kwargs
        )
        if response.status >= 300:
            raise RuntimeError(f"{method} {route}: HTTP {response.status} {response.data[:200]!r}")
        return (
            response.json()
            if response.headers.get("Content-Type", "").startswith("application/json")
            else response.data
        )

    def create_repository(self, name: str) -> None:
        self.api("POST", "/repositories", json={"name": name, "storage_namespace": f"mem://{name}"})

    def upload(self, repo: str, branch: str, files: dict[str, Path | bytes], workers: int = 8) -> str:
        pool = urllib3.PoolManager(maxsize=workers)

        def put(item: tuple[str, Path | bytes]) -> None:
            path, source = item
            if isinstance(source, Path):
                with open(source, "rb") as handle:
                    headers = self.auth | {
                        "Content-Type": "application/octet-stream",
                        "Content-Length": str(source.stat().st_size),
                    }
                    url = f"{self.endpoint}/api/v1/repositories/{repo}/branches/{branch}/objects?path={quote(path)}"
                    assert pool.request("POST", url, body=handle, headers=headers).status == 201
                return
            body = source
            url = f"{self.endpoint}/api/v1/repositories/{repo}/branches/{branch}/objects?path={quote(path)}"
            response = pool.request(
                "POST", url, body=body, headers=self.auth | {"Content-Type": "application/octet-stream"}
            )
            assert response.status == 201, response.data

        with ThreadPoolExecutor(workers) as executor:
            list(executor.map(put, files.items()))
        commit = self.api("POST", f"/repositories/{repo}/branches/{branch}/commits", json={"message": "bench data"})
        return str(commit["id"])


@contextmanager
def lake_process(presign: bool = True) -> Iterator[Lake]:
    """The emulator in its own process behind ``bench.lakeserver`` (latency injection, request counts, seeding)."""
    args = [sys.executable, "-m", "bench.lakeserver"] + ([] if presign else ["--no-presign"])
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT) as process:
        assert process.stdout is not None
        endpoint, control = process.stdout.readline().split()
        try:
            yield Lake(endpoint, "AKIABENCH", "bench-secret", process, control)
        finally:
            process.terminate()
            process.wait(10)


def settings_for(lake: Lake, presign: bool, workers: int, root: Path, cache_dir: Path | None = None) -> Any:
    """perago's settings for a benchmark; the content cache is a new, empty directory unless one is given (cold)."""
    from perago.settings import PeragoSettings

    return PeragoSettings(
        lakefs_endpoint=lake.endpoint,
        lakefs_access_key_id=lake.access_key_id,
        lakefs_secret_access_key=lake.secret_access_key,
        presign=presign,
        transfer_workers=workers,
        workspace_root=root,
        cache_dir=cache_dir or Path(tempfile.mkdtemp(prefix="cache-", dir=root)),
    )


_HWM = """
import sys
peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0].split()[1]
sys.stdout.write(chr(10) + peak)
"""


def run_child(code: str, env: dict[str, str]) -> tuple[list[str], float]:
    """Run ``code`` in a fresh Python: (its stdout lines, its peak RSS in MiB from the kernel's ``VmHWM``).

    (``getrusage``'s ``ru_maxrss`` survives ``execve`` on Linux, so a child of a big benchmark process would report
    the parent's peak; ``VmHWM`` belongs to the child's own address space.)
    """
    out = subprocess.run(
        [sys.executable, "-c", code + _HWM],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    return lines[:-1], int(lines[-1]) / 1024


def peak_rss_mib_of(code: str, env: dict[str, str]) -> float:
    """Run ``code`` in a fresh Python and return its peak RSS (MiB), see :func:`run_child`."""
    return run_child(code, env)[1]
