"""A lakeFS emulator with a seeded repository and a store pointed at it (presign on and off)."""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from perago.execution import TaskExecutionContext
from perago.lakefs.store import LakeFSWorkspaceStore
from perago.models import AttemptSnapshot, DownloadRecord, StagedWorkspace, WorkspaceInput
from perago.runtime import attempt_metadata
from perago.settings import PeragoSettings
from perago.snapshot import diff_snapshots, snapshot_directory
from perago.spec import WorkspaceSpec
from perago.task import TaskDefinition
from perago.testing.lakefs import LakeFSEmulator

REPO = "songs"
ATTEMPT = AttemptSnapshot(task_id="task-1", workflow_id="wf-1", poll_count=1, retry_count=0, worker_id="w-1")


@dataclass
class Lake:
    emu: LakeFSEmulator
    store: LakeFSWorkspaceStore
    settings: PeragoSettings
    sleeps: list[float]

    def _request(
        self, method: str, route: str, body: bytes | None = None, content_type: str = "application/json", **query: str
    ) -> Any:
        url = f"{self.emu.endpoint}/api/v1{route}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        token = base64.b64encode(f"{self.emu.access_key_id}:{self.emu.secret_access_key}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Content-Type": content_type}
        with urllib.request.urlopen(
            urllib.request.Request(url, data=body, method=method, headers=headers), timeout=30
        ) as r:
            raw = r.read()
        return json.loads(raw) if raw and r.headers.get("Content-Type", "").startswith("application/json") else raw

    def put(self, files: Mapping[str, bytes], branch: str = "main", message: str = "seed") -> str:
        for path, data in files.items():
            self._request(
                "POST", f"/repositories/{REPO}/branches/{branch}/objects", data, "application/octet-stream", path=path
            )
        return str(
            self._request(
                "POST", f"/repositories/{REPO}/branches/{branch}/commits", json.dumps({"message": message}).encode()
            )["id"]
        )

    def get(self, route: str, **query: str) -> Any:
        return self._request("GET", route, **query)

    def read(self, ref: str, path: str) -> bytes:
        data: bytes = self._request("GET", f"/repositories/{REPO}/refs/{ref}/objects", path=path)
        return data

    def branches(self) -> list[str]:
        return [
            b["id"] for b in self.get(f"/repositories/{REPO}/branches", show_hidden="true", amount="1000")["results"]
        ]

    def log(self, ref: str = "main") -> list[dict[str, Any]]:
        return list(self.get(f"/repositories/{REPO}/refs/{ref}/commits", amount="1000")["results"])

    def workspace(self, ref: str = "main", ref_type: str = "branch") -> WorkspaceInput:
        return WorkspaceInput(repository=REPO, branch="main", ref_type=ref_type, ref=ref)  # type: ignore[arg-type]


def lake_for(emu: LakeFSEmulator, **overrides: Any) -> Lake:
    """A store (recording its backoff sleeps instead of sleeping) for a started emulator with a ``songs`` repo."""
    if REPO not in emu.api.repos:
        emu.create_repository(REPO)
    settings = PeragoSettings(
        lakefs_endpoint=emu.endpoint,
        lakefs_access_key_id=emu.access_key_id,
        lakefs_secret_access_key=emu.secret_access_key,
        **{"transfer_workers": 8, **overrides},
    )
    sleeps: list[float] = []
    return Lake(emu, LakeFSWorkspaceStore.from_settings(settings, sleep=sleeps.append), settings, sleeps)


@pytest.fixture(params=["presign", "api", "s3"])
def lake(request: pytest.FixtureRequest) -> Iterator[Lake]:
    """The store against the emulator: presigned transfers, API-streamed transfers, and S3 (moto) presigned."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("moto_s3_endpoint")
        emulator = LakeFSEmulator(blockstore="s3", s3_endpoint=endpoint, s3_bucket=f"lake-{uuid.uuid4().hex[:10]}")
    else:
        emulator = LakeFSEmulator(presign=request.param == "presign")
    with emulator as emu:
        yield lake_for(emu)


@pytest.fixture
def presign_lake() -> Iterator[Lake]:
    """The store against an emulator that presigns (memory blockstore, URLs signed and expired by the emulator)."""
    with LakeFSEmulator() as emu:
        yield lake_for(emu)


@dataclass(frozen=True)
class Attempted:
    """What the runtime would hand the store's seed-shaped callbacks after an attempt's body: the attempt directory
    and the execution context (pinned input, diff, after-snapshot, perago metadata)."""

    root: Path
    execution: TaskExecutionContext

    @property
    def metadata(self) -> Mapping[str, str]:
        return self.execution.metadata


def request_for(lake: Lake, root: Path, before: dict, commit: str, execution_id: str = "exec-1") -> Attempted:
    """What changed in ``root`` since ``before`` (the attempt's perago metadata included)."""
    after = snapshot_directory(root, previous=before)
    task = TaskDefinition(name="build", fn=lambda: None, params_model=object, output_model=object)  # type: ignore[arg-type]
    metadata = attempt_metadata(task, ATTEMPT, execution_id, commit, {})
    execution = TaskExecutionContext(
        ATTEMPT,
        execution_id,
        identity=ATTEMPT,
        task_name="build",
        pinned_workspace=lake.workspace(commit, "commit"),
        diff=diff_snapshots(before, after),
        after=after,
        metadata=metadata,
    )
    return Attempted(root, execution)


def stage(lake: Lake, attempted: Attempted) -> StagedWorkspace:
    """The store's ``stage_workspace(workspace_dir, workspace_input, workspace_spec, execution)``."""
    workspace = attempted.execution.pinned_workspace
    assert workspace is not None
    return lake.store.stage_workspace(attempted.root, workspace, WorkspaceSpec(), attempted.execution)


def publish(
    lake: Lake, staged: StagedWorkspace, workspace: WorkspaceInput, attempted: Attempted | Mapping[str, str]
) -> str:
    """The store's ``publish_workspace(staged, workspace_input, workspace_spec, execution)``."""
    if isinstance(attempted, Attempted):
        execution = attempted.execution
    else:
        execution = TaskExecutionContext(ATTEMPT, "exec-x", identity=ATTEMPT, task_name="build", metadata=attempted)
    return lake.store.publish_workspace(staged, workspace, WorkspaceSpec(), execution)


def download(lake: Lake, root: Path, ref: str = "main", ref_type: str = "branch") -> DownloadRecord:
    """Download ``ref`` into a new directory ``root``."""
    root.mkdir(parents=True)
    return lake.store.download_workspace(lake.workspace(ref, ref_type), WorkspaceSpec(), root)


def staging_branches(lake: Lake) -> list[str]:
    return [b for b in lake.branches() if b.startswith("perago-stg-")]


def tree(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            if not path.is_symlink():
                out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out
