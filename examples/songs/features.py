"""``features_build``: a writable task that turns the raw song files into a features table.

Pre guardrails check the inputs before the function runs; post guardrails confine its changes to
``features/`` and check that the manifest is valid JSON. A violation fails the task terminally and nothing is
published.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from perago import WorkspaceSpec, task
from perago.guards import ChangesOnlyUnder, MaxFileSize, RequiredPaths, ValidJson

COLUMNS = (
    "song_id",
    "title",
    "artist",
    "year",
    "genre",
    "duration_s",
    "bpm",
    "total_plays",
    "avg_daily_plays",
)


class FeaturesParams(BaseModel):
    """Which songs to keep."""

    model_config = ConfigDict(extra="forbid")

    min_total_plays: int = Field(0, ge=0, description="drop songs with fewer plays over the week")


class FeaturesResult(BaseModel):
    """What was written."""

    songs: int
    table: str
    manifest: str


SPEC = WorkspaceSpec(
    pre=[
        RequiredPaths(paths=["raw/meta/*.json"], min_count=1),
        RequiredPaths(paths=["raw/plays/*.csv"], min_count=1),
        ValidJson(paths=["raw/meta/*.json"]),
        MaxFileSize(max_bytes=1_000_000),
    ],
    post=[ChangesOnlyUnder(prefixes=["features/"]), ValidJson(paths=["features/manifest.json"])],
)


def _total_plays(path: Path) -> int:
    with path.open(newline="") as handle:
        return sum(int(row["plays"]) for row in csv.DictReader(handle))


def _rows(root: Path, params: FeaturesParams) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for meta_path in sorted((root / "raw/meta").glob("*.json")):
        meta = json.loads(meta_path.read_text())
        plays_path = root / "raw/plays" / f"{meta['song_id']}.csv"
        total = _total_plays(plays_path) if plays_path.exists() else 0
        if total < params.min_total_plays:
            continue
        row = {column: meta.get(column) for column in COLUMNS[:7]}
        rows.append(row | {"total_plays": total, "avg_daily_plays": round(total / 7, 2)})
    return rows


@task(workspace=SPEC, description="Build features/songs.csv and its manifest from raw/.")
def features_build(workspace: Path, params: FeaturesParams) -> FeaturesResult:
    """Write the features table and a manifest naming every input's SHA-256."""
    rows = _rows(workspace, params)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (workspace / "features").mkdir(exist_ok=True)
    (workspace / "features/songs.csv").write_text(buffer.getvalue())
    inputs = {
        path.relative_to(workspace).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((workspace / "raw").rglob("*"))
        if path.is_file()
    }
    manifest = {"table": "features/songs.csv", "rows": len(rows), "columns": list(COLUMNS), "inputs": inputs}
    (workspace / "features/manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return FeaturesResult(songs=len(rows), table="features/songs.csv", manifest="features/manifest.json")
