"""Scenario 1: cold download of many small files and of a few large ones, presign on and off."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import urllib3

from bench.common import Lake, Report, Row, Target, interleaved, lake_process, scratch, settings_for

WORKERS = 16


def sizes(smoke: bool) -> dict[str, tuple[int, int]]:
    if smoke:
        return {"small": (40, 4096), "large": (2, 1024 * 1024)}
    return {"small": (2000, 4096), "large": (8, 32 * 1024 * 1024)}


def _fresh(root: Path) -> Path:
    target = root / uuid.uuid4().hex
    target.mkdir()
    return target


def _write(root: Path, path: str, data: bytes) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def perago(lake: Lake, repo: str, commit: str, presign: bool, root: Path) -> None:
    from perago.lakefs.store import LakeFSWorkspaceStore
    from perago.models import WorkspaceInput
    from perago.spec import WorkspaceSpec

    store = LakeFSWorkspaceStore.from_settings(settings_for(lake, presign, WORKERS, root))
    workspace = WorkspaceInput(repository=repo, branch="main", ref_type="commit", ref=commit)
    store.download_workspace(workspace, WorkspaceSpec(), _fresh(root))


def sdk_loop(lake: Lake, repo: str, commit: str, presign: bool, root: Path) -> None:
    from lakefs_sdk import Configuration
    from lakefs_sdk.client import LakeFSClient

    sdk = LakeFSClient(
        Configuration(host=f"{lake.endpoint}/api/v1", username=lake.access_key_id, password=lake.secret_access_key)
    )
    target, after = _fresh(root), ""
    while True:
        page = sdk.objects_api.list_objects(repo, commit, after=after, amount=1000)
        for obj in page.results:
            _write(target, obj.path, bytes(sdk.objects_api.get_object(repo, commit, obj.path)))
        if not page.pagination.has_more:
            return
        after = page.pagination.next_offset


def lakefs_package(lake: Lake, repo: str, commit: str, presign: bool, root: Path) -> None:
    import lakefs

    client = lakefs.Client(host=lake.endpoint, username=lake.access_key_id, password=lake.secret_access_key)
    ref = lakefs.Repository(repo, client=client).ref(commit)
    target = _fresh(root)
    for obj in ref.objects():
        with ref.object(obj.path).reader(mode="rb", pre_sign=presign) as reader:
            _write(target, obj.path, reader.read())


def lakefs_spec(lake: Lake, repo: str, commit: str, presign: bool, root: Path) -> None:
    from lakefs_spec import LakeFSFileSystem

    fs = LakeFSFileSystem(host=lake.endpoint, username=lake.access_key_id, password=lake.secret_access_key)
    fs.get(f"{repo}/{commit}/", f"{_fresh(root)}/", recursive=True)


def ceiling(lake: Lake, repo: str, commit: str, presign: bool, root: Path, listing: list[Any]) -> None:
    pool = urllib3.PoolManager(maxsize=WORKERS)
    target = _fresh(root)

    def get(obj: dict[str, Any]) -> None:
        if presign:
            url, headers = obj["physical_address"], {}
        else:
            url, headers = (
                f"{lake.endpoint}/api/v1/repositories/{repo}/refs/{commit}/objects?path={obj['path']}",
                lake.auth,
            )
        response = pool.request("GET", url, headers=headers, preload_content=False)
        path = target / obj["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            for chunk in response.stream(1024 * 1024):
                handle.write(chunk)
        response.release_conn()

    with ThreadPoolExecutor(WORKERS) as executor:
        list(executor.map(get, listing))


def _listing(lake: Lake, repo: str, commit: str, presign: bool) -> list[Any]:
    out, after = [], ""
    while True:
        page = lake.api(
            "GET",
            f"/repositories/{repo}/refs/{commit}/objects/ls",
            fields={"after": after, "amount": "1000", "presign": str(presign).lower()},
        )
        out += page["results"]
        if not page["pagination"]["has_more"]:
            return out
        after = page["pagination"]["next_offset"]


def _seed(lake: Lake, name: str, count: int, size: int) -> str:
    lake.create_repository(name)
    files = {f"d{i % 10}/f{i:05}.bin": os.urandom(size) for i in range(count)}
    return lake.upload(name, "main", files)  # type: ignore[arg-type]


def _warm_imports() -> None:
    """Import every client before timing, so no figure includes import time."""
    import lakefs  # noqa: F401
    import lakefs_sdk.client  # noqa: F401
    import lakefs_spec  # noqa: F401

    import perago.lakefs.store  # noqa: F401


def perago_no_cache(lake: Lake, repo: str, commit: str, presign: bool, root: Path) -> None:
    """perago with ``PERAGO_CACHE_MAX_BYTES=0``: the transfer path alone, without filling the content cache."""
    from perago.lakefs.store import LakeFSWorkspaceStore
    from perago.models import WorkspaceInput
    from perago.spec import WorkspaceSpec

    settings = settings_for(lake, presign, WORKERS, root).model_copy(update={"cache_max_bytes": 0})
    workspace = WorkspaceInput(repository=repo, branch="main", ref_type="commit", ref=commit)
    LakeFSWorkspaceStore.from_settings(settings).download_workspace(workspace, WorkspaceSpec(), _fresh(root))


def _small(
    report: Report, lake: Lake, repo: str, commit: str, presign: bool, root: Path, label: str, repeat: int
) -> None:
    mode = "presign" if presign else "API"
    args = (lake, repo, commit, presign, root)
    clients = (perago, perago_no_cache, sdk_loop, lakefs_package, lakefs_spec)
    t = interleaved({fn.__name__: partial(fn, *args) for fn in clients}, repeat)
    ours = t["perago"]
    report.rows += [
        Row(f"{label} vs sequential lakefs_sdk loop", ours, t["sdk_loop"], "s", "lakefs_sdk loop"),
        Row(f"{label} vs lakefs package", ours, t["lakefs_package"], "s", "lakefs"),
        Row(f"{label} vs lakefs-spec get", ours, t["lakefs_spec"], "s", "lakefs-spec"),
        Row(
            f"{label}, cache off vs sequential lakefs_sdk loop (info)",
            t["perago_no_cache"],
            t["sdk_loop"],
            "s",
            "lakefs_sdk loop",
        ),
    ]
    report.targets += [
        Target(f"small files {mode}: speed-up over the lakefs_sdk loop", t["sdk_loop"] / ours, 5.0),
        Target(
            f"small files {mode}: speed-up over the best of lakefs / lakefs-spec",
            min(t["lakefs_package"], t["lakefs_spec"]) / ours,
            1.5,
        ),
    ]


def _large(
    report: Report, lake: Lake, repo: str, commit: str, presign: bool, root: Path, label: str, repeat: int
) -> None:
    mode = "presign" if presign else "API"
    args = (lake, repo, commit, presign, root)
    listing = _listing(lake, repo, commit, presign)
    t = interleaved(
        {
            "perago": partial(perago, *args),
            "off": partial(perago_no_cache, *args),
            "top": partial(ceiling, *args, listing),
        },
        repeat,
    )
    report.rows += [
        Row(f"{label} vs urllib3 ceiling", t["perago"], t["top"], "s", "urllib3, same parallelism"),
        Row(f"{label}, cache off vs urllib3 ceiling (info)", t["off"], t["top"], "s", "urllib3, same parallelism"),
    ]
    report.targets.append(Target(f"large files {mode}: fraction of the urllib3 ceiling", t["top"] / t["perago"], 0.8))


def run(smoke: bool) -> Report:
    _warm_imports()
    report = Report("1. Cold download")
    repeat = 1 if smoke else 3
    for presign in (True, False):
        mode = "presign" if presign else "API"
        with lake_process(presign=presign) as lake, scratch() as root:
            for kind, (count, size) in sizes(smoke).items():
                repo = f"{kind}-{mode.lower()}"
                commit = _seed(lake, repo, count, size)
                label = f"{kind}: {count} x {size // 1024} KiB, {mode}"
                measure = _small if kind == "small" else _large
                measure(
                    report,
                    lake,
                    repo,
                    commit,
                    presign,
                    root,
                    label + (f" ({count * size // 2**20} MiB)" if kind == "large" else ""),
                    repeat,
                )
    report.notes += [
        f"{WORKERS} transfer threads for perago and the ceiling; lakeFS emulator in its own process; every client run "
        f"{repeat} time(s) in interleaved rounds, median. perago with its default content cache (empty: a cold "
        "download, which also fills the cache); the '(info)' rows turn the cache off.",
    ]
    return report
