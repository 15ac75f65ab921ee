"""``app.workers.features_build``: a writable workspace task, as the seed's examples call it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pydantic import BaseModel, Field

from perago import RequiredPaths, WorkspaceSpec, task


class FeaturesParams(BaseModel):
    feature_set: str = "default"
    min_rows: int = Field(100, ge=0)


class FeaturesResult(BaseModel):
    row_count: int
    feature_count: int


@task(workspace=WorkspaceSpec(pre=[RequiredPaths(paths=["raw/*.csv"])]))
def features_build(workspace_dir: Path, params: FeaturesParams) -> FeaturesResult:
    """Count rows of raw/*.csv and write one feature row per input row."""
    rows = []
    for path in sorted((workspace_dir / "raw").glob("*.csv")):
        with path.open(newline="") as handle:
            rows.extend(csv.DictReader(handle))
    if len(rows) < params.min_rows:
        raise ValueError(f"only {len(rows)} rows, {params.min_rows} required")
    features = sorted({key for row in rows for key in row})
    out = workspace_dir / "features"
    out.mkdir(exist_ok=True)
    (out / f"{params.feature_set}.json").write_text(json.dumps({"rows": len(rows), "features": features}))
    return FeaturesResult(row_count=len(rows), feature_count=len(features))
