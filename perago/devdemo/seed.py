"""Seed a lakeFS repository for ``perago dev`` through lakeFS's REST API (stdlib only, like the rest of the demo).

The same calls work on the embedded emulator and on a real lakeFS: create the repository (409: it exists), upload
the seed files to ``main`` and commit them, create one branch per workflow (409: it exists). A repository whose
``main`` head already carries the seed message is left as it is, so a rerun against a real server adds nothing.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perago.devdemo.http import DemoHTTPError, basic_auth, call_json
from perago.devdemo.stack import Endpoints

SeedFiles = Mapping[str, bytes | Path]


class Repository:
    """One lakeFS repository reached with the demo's endpoint and credentials."""

    def __init__(self, endpoints: Endpoints, name: str) -> None:
        self.name = name
        self._base = f"{endpoints.lakefs_endpoint.rstrip('/')}/api/v1/repositories"
        self._auth = basic_auth(endpoints.access_key_id, endpoints.secret_access_key)

    def _call(self, method: str, route: str, body: object = None, **query: str) -> Any:
        url = f"{self._base}/{self.name}{route}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        return call_json(method, url, body, headers=self._auth)

    def create(self, storage_namespace: str) -> None:
        """Create the repository with default branch ``main`` unless it exists."""
        body = {"name": self.name, "storage_namespace": storage_namespace, "default_branch": "main"}
        try:
            call_json("POST", self._base, body, headers=self._auth)
        except DemoHTTPError as exc:
            if exc.status != 409:  # lakeFS answers 409 for a repository that already exists
                raise

    def head(self, branch: str = "main") -> dict[str, Any]:
        """The head commit of ``branch`` (id, message, ...)."""
        commits = self._call("GET", f"/refs/{urllib.parse.quote(branch, safe='')}/commits", amount="1")
        head: dict[str, Any] = commits["results"][0]
        return head

    def seed(self, files: SeedFiles, message: str) -> str:
        """Upload ``files`` to ``main`` and commit them with ``message``; return main's head commit id.

        Nothing is uploaded when there are no files or when main's head already carries ``message``.
        """
        head = self.head()
        if not files or head.get("message") == message:
            return str(head["id"])
        for path, content in files.items():
            data = content if isinstance(content, bytes) else content.read_bytes()
            self._call("POST", "/branches/main/objects", data, path=path)
        commit = self._call("POST", "/branches/main/commits", {"message": message, "allow_empty": True})
        return str(commit["id"])

    def create_branch(self, branch: str, source: str = "main") -> None:
        """Create ``branch`` from ``source`` unless it exists."""
        try:
            self._call("POST", "/branches", {"name": branch, "source": source})
        except DemoHTTPError as exc:
            if exc.status != 409:
                raise
