"""Scenarios 3 and 4: snapshot throughput, and change detection after a one-file edit."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

from bench.common import Report, Row, Target, median_time, scratch


def _fill(root: Path, count: int, size: int) -> None:
    block = os.urandom(size)
    for i in range(count):
        path = root / f"d{i % 20}" / f"f{i:05}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(block[i % 97 :] + block[: i % 97])


def _hashlib_ceiling(seconds: float = 1.0) -> float:
    """SHA-256 bytes/s of one core on in-memory data."""
    data = os.urandom(64 * 1024 * 1024)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        hashlib.sha256(data).digest()
        done += len(data)
    return done / (time.perf_counter() - started)


def snapshot(smoke: bool) -> Report:
    from perago.snapshot import snapshot_directory

    count, size = (50, 256 * 1024) if smoke else (1000, 1024 * 1024)
    report = Report("3. Snapshot")
    with scratch() as root:
        _fill(root, count, size)
        files = [str(p) for p in sorted(root.rglob("*.bin"))]
        repeat = 1 if smoke else 3
        snapshot_directory(root)  # warm the page cache for everyone
        ours = median_time(lambda: snapshot_directory(root, full_rehash=True), repeat)
        theirs = median_time(lambda: subprocess.run(["sha256sum", *files], check=True, capture_output=True), repeat)
    cores = os.cpu_count() or 1
    ceiling = count * size / (_hashlib_ceiling(0.3 if smoke else 2.0) * cores)
    mib = count * size / 2**20
    report.rows += [
        Row(f"snapshot {mib:.0f} MiB / {count} files vs sha256sum", ours, theirs, "s", "sha256sum"),
        Row(f"snapshot {mib:.0f} MiB vs hashlib ceiling ({cores} cores)", ours, ceiling, "s", "hashlib x cores"),
    ]
    report.targets.append(Target("snapshot throughput as a fraction of the hashing ceiling", ceiling / ours, 0.9))
    report.notes.append(f"ceiling = bytes / (one core's hashlib SHA-256 rate x {cores} cores), files in the page cache")
    return report


def detection(smoke: bool) -> Report:
    from perago.snapshot import diff_snapshots, hash_file, record_downloaded_file, snapshot_directory

    count, size = (100, 64 * 1024) if smoke else (2000, 512 * 1024)
    report = Report("4. Change detection after a small edit")
    with scratch() as root:
        _fill(root, count, size)
        before = {}
        for path in sorted(root.rglob("*.bin")):
            before[path.relative_to(root).as_posix()] = record_downloaded_file(path, hash_file(path)[0])
        edited = next(iter(before))
        (root / edited).write_bytes(os.urandom(size))
        repeat = 1 if smoke else 5

        def fast() -> None:
            diff = diff_snapshots(before, snapshot_directory(root, previous=before))
            assert diff.changed == (edited,), diff

        def full() -> None:
            diff = diff_snapshots(before, snapshot_directory(root, previous=before, full_rehash=True))
            assert diff.changed == (edited,), diff

        ours, theirs = median_time(fast, repeat), median_time(full, repeat)
    report.rows.append(
        Row(
            f"1 file rewritten of {count} ({count * size / 2**30:.2f} GiB): body returned -> diff known",
            ours,
            theirs,
            "s",
            "full re-hash",
        )
    )
    report.targets.append(
        Target("stamp fast path time as a fraction of a full re-hash", ours / theirs, 0.05, higher_is_better=False)
    )
    return report
