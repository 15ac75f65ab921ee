"""Scenario 8: the local content cache: a warm attempt on the same commit, and a commit that differs by one file.

Informational rows separate what the cache costs and what limits it: a cold download with the cache off (the cost
of filling it), a read-only warm attempt (hard links: no file is created), and the same cold / warm pair with the
attempt directories and the cache on tmpfs (``/dev/shm``), where creating a file costs microseconds instead of the
hundreds this machine's ext4 can take under load.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import Lake, Report, Row, Target, lake_process, scratch, settings_for

RTTS_MS = (0, 10)
SMOKE_RTTS_MS = (0, 1)
TMPFS = Path("/dev/shm")


def attempt(lake: Lake, repo: str, commit: str, root: Path, cache: Path | None, spec: Any = None) -> tuple[float, Any]:
    """(seconds, download record) of one attempt's download with the content cache at ``cache`` (None: off)."""
    from perago.lakefs.store import LakeFSWorkspaceStore
    from perago.models import WorkspaceInput
    from perago.spec import WorkspaceSpec

    settings = settings_for(lake, True, 16, root, cache)
    if cache is None:
        settings = settings.model_copy(update={"cache_max_bytes": 0})
    store = LakeFSWorkspaceStore.from_settings(settings)
    workspace = WorkspaceInput(repository=repo, branch="main", ref_type="commit", ref=commit)
    directory = root / uuid.uuid4().hex
    directory.mkdir()
    started = time.perf_counter()
    record = store.download_workspace(workspace, spec or WorkspaceSpec(), directory)
    return time.perf_counter() - started, record


def _cold_and_warm(lake: Lake, commit: str, root: Path, repeat: int) -> dict[str, float]:
    from perago.spec import WorkspaceSpec

    runs: dict[str, list[float]] = {"cold": [], "warm": [], "linked": [], "off": [], "bytes": [], "reads": []}
    for _ in range(repeat):
        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=root))
        runs["off"].append(attempt(lake, "warm", commit, root, None)[0])
        runs["cold"].append(attempt(lake, "warm", commit, root, cache)[0])
        lake.reset_requests()
        seconds, record = attempt(lake, "warm", commit, root, cache)
        runs["warm"].append(seconds)
        runs["bytes"].append(record.bytes_downloaded)
        runs["reads"].append(lake.object_reads())
        runs["linked"].append(attempt(lake, "warm", commit, root, cache, WorkspaceSpec(read_only=True))[0])
    found = {name: statistics.median(values) for name, values in runs.items()}
    found["bytes"], found["reads"] = max(runs["bytes"]), max(runs["reads"])
    return found


def _tmpfs_pair(lake: Lake, commit: str, repeat: int) -> tuple[float, float] | None:
    if not TMPFS.is_dir() or not os.access(TMPFS, os.W_OK):
        return None
    with tempfile.TemporaryDirectory(prefix="perago-bench-", dir=TMPFS) as tmp:
        root = Path(tmp)
        cold, warm = [], []
        for _ in range(repeat):
            cache = Path(tempfile.mkdtemp(prefix="cache-", dir=root))
            cold.append(attempt(lake, "warm", commit, root, cache)[0])
            warm.append(attempt(lake, "warm", commit, root, cache)[0])
        return statistics.median(cold), statistics.median(warm)


def create_cost(root: Path, count: int, size: int) -> float:
    """Seconds per file to create, write and close ``count`` new files of ``size`` bytes under ``root``: the floor of
    any warm attempt that must give the task its own copy of every file (no reflink)."""
    folder = Path(tempfile.mkdtemp(prefix="create-", dir=root))
    data = os.urandom(size)
    started = time.perf_counter()
    for i in range(count):
        fd = os.open(folder / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, data)
        os.close(fd)
    return (time.perf_counter() - started) / count


def run(smoke: bool) -> Report:
    count, size = (20, 4096) if smoke else (2000, 4096)
    repeat = 1 if smoke else 3
    report = Report("8. Local content cache")
    with lake_process(presign=True) as lake, scratch() as root:
        commit = lake.seed("warm", count, size, sha256=True)
        for ms in SMOKE_RTTS_MS if smoke else RTTS_MS:
            lake.set_latency(ms)
            m = _cold_and_warm(lake, commit, root, repeat)
            label = f"{ms} ms RTT, {count} x {size // 1024} KiB"
            report.rows += [
                Row(f"{label}: warm attempt, same commit, vs cold", m["warm"], m["cold"], "s", "cold, empty cache"),
                Row(f"{label}: cold with the cache off vs filling it (info)", m["off"], m["cold"], "s", "cold"),
                Row(
                    f"{label}: warm read-only attempt (hard links) vs cold (info)", m["linked"], m["cold"], "s", "cold"
                ),
                Row(f"{label}: object bytes downloaded by the warm attempt", m["bytes"], count * size, "bytes", "cold"),
                Row(f"{label}: object reads by the warm attempt", m["reads"], count, "requests", "cold"),
            ]
            report.targets += [
                Target(f"warm attempt at {ms} ms RTT: object bytes downloaded", m["bytes"], 0, higher_is_better=False),
                Target(f"warm attempt at {ms} ms RTT: speed-up over cold", m["cold"] / m["warm"], 10.0),
            ]
            if ms == 0:
                per_file, floor = m["warm"] / count * 1e3, create_cost(root, count, size) * 1e3
                report.rows.append(
                    Row(f"{label}: warm, per file, vs creating one file here (info)", per_file, floor, "ms", "create")
                )
            if ms == 0 and (pair := _tmpfs_pair(lake, commit, repeat)) is not None:
                report.rows.append(
                    Row(f"{label}, on tmpfs: warm vs cold (info)", pair[1], pair[0], "s", "cold on tmpfs")
                )
        lake.set_latency(0)
        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=root))
        attempt(lake, "warm", commit, root, cache)
        changed = lake.seed("warm", 1, size, path="d003/f000003.bin")
        lake.reset_requests()
        _, record = attempt(lake, "warm", changed, root, cache)
        reads = lake.object_reads()
    report.rows.append(Row("commit differing by 1 file: objects fetched", reads, count, "requests", "cold"))
    report.targets.append(Target("commit differing by 1 file: objects fetched", reads, 1, higher_is_better=False))
    report.notes += [
        f"cold: an empty cache; warm: the cache the cold attempt filled, a new attempt directory; median of {repeat}. "
        f"The one-file change fetched {record.bytes_downloaded} bytes.",
        "Every served file is hashed against its entry; files are copies (this machine's ext4 has no reflink), hard "
        "links only for read-only tasks.",
    ]
    return report
