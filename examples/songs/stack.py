"""Bootstrap a lakeFS + Conductor pair for the song pipeline (used by the demo and the compose setup service).

``python -m examples.songs.stack`` reads perago's settings from the environment (``LAKECTL_*``,
``CONDUCTOR_SERVER_URL``), sets lakeFS up with those credentials if it is fresh, creates the example
repository with the sample data and registers the example workflow definitions. Every step is idempotent.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from collections.abc import Mapping

import lakefs_sdk
from lakefs_sdk.client import LakeFSClient

from examples.songs import workflow_definitions
from examples.songs.data import sample_files
from perago.settings import PeragoSettings

SEED_MESSAGE = "Sample song data"


def lakefs_client(endpoint: str, access_key_id: str, secret_access_key: str) -> LakeFSClient:
    """A lakefs-sdk client for ``endpoint`` (with or without ``/api/v1``)."""
    host = endpoint.rstrip("/")
    host = host if host.endswith("/api/v1") else host + "/api/v1"
    config = lakefs_sdk.Configuration(host=host, username=access_key_id, password=secret_access_key)
    return LakeFSClient(config)


def setup_lakefs(client: LakeFSClient, access_key_id: str, secret_access_key: str) -> bool:
    """Create the first admin user with these credentials on a fresh lakeFS; False when already set up."""
    state = client.internal_api.get_setup_state()
    if state.state == "initialized":
        return False
    key = lakefs_sdk.AccessKeyCredentials(access_key_id=access_key_id, secret_access_key=secret_access_key)
    client.internal_api.setup(lakefs_sdk.Setup(username="admin", key=key))
    return True


def seed_repository(
    client: LakeFSClient, repository: str, storage_namespace: str, files: Mapping[str, bytes] | None = None
) -> str:
    """Create ``repository`` (branch ``main``) holding the sample data; return main's head commit id."""
    try:
        client.repositories_api.create_repository(
            lakefs_sdk.RepositoryCreation(name=repository, storage_namespace=storage_namespace)
        )
    except lakefs_sdk.ApiException as exc:
        if exc.status != 409:
            raise
    head = client.branches_api.get_branch(repository, "main").commit_id
    if client.commits_api.get_commit(repository, head).message == SEED_MESSAGE:
        return str(head)
    for path, data in (files if files is not None else sample_files()).items():
        client.objects_api.upload_object(repository, "main", path, content=data)
    commit = client.commits_api.commit(repository, "main", lakefs_sdk.CommitCreation(message=SEED_MESSAGE))
    return str(commit.id)


def create_branch(client: LakeFSClient, repository: str, branch: str, source: str) -> None:
    """Create ``branch`` from ``source`` unless it exists."""
    try:
        client.branches_api.create_branch(repository, lakefs_sdk.BranchCreation(name=branch, source=source))
    except lakefs_sdk.ApiException as exc:
        if exc.status != 409:
            raise


def register_workflows(conductor_url: str, headers: Mapping[str, str] | None = None) -> list[str]:
    """Create or update the example workflow definitions (``PUT /api/metadata/workflow``); return names."""
    definitions = workflow_definitions()
    request = urllib.request.Request(
        conductor_url.rstrip("/") + "/metadata/workflow",
        data=json.dumps(definitions).encode(),
        method="PUT",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    return [str(definition["name"]) for definition in definitions]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.songs.stack", description=__doc__)
    parser.add_argument("--repository", default="songs")
    parser.add_argument("--storage-namespace", default="s3://perago-example/songs")
    args = parser.parse_args(argv)
    settings = PeragoSettings()
    secret = settings.lakefs_secret_access_key
    if not settings.lakefs_access_key_id or secret is None:
        print("set LAKECTL_CREDENTIALS_ACCESS_KEY_ID and _SECRET_ACCESS_KEY", file=sys.stderr)
        return 2
    access_key = settings.lakefs_access_key_id
    client = lakefs_client(settings.lakefs_endpoint, access_key, secret.get_secret_value())
    created = setup_lakefs(client, access_key, secret.get_secret_value())
    print("lakeFS admin credentials", "created" if created else "already set up")
    commit = seed_repository(client, args.repository, args.storage_namespace)
    print(f"repository {args.repository}: main at {commit}")
    names = register_workflows(settings.conductor_server_url)
    print("workflows registered:", ", ".join(names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
