"""``LakeFSRepository``: a lakeFS repository handle for tests (put files, read them back, inspect commits).

It speaks lakeFS's REST API directly, so it works the same against the emulator and a real lakeFS.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from perago.models import RefType, WorkspaceInput
from perago.settings import PeragoSettings
from perago.snapshot import SnapshotDiff


def basic_auth(user: str, password: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@dataclass(frozen=True)
class LakeFSRepository:
    """One lakeFS repository and the credentials to reach it.

    Attributes:
        name: Repository name.
        endpoint: lakeFS server root (``http://host:port``, without ``/api/v1``).
        access_key_id: lakeFS access key id.
        secret_access_key: lakeFS secret access key.
    """

    name: str
    endpoint: str
    access_key_id: str
    secret_access_key: str

    def settings(self, **overrides: Any) -> PeragoSettings:
        """PeragoSettings pointing at this lakeFS."""
        return PeragoSettings(
            lakefs_endpoint=self.endpoint,
            lakefs_access_key_id=self.access_key_id,
            lakefs_secret_access_key=self.secret_access_key,
            **overrides,
        )

    def _request(self, method: str, route: str, body: bytes | None = None, **query: Any) -> bytes:
        url = f"{self.endpoint.rstrip('/')}/api/v1/repositories/{self.name}{route}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = basic_auth(self.access_key_id, self.secret_access_key)
        if body is not None:
            headers["Content-Type"] = "application/json" if method != "POST_RAW" else "application/octet-stream"
        verb = "POST" if method == "POST_RAW" else method
        request = urllib.request.Request(url, data=body, method=verb, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            raise AssertionError(f"lakeFS {verb} {url}: HTTP {exc.code} {detail}") from exc

    def _json(self, method: str, route: str, body: Any = None, **query: Any) -> Any:
        raw = None if body is None else json.dumps(body).encode()
        return json.loads(self._request(method, route, raw, **query) or b"null")

    def put(self, files: Mapping[str, bytes | str], branch: str = "main", message: str = "test data") -> str:
        """Upload ``files`` (path -> content) to ``branch`` and commit them; return the commit id."""
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            self._request("POST_RAW", f"/branches/{branch}/objects", data, path=path)
        commit = self._json("POST", f"/branches/{branch}/commits", {"message": message})
        return str(commit["id"])

    def read(self, path: str, ref: str = "main") -> bytes:
        """The bytes of ``path`` at ``ref``."""
        return self._request("GET", f"/refs/{urllib.parse.quote(ref, safe='')}/objects", path=path)

    def paths(self, ref: str = "main", prefix: str = "") -> list[str]:
        """Every object path at ``ref`` under ``prefix``."""
        found: list[str] = []
        after = ""
        while True:
            page = self._json("GET", f"/refs/{ref}/objects/ls", prefix=prefix, after=after, amount=1000)
            found += [entry["path"] for entry in page["results"]]
            if not page["pagination"]["has_more"]:
                return found
            after = page["pagination"]["next_offset"]

    def commit(self, ref: str) -> dict[str, Any]:
        """The commit ``ref`` resolves to (id, message, parents, metadata)."""
        commit: dict[str, Any] = self._json("GET", f"/commits/{urllib.parse.quote(ref, safe='')}")
        return commit

    def log(self, ref: str = "main", amount: int = 50) -> list[dict[str, Any]]:
        """The commits reachable from ``ref``, newest first."""
        page = self._json("GET", f"/refs/{urllib.parse.quote(ref, safe='')}/commits", amount=amount)
        return list(page["results"])

    def diff(self, left: str, right: str) -> SnapshotDiff:
        """Paths added, changed and removed from ``left`` to ``right`` (two-dot diff)."""
        kinds: dict[str, list[str]] = {"added": [], "changed": [], "removed": []}
        page = self._json("GET", f"/refs/{left}/diff/{right}", amount=1000, type="two_dot")
        for entry in page["results"]:
            if entry.get("path_type", "object") == "object":
                kinds[entry["type"]].append(entry["path"])
        return SnapshotDiff(*(tuple(sorted(kinds[k])) for k in ("added", "changed", "removed")))

    def workspace(self, branch: str = "main", ref: str | None = None, ref_type: RefType = "branch") -> WorkspaceInput:
        """A task input workspace reading ``ref`` (default: ``branch``'s head), publishing to ``branch``."""
        return WorkspaceInput(repository=self.name, branch=branch, ref_type=ref_type, ref=ref or branch)

    def create_branch(self, branch: str, source: str = "main") -> None:
        """Create ``branch`` from ``source``."""
        self._request("POST", "/branches", json.dumps({"name": branch, "source": source}).encode())
