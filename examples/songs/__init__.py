"""The song pipeline: a small but real perago example over a lakeFS repository of song data.

Tasks (one module each, found by ``perago.discover_tasks("examples.songs")``):

- ``metadata_validate`` (workspace-free): validates one song's metadata params.
- ``features_build`` (writable): reads ``raw/``, writes ``features/songs.csv`` and ``features/manifest.json``.
- ``lyrics_stats`` (writable): reads ``raw/meta/``, writes ``stats/lyrics.json``.
- ``report`` (read-only): summarises the features (and the lyrics stats when present).
- ``catalog_check`` (read-only): reports whether the catalog under ``raw/`` is usable, and its songs.

Workflow definitions (Conductor JSON) live in ``workflows/``: ``songs_pipeline`` chains the workspace from
``features_build`` to ``report`` through ``${features.output.workspace}``; ``songs_fork`` runs
``features_build`` and ``lyrics_stats`` side by side in a FORK_JOIN (disjoint paths, two merges); its report
reads the branch head after the JOIN (built from ``${features.output.workspace}``), which holds both merges, since
each writer's output pins only its own merge. ``songs_catalog`` checks the catalog, branches on the result
(SWITCH), makes a card per song (DO_WHILE over the songs, INLINE), counts songs per decade (JSON_JQ_TRANSFORM) and
runs ``songs_pipeline`` as a SUB_WORKFLOW, or ends at a TERMINATE with the catalog's problems. Run them all with
``python -m perago dev``; serve them with
``python -m perago.worker examples.songs``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WORKFLOWS_DIR = Path(__file__).parent / "workflows"


def workflow_definitions() -> list[dict[str, Any]]:
    """The example Conductor workflow definitions, as JSON objects (sorted by name)."""
    paths = sorted(WORKFLOWS_DIR.glob("*.json"))
    return [json.loads(path.read_text()) for path in paths]
