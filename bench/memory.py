"""Scenario 2: peak RSS of a process that downloads, and one that uploads, a single 1 GiB file."""

from __future__ import annotations

import os
from pathlib import Path

from bench.common import Report, Row, Target, lake_process, peak_rss_mib_of, scratch

DOWNLOAD = """
from pathlib import Path
from perago.lakefs.store import LakeFSWorkspaceStore
from perago.models import WorkspaceInput
from perago.settings import PeragoSettings
from perago.spec import WorkspaceSpec
import os
s = PeragoSettings(presign=os.environ["B_PRESIGN"] == "1", transfer_workers=16)
store = LakeFSWorkspaceStore.from_settings(s)
w = WorkspaceInput(repository="big", branch="main", ref_type="commit", ref=os.environ["B_COMMIT"])
store.download_workspace(w, WorkspaceSpec(), Path(os.environ["B_DIR"]))
"""

UPLOAD = """
import os
from pathlib import Path
from perago.lakefs.store import LakeFSWorkspaceStore
from perago.execution import TaskExecutionContext
from perago.models import AttemptSnapshot, WorkspaceInput
from perago.settings import PeragoSettings
from perago.snapshot import SnapshotDiff, snapshot_directory
from perago.spec import WorkspaceSpec
root = Path(os.environ["B_DIR"])
after = snapshot_directory(root)
store = LakeFSWorkspaceStore.from_settings(PeragoSettings(transfer_workers=16))
w = WorkspaceInput(repository="big", branch="main", ref_type="commit", ref=os.environ["B_COMMIT"])
a = AttemptSnapshot(task_id="t", workflow_id="wf", poll_count=1, retry_count=0, worker_id="w")
ex = TaskExecutionContext(a, "e1", task_name="mem", pinned_workspace=w, diff=SnapshotDiff(added=tuple(after)), after=after)
store.stage_workspace(root, w, WorkspaceSpec(), ex)
"""

SDK_DOWNLOAD = """
import os
from lakefs_sdk import Configuration
from lakefs_sdk.client import LakeFSClient
c = LakeFSClient(Configuration(host=os.environ["LAKECTL_SERVER_ENDPOINT_URL"] + "/api/v1",
    username=os.environ["LAKECTL_CREDENTIALS_ACCESS_KEY_ID"], password=os.environ["LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY"]))
data = c.objects_api.get_object("big", os.environ["B_COMMIT"], "blob.bin")
open(os.path.join(os.environ["B_DIR"], "blob.bin"), "wb").write(data)
"""

IDLE = "import perago.lakefs.store\n"


def _big_file(path: Path, size: int) -> None:
    chunk = os.urandom(4 * 1024 * 1024)
    with open(path, "wb") as handle:
        for _ in range(size // len(chunk)):
            handle.write(chunk)


def run(smoke: bool) -> Report:
    size = (64 if smoke else 1024) * 1024 * 1024
    report = Report("2. Peak memory")
    with lake_process(presign=True) as lake, scratch() as root:
        source = root / "src"
        source.mkdir()
        _big_file(source / "blob.bin", size)
        lake.create_repository("big")
        commit = lake.upload("big", "main", {"blob.bin": source / "blob.bin"}, workers=1)
        env = {
            "LAKECTL_SERVER_ENDPOINT_URL": lake.endpoint,
            "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": lake.access_key_id,
            "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": lake.secret_access_key,
            "B_COMMIT": commit,
        }
        idle = peak_rss_mib_of(IDLE, env)
        results = {}
        for presign in ("1", "0"):
            target = root / f"down{presign}"
            target.mkdir()
            cold = {"B_DIR": str(target), "B_PRESIGN": presign, "PERAGO_CACHE_DIR": str(root / f"cache{presign}")}
            results[presign] = peak_rss_mib_of(DOWNLOAD, env | cold)
        sdk_dir = root / "sdk"
        sdk_dir.mkdir()
        sdk = peak_rss_mib_of(SDK_DOWNLOAD, env | {"B_DIR": str(sdk_dir)})
        up = peak_rss_mib_of(UPLOAD, env | {"B_DIR": str(source)})
    gib = size / 2**30
    report.rows += [
        Row(f"download {gib:g} GiB, presign: peak RSS", results["1"], sdk, "MiB", "lakefs_sdk get_object"),
        Row(f"download {gib:g} GiB, API: peak RSS", results["0"], sdk, "MiB", "lakefs_sdk get_object"),
        Row(f"upload (stage) {gib:g} GiB: peak RSS", up, None, "MiB"),
        Row("the same process after imports only", idle, None, "MiB"),
    ]
    for name, value in (("download, presign", results["1"]), ("download, API", results["0"]), ("upload", up)):
        report.targets.append(Target(f"peak RSS {name} of {gib:g} GiB (MiB)", value, 150.0, higher_is_better=False))
    report.notes.append(
        "Each figure is the kernel's peak RSS of a fresh child process; the emulator runs in another process."
    )
    return report
