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

from perago.lakefs.store import LakeFSWorkspaceStore
from perago.models import WorkspaceInput
from perago.settings import PeragoSettings
from perago.testing.lakefs import LakeFSEmulator

REPO = "songs"


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


@pytest.fixture(params=["presign", "api", "s3"])
def lake(request: pytest.FixtureRequest) -> Iterator[Lake]:
    """The store against the emulator: presigned transfers, API-streamed transfers, and S3 (moto) presigned."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("moto_s3_endpoint")
        emulator = LakeFSEmulator(blockstore="s3", s3_endpoint=endpoint, s3_bucket=f"lake-{uuid.uuid4().hex[:10]}")
    else:
        emulator = LakeFSEmulator(presign=request.param == "presign")
    with emulator as emu:
        emu.create_repository(REPO)
        settings = PeragoSettings(
            lakefs_endpoint=emu.endpoint,
            lakefs_access_key_id=emu.access_key_id,
            lakefs_secret_access_key=emu.secret_access_key,
            transfer_workers=8,
        )
        sleeps: list[float] = []
        yield Lake(emu, LakeFSWorkspaceStore.from_settings(settings, sleep=sleeps.append), settings, sleeps)


def tree(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            if not path.is_symlink():
                out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out
