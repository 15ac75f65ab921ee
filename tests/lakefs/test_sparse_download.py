"""Sparse workspaces and the content cache through the lakeFS store, against the emulator."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from perago import AttemptSnapshot, WorkspaceSpec, run_workspace_task_attempt, task
from perago.guards import ChangesOnlyUnder, FileCount, RequiredPaths
from perago.lakefs.store import LakeFSWorkspaceStore
from perago.models import WorkspaceInput
from perago.settings import PeragoSettings
from perago.testing.harness_local import LocalDirectoryStore
from perago.testing.lakefs import LakeFSEmulator
from tests.lakefs.conftest import tree

REPO = "sparse"
ATTEMPT = AttemptSnapshot(task_id="t-1", workflow_id="wf-1", poll_count=1, retry_count=0, worker_id="w")


@dataclass
class Env:
    emu: LakeFSEmulator
    settings: PeragoSettings
    store: LakeFSWorkspaceStore
    presign: bool

    def seed(self, files: Mapping[str, bytes], *, sha256_metadata: bool = False, message: str = "seed") -> str:
        """Commit ``files`` on main without HTTP (thousands of objects in milliseconds)."""
        api, repo = self.emu.api, self.emu.api.repos[REPO]
        with repo.lock:
            for path, data in files.items():
                meta = {"sha256": hashlib.sha256(data).hexdigest()} if sha256_metadata else {}
                repo.branch("main").staging[path] = api.store(repo, data, meta, "application/octet-stream")
            return repo.commit_branch("main", message, {}, allow_empty=False).id

    def remove(self, *paths: str) -> str:
        repo = self.emu.api.repos[REPO]
        with repo.lock:
            for path in paths:
                repo.branch("main").staging[path] = None
            return repo.commit_branch("main", "remove", {}, allow_empty=False).id

    def head(self) -> dict[str, Any]:
        repo = self.emu.api.repos[REPO]
        return repo.commits[repo.branches["main"].head].tree

    def fresh_store(self) -> LakeFSWorkspaceStore:
        return LakeFSWorkspaceStore.from_settings(self.settings)

    def download(self, spec: WorkspaceSpec, root: Path, ref: str = "main", store: LakeFSWorkspaceStore | None = None):
        root.mkdir(parents=True)
        workspace = WorkspaceInput(repository=REPO, branch="main", ref_type="branch", ref=ref)
        return (store or self.store).download_workspace(workspace, spec, root)

    def object_gets(self) -> int:
        return self.emu.request_count("getObject")


@pytest.fixture(params=["presign", "api"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    with LakeFSEmulator(presign=request.param == "presign") as emu:
        emu.create_repository(REPO)
        settings = PeragoSettings(
            lakefs_endpoint=emu.endpoint,
            lakefs_access_key_id=emu.access_key_id,
            lakefs_secret_access_key=emu.secret_access_key,
            transfer_workers=8,
            cache_dir=tmp_path / "cache",
        )
        yield Env(emu, settings, LakeFSWorkspaceStore.from_settings(settings), request.param == "presign")


SMALL = {
    "raw/meta/a.json": b'{"a": 1}',
    "raw/meta/deep/b.json": b'{"b": 2}',
    "raw/metadata.txt": b"not under raw/meta/",
    "config/app.json": b"{}",
    "config/db.json": b'{"db": true}',
    "config/app.yaml": b"a: 1",
    "config/nested/x.json": b"{}",
    "data/2024/meta.json": b"{}",
    "data/2025/meta.json": b"{}",
    "data/2025/rows.csv": b"1,2",
}


# -- acceptance 1: sparse listing, globs, never-deleted outside files, guardrails on the sparse set -------------------


def test_sparse_download_lists_only_the_declared_prefixes(env: Env, tmp_path: Path) -> None:
    env.seed({f"other/{i:05}.bin": b"x%d" % i for i in range(2500)} | SMALL)
    env.emu.reset_requests()
    record = env.download(WorkspaceSpec(paths=["raw/meta/", "config/*.json"]), tmp_path / "sparse")
    wanted = ["config/app.json", "config/db.json", "raw/meta/a.json", "raw/meta/deep/b.json"]
    assert sorted(tree(tmp_path / "sparse")) == wanted == list(record.entries)
    assert env.emu.request_count("listObjects") == 2  # one page per declared prefix; the full tree needs 3
    assert env.object_gets() == (0 if env.presign else 4)
    assert env.store.cache is not None and env.store.cache.stats.misses == 4

    env.emu.reset_requests()
    full = env.download(WorkspaceSpec(), tmp_path / "full", store=env.fresh_store())
    assert len(full.entries) == 2500 + len(SMALL) and env.emu.request_count("listObjects") == 3


def test_a_glob_selects_what_it_says(env: Env, tmp_path: Path) -> None:
    env.seed(SMALL)
    record = env.download(WorkspaceSpec(paths=["data/*/meta.json", "config/app.*"]), tmp_path / "ws")
    assert sorted(record.entries) == [
        "config/app.json",
        "config/app.yaml",
        "data/2024/meta.json",
        "data/2025/meta.json",
    ]
    assert tree(tmp_path / "ws") == {p: SMALL[p] for p in record.entries}


class Edit(BaseModel):
    write_outside: bool = False


class Done(BaseModel):
    seen: list[str]


@task(workspace=WorkspaceSpec(paths=["raw/meta/"]))
def sparse_edit(workspace_dir: Path, params: Edit) -> Done:
    """Changes one downloaded file, deletes another, and (if asked) writes outside its declared paths."""
    seen = sorted(p.relative_to(workspace_dir).as_posix() for p in workspace_dir.rglob("*.json") if p.is_file())
    seen.remove(".perago-attempt.json")
    (workspace_dir / "raw/meta/a.json").write_text('{"a": 2}')
    (workspace_dir / "raw/meta/deep/b.json").unlink()
    if params.write_outside:
        (workspace_dir / "reports").mkdir()
        (workspace_dir / "reports/summary.txt").write_text("written outside raw/meta/")
    return Done(seen=seen)


def run(env: Env, definition: Any, params: dict[str, Any], root: Path) -> Any:
    workspace = {"repository": REPO, "branch": "main", "ref_type": "branch", "ref": "main"}
    return run_workspace_task_attempt(
        definition,
        {"workspace": workspace, "params": params},
        ATTEMPT,
        root,
        **env.store.callbacks(),
        load_current_attempt=lambda a: a,
        owner_worker_id="w",
        execution_id="exec-1",
        failure_reason_max_length=800,
    )


def test_files_outside_the_sparse_set_are_never_deleted_and_writes_outside_are_published(
    env: Env, tmp_path: Path
) -> None:
    env.seed(SMALL)
    result = run(env, sparse_edit, {"write_outside": True}, tmp_path)
    assert result.status == "COMPLETED", result.reason_for_incompletion
    assert result.output_data["result"]["seen"] == ["raw/meta/a.json", "raw/meta/deep/b.json"]
    head = env.head()
    untouched = set(SMALL) - {"raw/meta/a.json", "raw/meta/deep/b.json"}
    assert untouched <= set(head)  # never downloaded, so never deleted
    assert "raw/meta/deep/b.json" not in head and "reports/summary.txt" in head
    assert env.emu.api.blobs.get(head["raw/meta/a.json"].address) == b'{"a": 2}'


@task(
    workspace=WorkspaceSpec(
        paths=["raw/meta/"], pre=[FileCount(max_count=2)], post=[ChangesOnlyUnder(prefixes=["raw/"])]
    )
)
def guarded_sparse(workspace_dir: Path, params: Edit) -> Done:
    """Counts on the sparse set; may write outside what its post guardrail allows."""
    (workspace_dir / "raw/meta/a.json").write_text('{"a": 3}')
    if params.write_outside:
        (workspace_dir / "summary.txt").write_text("outside raw/")
    return Done(seen=[])


@task(workspace=WorkspaceSpec(paths=["raw/meta/"], pre=[RequiredPaths(paths=["config/*.json"])]))
def needs_config(workspace_dir: Path, params: Edit) -> Done:
    """Requires files it did not declare."""
    return Done(seen=[])


def test_guardrails_see_the_sparse_set(env: Env, tmp_path: Path) -> None:
    env.seed(SMALL)
    ok = run(env, guarded_sparse, {"write_outside": False}, tmp_path)  # 10 objects in the repo, 2 in the sparse set
    assert ok.status == "COMPLETED", ok.reason_for_incompletion
    outside = run(env, guarded_sparse, {"write_outside": True}, tmp_path)
    assert outside.status == "FAILED_WITH_TERMINAL_ERROR", outside.reason_for_incompletion
    assert "changes outside raw/: summary.txt" in outside.reason_for_incompletion
    missing = run(env, needs_config, {}, tmp_path)
    assert missing.status == "FAILED_WITH_TERMINAL_ERROR"
    assert "required 'config/*.json': found 0 file(s)" in missing.reason_for_incompletion


def test_the_local_harness_copies_only_the_sparse_set(tmp_path: Path) -> None:
    source, attempt = tmp_path / "branch", tmp_path / "attempt"
    for path, data in SMALL.items():
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        (source / path).write_bytes(data)
    attempt.mkdir()
    store = LocalDirectoryStore(source)
    store.download_workspace(store.workspace(), WorkspaceSpec(paths=["config/*.json"]), attempt)
    assert sorted(tree(attempt)) == ["config/app.json", "config/db.json"]


# -- acceptance 2 and target 2: the cache through the store ----------------------------------------------------------


@pytest.mark.parametrize("sha256_metadata", [True, False])
def test_warm_attempt_downloads_nothing_and_a_one_file_change_fetches_one_object(
    env: Env, tmp_path: Path, sha256_metadata: bool
) -> None:
    files = {f"d/{i:03}.bin": os.urandom(2048) for i in range(30)}
    env.seed(files, sha256_metadata=sha256_metadata)
    cold = env.download(WorkspaceSpec(), tmp_path / "cold")
    assert cold.bytes_downloaded == 30 * 2048
    env.emu.reset_requests()
    warm = env.download(WorkspaceSpec(), tmp_path / "warm", store=env.fresh_store())
    assert warm.bytes_downloaded == 0 and env.object_gets() == 0
    assert tree(tmp_path / "warm") == files and warm.entries.keys() == cold.entries.keys()
    assert all(warm.entries[p].sha256 == cold.entries[p].sha256 for p in files)
    changed = os.urandom(1000)
    env.seed({"d/007.bin": changed})
    env.emu.reset_requests()
    store = env.fresh_store()
    next_commit = env.download(WorkspaceSpec(), tmp_path / "next", store=store)
    assert next_commit.bytes_downloaded == 1000 and env.object_gets() == (0 if env.presign else 1)
    assert store.cache is not None and (store.cache.stats.hits, store.cache.stats.misses) == (29, 1)
    assert (tmp_path / "next/d/007.bin").read_bytes() == changed


@task(workspace=WorkspaceSpec(read_only=True))
def reader(workspace_dir: Path, params: Edit) -> Done:
    """Declares it only reads, then writes in place anyway (as root could, through a hard link)."""
    target = workspace_dir / "d/000.bin"
    os.chmod(target, 0o644)
    with open(target, "r+b") as handle:
        handle.write(b"CORRUPTED")
    return Done(seen=[])


def test_read_only_attempts_get_hard_links_and_a_write_through_one_is_caught(env: Env, tmp_path: Path) -> None:
    data = os.urandom(4096)
    env.seed({"d/000.bin": data})
    env.download(WorkspaceSpec(), tmp_path / "fill")
    linked = env.download(WorkspaceSpec(read_only=True), tmp_path / "ro")
    assert linked.bytes_downloaded == 0 and os.stat(tmp_path / "ro/d/000.bin").st_nlink == 2
    result = run(env, reader, {}, tmp_path / "attempts")
    assert result.status == "COMPLETED", result.reason_for_incompletion
    env.emu.reset_requests()
    store = env.fresh_store()
    again = env.download(WorkspaceSpec(), tmp_path / "again", store=store)
    assert (tmp_path / "again/d/000.bin").read_bytes() == data and again.bytes_downloaded == 4096
    assert store.cache is not None and store.cache.stats.corrupt == 1


def test_a_cold_read_only_attempt_fills_the_cache_with_its_own_files(env: Env, tmp_path: Path) -> None:
    files = {f"d/{i}.bin": os.urandom(3000) for i in range(5)}
    env.seed(files)
    record = env.download(WorkspaceSpec(read_only=True), tmp_path / "ro")
    assert record.bytes_downloaded == 15000 and tree(tmp_path / "ro") == files
    assert all(os.stat(tmp_path / "ro" / p).st_nlink == 2 for p in files)  # the cache adopted them: no copy
    store = env.fresh_store()
    writable = env.download(WorkspaceSpec(), tmp_path / "rw", store=store)
    assert writable.bytes_downloaded == 0 and tree(tmp_path / "rw") == files
    assert all(os.stat(tmp_path / "rw" / p).st_nlink == 1 for p in files)  # a task that writes gets copies


def _download_in_child(settings: dict[str, Any], root: str, barrier: Any, queue: Any) -> None:
    store = LakeFSWorkspaceStore.from_settings(PeragoSettings(**settings))
    Path(root).mkdir()
    barrier.wait()
    workspace = WorkspaceInput(repository=REPO, branch="main", ref_type="branch", ref="main")
    record = store.download_workspace(workspace, WorkspaceSpec(), Path(root))
    assert store.cache is not None
    queue.put((record.bytes_downloaded, store.cache.stats.inserted))


def test_two_processes_downloading_the_same_commit_share_one_cache(env: Env, tmp_path: Path) -> None:
    files = {f"d/{i:03}.bin": os.urandom(50_000) for i in range(60)}
    env.seed(files)
    settings = env.settings.model_dump() | {"lakefs_secret_access_key": env.emu.secret_access_key}
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(2), context.Queue()
    roots = [tmp_path / "p1", tmp_path / "p2"]
    children = [
        context.Process(target=_download_in_child, args=(settings, str(root), barrier, queue)) for root in roots
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(90)
    assert [c.exitcode for c in children] == [0, 0]
    results = [queue.get(timeout=5) for _ in children]
    assert sum(inserted for _, inserted in results) == len(files)  # each entry written once, whoever fetched it
    for root in roots:
        assert tree(root) == files
    cache_files = [p for p in (tmp_path / "cache/v1/sha256").rglob("*") if p.is_file()]
    assert len(cache_files) == len(files) and not list((tmp_path / "cache/v1/tmp").iterdir())
