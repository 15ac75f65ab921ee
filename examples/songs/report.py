"""``report``: a read-only task that summarises the features (and the lyrics stats when present)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from perago import WorkspaceSpec, task
from perago.guards import RequiredPaths


class ReportParams(BaseModel):
    """How many top songs to list."""

    model_config = ConfigDict(extra="forbid")

    top: int = Field(3, ge=1, le=20)


class Report(BaseModel):
    """The summary."""

    songs: int
    total_plays: int
    top_songs: list[str]
    songs_by_genre: dict[str, int]
    lyrics_words: int | None = None


@task(
    workspace=WorkspaceSpec(read_only=True, pre=[RequiredPaths(paths=["features/songs.csv"])]),
    description="Summarise features/songs.csv (read-only).",
)
def report(workspace: Path, params: ReportParams) -> Report:
    """Read the features table; never writes (a read-only task publishes nothing)."""
    with (workspace / "features/songs.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows.sort(key=lambda row: (-int(row["total_plays"]), row["song_id"]))
    stats_path = workspace / "stats/lyrics.json"
    lyrics_words = json.loads(stats_path.read_text())["total_words"] if stats_path.exists() else None
    return Report(
        songs=len(rows),
        total_plays=sum(int(row["total_plays"]) for row in rows),
        top_songs=[f"{row['song_id']} {row['title']}" for row in rows[: params.top]],
        songs_by_genre=dict(sorted(Counter(row["genre"] for row in rows).items())),
        lyrics_words=lyrics_words,
    )
