"""Scenario 7: cold download of small files at a network distance of 0, 2 and 10 ms round trip.

The emulator runs in its own process behind ``bench.lakeserver``, which delays every HTTP request (API and presigned
object reads) by the round-trip time. Each client runs with its own parallel option where it has one: perago its
transfer threads; the lakefs_sdk loop is sequential by definition; the ``lakefs`` package and lakefs-spec have none
(``lakefs`` reads one object per reader, lakefs-spec's ``get`` is fsspec's sequential loop), so they run as a user
would call them, plus one informational row of the ``lakefs`` package driven by 16 threads of user code.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from bench.common import Lake, Report, Row, Target, lake_process, median_time, scratch
from bench.download import _fresh, _warm_imports, _write, lakefs_package, lakefs_spec, perago, sdk_loop

RTTS_MS = (0, 2, 10)
SMOKE_RTTS_MS = (0, 1)
THREADS = 16


def lakefs_threads(lake: Lake, repo: str, commit: str, presign: bool, root: Path) -> None:
    import lakefs

    client = lakefs.Client(host=lake.endpoint, username=lake.access_key_id, password=lake.secret_access_key)
    ref = lakefs.Repository(repo, client=client).ref(commit)
    target = _fresh(root)

    def get(path: str) -> None:
        with ref.object(path).reader(mode="rb", pre_sign=presign) as reader:
            _write(target, path, reader.read())

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(get, [obj.path for obj in ref.objects()]))


def run(smoke: bool) -> Report:
    _warm_imports()
    count, size = (5, 4096) if smoke else (500, 4096)
    repeat = 1 if smoke else 3
    report = Report("7. Download at network distance")
    with lake_process(presign=True) as lake, scratch() as root:
        commit = lake.seed("rtt", count, size, sha256=False)
        args = (lake, "rtt", commit, True, root)
        for ms in SMOKE_RTTS_MS if smoke else RTTS_MS:
            lake.set_latency(ms)
            ours = median_time(partial(perago, *args), repeat)
            sdk = median_time(partial(sdk_loop, *args), 1)
            pkg = median_time(partial(lakefs_package, *args), 1)
            spec = median_time(partial(lakefs_spec, *args), 1)
            threaded = median_time(partial(lakefs_threads, *args), 1)
            label = f"{ms} ms RTT, {count} x {size // 1024} KiB"
            report.rows += [
                Row(f"{label} vs sequential lakefs_sdk loop", ours, sdk, "s", "lakefs_sdk loop"),
                Row(f"{label} vs lakefs package", ours, pkg, "s", "lakefs"),
                Row(f"{label} vs lakefs-spec get", ours, spec, "s", "lakefs-spec"),
                Row(f"{label} vs lakefs package in {THREADS} user threads (info)", ours, threaded, "s", "lakefs x16"),
            ]
            if ms == max(SMOKE_RTTS_MS if smoke else RTTS_MS):
                report.targets += [
                    Target(f"small files at {ms} ms RTT: speed-up over the lakefs_sdk loop", sdk / ours, 5.0),
                    Target(
                        f"small files at {ms} ms RTT: speed-up over the best of lakefs / lakefs-spec",
                        min(pkg, spec) / ours,
                        1.5,
                    ),
                ]
    report.notes += [
        f"perago: {THREADS} transfer threads (the default), presigned URLs, an empty content cache each run, median of "
        f"{repeat}; baselines once each. Latency: every request waits one RTT in the emulator (kept-alive "
        "connections, so no handshake cost is modelled; that favours clients that open more connections).",
    ]
    return report
