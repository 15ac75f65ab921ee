"""The servers the demo runs against: embedded emulators by default, real servers when given their URLs."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from perago.settings import PeragoSettings

DEMO_ACCESS_KEY_ID = "AKIAIOSFODNN7DEMOKEY"
DEMO_SECRET_ACCESS_KEY = "demo-secret-access-key-not-for-production"


@dataclass(frozen=True)
class Endpoints:
    """Where the demo's Conductor and lakeFS are, and how to authenticate to lakeFS."""

    conductor_url: str
    lakefs_endpoint: str
    access_key_id: str
    secret_access_key: str
    embedded_conductor: bool
    embedded_lakefs: bool

    def settings(self, **overrides: Any) -> PeragoSettings:
        """PeragoSettings pointing at these servers."""
        return PeragoSettings(
            conductor_server_url=self.conductor_url,
            lakefs_endpoint=self.lakefs_endpoint,
            lakefs_access_key_id=self.access_key_id,
            lakefs_secret_access_key=self.secret_access_key,
            **overrides,
        )


def lakefs_root(endpoint: str) -> str:
    """The server root of a lakeFS endpoint given with or without ``/api/v1``."""
    root = endpoint.rstrip("/")
    return root.removesuffix("/api/v1")


def start_servers(
    stack: contextlib.ExitStack,
    conductor_url: str | None,
    lakefs_endpoint: str | None,
    credentials: tuple[str, str] | None,
) -> Endpoints:
    """Start an emulator for each server not given; return the endpoints."""
    embedded_conductor, embedded_lakefs = conductor_url is None, lakefs_endpoint is None
    if conductor_url is None:
        from perago.testing.conductor import ConductorEmulator

        conductor_url = stack.enter_context(ConductorEmulator()).url
    if lakefs_endpoint is None:
        from perago.testing.lakefs import LakeFSEmulator

        emulator = stack.enter_context(LakeFSEmulator())
        lakefs_endpoint = lakefs_root(emulator.endpoint)
        credentials = (emulator.access_key_id, emulator.secret_access_key)
    access_key_id, secret = credentials or (DEMO_ACCESS_KEY_ID, DEMO_SECRET_ACCESS_KEY)
    return Endpoints(
        conductor_url=conductor_url.rstrip("/"),
        lakefs_endpoint=lakefs_root(lakefs_endpoint),
        access_key_id=access_key_id,
        secret_access_key=secret,
        embedded_conductor=embedded_conductor,
        embedded_lakefs=embedded_lakefs,
    )
