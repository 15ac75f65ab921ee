"""Scenario 8: the local content cache: a warm attempt on the same commit, and a commit that differs by one file."""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import Lake, Report, Row, Target, lake_server, scratch, settings_for

RTTS_MS = (0, 10)


def attempt(lake: Lake, repo: str, commit: str, root: Path, cache: Path, spec: Any = None) -> tuple[float, Any]:
    """(seconds, download record) of one attempt's download with the content cache at ``cache``."""
    from perago.lakefs.store import LakeFSWorkspaceStore
    from perago.models import WorkspaceInput
    from perago.spec import WorkspaceSpec

    store = LakeFSWorkspaceStore.from_settings(settings_for(lake, True, 16, root, cache))
    workspace = WorkspaceInput(repository=repo, branch="main", ref_type="commit", ref=commit)
    directory = root / uuid.uuid4().hex
    directory.mkdir()
    started = time.perf_counter()
    record = store.download_workspace(workspace, spec or WorkspaceSpec(), directory)
    return time.perf_counter() - started, record


def _cold_and_warm(lake: Lake, commit: str, root: Path, repeat: int) -> dict[str, float]:
    from perago.spec import WorkspaceSpec

    cold, warm, linked, warm_bytes, warm_reads = [], [], [], [], []
    for _ in range(repeat):
        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=root))
        cold.append(attempt(lake, "warm", commit, root, cache)[0])
        lake.reset_requests()
        seconds, record = attempt(lake, "warm", commit, root, cache)
        warm.append(seconds)
        warm_bytes.append(record.bytes_downloaded)
        warm_reads.append(lake.object_reads())
        linked.append(attempt(lake, "warm", commit, root, cache, WorkspaceSpec(read_only=True))[0])
    return {
        "cold": statistics.median(cold),
        "warm": statistics.median(warm),
        "linked": statistics.median(linked),
        "bytes": max(warm_bytes),
        "reads": max(warm_reads),
    }


def run(smoke: bool) -> Report:
    count, size = (40, 4096) if smoke else (2000, 4096)
    repeat = 1 if smoke else 3
    report = Report("8. Local content cache")
    with lake_server(presign=True) as lake, scratch() as root:
        commit = lake.seed("warm", count, size, sha256=True)
        for ms in RTTS_MS:
            lake.set_latency(ms)
            m = _cold_and_warm(lake, commit, root, repeat)
            label = f"{ms} ms RTT, {count} x {size // 1024} KiB"
            report.rows += [
                Row(f"{label}: warm attempt, same commit, vs cold", m["warm"], m["cold"], "s", "cold, empty cache"),
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
        f"cold: an empty cache; warm: the cache the cold attempt filled (a new attempt directory); median of {repeat}. "
        f"The one-file change fetched {record.bytes_downloaded} bytes.",
        "Every served file is hashed against its entry; files are copies (this machine's ext4 has no reflink), hard "
        "links only for read-only tasks.",
    ]
    return report
