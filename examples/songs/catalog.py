"""``catalog_check``: a read-only task that checks the catalog before anything is built from it.

It reads every ``raw/meta/*.json`` and reports, instead of failing, whether the catalog is usable: each song
needs an id like ``song-001``, a title, an artist, a year between 1900 and 2100, a known genre and a
``raw/plays/<song_id>.csv``. The ``songs_catalog`` workflow branches on ``valid`` (a SWITCH): a clean catalog
goes on to the per-song loop and the build, a broken one ends the workflow with the problems as reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from examples.songs.data import GENRES
from perago import WorkspaceSpec, task
from perago.guards import RequiredPaths

SONG_ID = re.compile(r"^song-\d{3}$")
FIELDS = ("song_id", "title", "artist", "year", "genre")


class CatalogParams(BaseModel):
    """How many songs a usable catalog has at least."""

    model_config = ConfigDict(extra="forbid")

    min_songs: int = Field(1, ge=0)


class CatalogReport(BaseModel):
    """Whether the catalog is usable, its songs' metadata, and what is wrong with it."""

    valid: bool
    count: int
    songs: list[dict[str, object]]
    problems: list[str]


def _problems(path: str, meta: dict[str, object], workspace: Path) -> list[str]:
    found = [f"{path}: missing {field}" for field in FIELDS if meta.get(field) in (None, "")]
    song_id, year = str(meta.get("song_id", "")), meta.get("year")
    if song_id and not SONG_ID.match(song_id):
        found.append(f"{path}: song_id {song_id!r} is not like song-001")
    if year is not None and not (isinstance(year, int) and 1900 <= year <= 2100):
        found.append(f"{path}: year {year!r} is not between 1900 and 2100")
    if meta.get("genre") not in (None, "") and meta.get("genre") not in GENRES:
        found.append(f"{path}: unknown genre {meta.get('genre')!r}")
    if song_id and not (workspace / "raw/plays" / f"{song_id}.csv").is_file():
        found.append(f"{path}: no raw/plays/{song_id}.csv")
    return found


@task(
    workspace=WorkspaceSpec(read_only=True, pre=[RequiredPaths(paths=["raw/meta/*.json"])]),
    description="Check the song catalog under raw/ (read-only) and report whether it is usable.",
)
def catalog_check(workspace: Path, params: CatalogParams) -> CatalogReport:
    """List the songs and every problem found; never fails on bad data (the workflow decides)."""
    songs: list[dict[str, object]] = []
    problems: list[str] = []
    for meta_path in sorted((workspace / "raw/meta").glob("*.json")):
        path = meta_path.relative_to(workspace).as_posix()
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError as exc:
            problems.append(f"{path}: not valid JSON ({exc})")
            continue
        problems += _problems(path, meta, workspace)
        songs.append({field: meta.get(field) for field in FIELDS})
    if len(songs) < params.min_songs:
        problems.append(f"{len(songs)} songs, fewer than {params.min_songs}")
    return CatalogReport(valid=not problems, count=len(songs), songs=songs, problems=problems)
