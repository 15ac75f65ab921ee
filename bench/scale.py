"""Scenarios 9 and 10: a sparse download of 1 % of a 20,000-object repository, and 1k / 10k / 100k-object downloads.

Scale: each download runs in a fresh child process that reports its own download time and peak RSS (``VmHWM``), with
an empty content cache. The emulator's own listing cost is measured alone (plain HTTP, no download) to separate the
server's share of the time per object from perago's.
"""

from __future__ import annotations

import json
import time

import urllib3

from bench.common import Lake, Report, Row, Target, lake_process, run_child, scratch
from bench.warm import attempt

SPARSE_DIRS = 100

CHILD = """
import os, time
from pathlib import Path
from perago.lakefs.store import LakeFSWorkspaceStore
from perago.models import WorkspaceInput
from perago.settings import PeragoSettings
from perago.spec import WorkspaceSpec
store = LakeFSWorkspaceStore.from_settings(PeragoSettings(presign=True, transfer_workers=16))
w = WorkspaceInput(repository=os.environ["B_REPO"], branch="main", ref_type="commit", ref=os.environ["B_COMMIT"])
started = time.perf_counter()
record = store.download_workspace(w, WorkspaceSpec(), Path(os.environ["B_DIR"]))
print(time.perf_counter() - started, len(record.entries))
"""


def listing_seconds(lake: Lake, repo: str, commit: str) -> float:
    """The emulator listing a commit, presigned, 1,000 a page, with nothing downloaded."""
    pool, after = urllib3.PoolManager(), ""
    started = time.perf_counter()
    while True:
        url = f"{lake.endpoint}/api/v1/repositories/{repo}/refs/{commit}/objects/ls"
        fields = {"after": after, "amount": "1000", "presign": "true", "user_metadata": "true"}
        page = json.loads(pool.request("GET", url, fields=fields, headers=lake.auth).data)
        if not page["pagination"]["has_more"]:
            return time.perf_counter() - started
        after = page["pagination"]["next_offset"]


def sparse(smoke: bool) -> Report:
    from perago.spec import WorkspaceSpec

    count = 200 if smoke else 20000
    report = Report("9. Sparse download")
    with lake_process(presign=True) as lake, scratch() as root:
        commit = lake.seed("sparse", count, 1024, dirs=SPARSE_DIRS)
        lake.reset_requests()
        full, record = attempt(lake, "sparse", commit, root, root / "cache-full")
        full_requests = lake.requests()
        times, requests = [], []
        for i in range(3):
            lake.reset_requests()
            seconds, part = attempt(
                lake, "sparse", commit, root, root / f"cache-sparse-{i}", WorkspaceSpec(paths=["d042/"])
            )
            times.append(seconds)
            requests.append(lake.requests())
    share = len(part.entries) / len(record.entries)
    report.rows += [
        Row(
            f"time: sparse {len(part.entries)} of {len(record.entries)} objects ({share:.0%}) vs all",
            min(times),
            full,
            "s",
            "full download",
        ),
        Row("requests: sparse vs full download", max(requests), full_requests, "requests", "full download"),
    ]
    report.targets += [
        Target("sparse 1 %: time as a fraction of the full download", min(times) / full, 0.05, higher_is_better=False),
        Target(
            "sparse 1 %: requests as a fraction of the full download",
            max(requests) / full_requests,
            0.05,
            higher_is_better=False,
        ),
    ]
    report.notes.append(
        "paths=['d042/'] of 100 folders; 1 KiB objects, presigned, empty caches, 0 ms RTT; sparse: best of 3"
    )
    return report


def scale(smoke: bool) -> Report:
    sizes = (20, 40) if smoke else (1000, 10000, 100000)
    report = Report("10. Download at scale")
    per_object: dict[int, float] = {}
    peaks: dict[int, float] = {}
    with lake_process(presign=True) as lake, scratch() as root:
        env = {
            "LAKECTL_SERVER_ENDPOINT_URL": lake.endpoint,
            "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": lake.access_key_id,
            "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": lake.secret_access_key,
        }
        for n in sizes:
            repo = f"scale-{n}"
            commit = lake.seed(repo, n, 1024, dirs=max(10, n // 1000))
            target = root / repo
            target.mkdir()
            cold = {
                "B_REPO": repo,
                "B_COMMIT": commit,
                "B_DIR": str(target),
                "PERAGO_CACHE_DIR": str(root / f"cache-{n}"),
            }
            lines, peaks[n] = run_child(CHILD, env | cold)
            seconds, entries = lines[-1].split()
            assert int(entries) == n, lines
            per_object[n] = float(seconds) / n
            listing = listing_seconds(lake, repo, commit) / n
            report.rows += [
                Row(f"{n} objects: time per object", per_object[n] * 1e3, None, "ms"),
                Row(f"{n} objects: peak RSS", peaks[n], None, "MiB"),
                Row(f"{n} objects: the emulator listing alone, per object (info)", listing * 1e3, None, "ms"),
            ]
    small, large = min(sizes), max(sizes)
    report.targets += [
        Target(f"{large} objects: peak RSS (MiB)", peaks[large], 250.0, higher_is_better=False),
        Target(
            f"time per object at {large} / at {small}",
            per_object[large] / per_object[small],
            1.5,
            higher_is_better=False,
        ),
    ]
    report.notes.append("1 KiB objects, presigned, 16 threads, 0 ms RTT, empty cache; each download in a fresh process")
    return report
