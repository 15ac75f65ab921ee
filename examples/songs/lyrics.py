"""``lyrics_stats``: a writable task that counts words in the lyrics and writes ``stats/lyrics.json``.

It reads only ``raw/meta/`` and writes only ``stats/``, so it can run beside ``features_build`` (which writes
``features/``) in a FORK_JOIN: both merge into the same branch without conflict.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from perago import WorkspaceSpec, task
from perago.guards import ChangesOnlyUnder, RequiredPaths, ValidJson


class LyricsParams(BaseModel):
    """How many top words to keep."""

    model_config = ConfigDict(extra="forbid")

    top_words: int = Field(5, ge=1, le=50)


class LyricsResult(BaseModel):
    """A summary of what was written."""

    songs: int
    total_words: int
    top_words: list[str]


SPEC = WorkspaceSpec(
    pre=[RequiredPaths(paths=["raw/meta/*.json"], min_count=1), ValidJson(paths=["raw/meta/*.json"])],
    post=[ChangesOnlyUnder(prefixes=["stats/"]), ValidJson(paths=["stats/*.json"])],
)


@task(workspace=SPEC, description="Count lyrics words per song into stats/lyrics.json.")
def lyrics_stats(workspace: Path, params: LyricsParams) -> LyricsResult:
    """Count words per song and overall."""
    per_song: dict[str, int] = {}
    overall: Counter[str] = Counter()
    for meta_path in sorted((workspace / "raw/meta").glob("*.json")):
        meta = json.loads(meta_path.read_text())
        words = str(meta.get("lyrics", "")).lower().split()
        per_song[meta["song_id"]] = len(words)
        overall.update(words)
    top = [word for word, _ in overall.most_common(params.top_words)]
    stats = {"per_song": per_song, "total_words": sum(per_song.values()), "top_words": top}
    (workspace / "stats").mkdir(exist_ok=True)
    (workspace / "stats/lyrics.json").write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    return LyricsResult(songs=len(per_song), total_words=stats["total_words"], top_words=top)
