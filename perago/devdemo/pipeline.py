"""Prepare the example pipeline on a lakeFS + Conductor pair and start its workflows.

The example itself (tasks, sample data, workflow JSON) lives in ``examples.songs``, importable from a perago
checkout; this module only wires it to the servers.
"""

from __future__ import annotations

import importlib
import json
import re
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from perago.devdemo.http import call_json
from perago.devdemo.stack import Endpoints
from perago.errors import ConfigurationError

BRANCHES = {"songs_pipeline": "pipeline", "songs_fork": "fork", "songs_catalog": "catalog"}


def import_examples(module: str) -> tuple[ModuleType, ModuleType]:
    """The example package and its bootstrap module, or a clear error when not run from a checkout."""
    try:
        return importlib.import_module(module), importlib.import_module(f"{module}.stack")
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"cannot import the example package {module!r} ({exc}); run `python -m perago dev` from the root "
            "of a perago checkout (where examples/ is), or pass --examples with an importable package"
        ) from exc


def branch_names(workflows: list[str], unique: bool) -> dict[str, str]:
    """One target branch per workflow; suffixed with a UTC timestamp on real servers so reruns start clean."""
    stamp = datetime.now(UTC).strftime("-%Y%m%dT%H%M%S") if unique else ""
    return {name: BRANCHES.get(name, re.sub(r"[^0-9A-Za-z-]", "-", name)) + stamp for name in workflows}


def song_params(data_module: ModuleType, overrides: dict[str, Any]) -> dict[str, Any]:
    """The first sample song's metadata as ``metadata_validate`` params, with ``overrides`` applied."""
    first = next(iter(data_module.sample_files().values()))
    meta = json.loads(first)
    params = {key: meta[key] for key in ("song_id", "title", "artist", "year", "genre")}
    return params | overrides


def workflow_input(repository: str, branch: str, song: dict[str, Any]) -> dict[str, Any]:
    """The input of one example workflow: the song, the workspace (the branch head) and empty task params."""
    workspace = {"repository": repository, "branch": branch, "ref_type": "branch", "ref": branch}
    return {"song": song, "workspace": workspace, "features": {}, "lyrics": {}, "report": {}}


def start_workflow(conductor_url: str, name: str, payload: dict[str, Any]) -> str:
    """Start workflow ``name`` (latest version) with ``payload``; return its id."""
    workflow_id = call_json("POST", f"{conductor_url}/workflow/{name}", payload)
    return str(workflow_id)


def check_reachable(endpoints: Endpoints) -> None:
    """Fail with one clear line when Conductor or lakeFS does not answer (before any real work starts)."""
    call_json("GET", f"{endpoints.lakefs_endpoint}/api/v1/healthcheck", timeout_s=5)
    call_json("GET", endpoints.conductor_url.removesuffix("/api") + "/health", timeout_s=5)
