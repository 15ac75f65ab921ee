"""A deterministic generator of the sample song data the example pipeline works on.

``generate_songs(directory)`` writes, for each song, ``raw/meta/<song_id>.json`` (metadata and lyrics) and
``raw/plays/<song_id>.csv`` (daily play counts): a few dozen small files, the same bytes on every run.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

GENRES = ("rock", "pop", "jazz", "folk", "electronic")
WORDS = ("love", "night", "light", "road", "river", "heart", "fire", "rain", "dream", "home", "summer")
DAYS = 7


def song_ids(count: int = 24) -> list[str]:
    """The ids of the generated songs: ``song-001`` ... ``song-<count>``."""
    return [f"song-{index:03d}" for index in range(1, count + 1)]


def song_metadata(song_id: str, rng: random.Random) -> dict[str, object]:
    """One song's metadata record (title, artist, year, genre, duration, tempo, lyrics)."""
    title = " ".join(rng.choice(WORDS).title() for _ in range(rng.randint(1, 3)))
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))) for _ in range(rng.randint(4, 8))]
    return {
        "song_id": song_id,
        "title": title,
        "artist": f"Artist {rng.randint(1, 6)}",
        "year": rng.randint(1965, 2024),
        "genre": rng.choice(GENRES),
        "duration_s": rng.randint(120, 420),
        "bpm": rng.randint(60, 180),
        "lyrics": "\n".join(lines),
    }


def song_plays(rng: random.Random) -> str:
    """One song's daily plays as CSV text (``day,plays``)."""
    rows = [f"{day},{rng.randint(0, 500)}" for day in range(1, DAYS + 1)]
    return "day,plays\n" + "\n".join(rows) + "\n"


def sample_files(count: int = 24, seed: int = 7) -> dict[str, bytes]:
    """The sample data as ``{path: bytes}`` (what the demo uploads to lakeFS)."""
    rng = random.Random(seed)
    files: dict[str, bytes] = {}
    for song_id in song_ids(count):
        meta = json.dumps(song_metadata(song_id, rng), indent=2) + "\n"
        files[f"raw/meta/{song_id}.json"] = meta.encode()
        files[f"raw/plays/{song_id}.csv"] = song_plays(rng).encode()
    return files


def generate_songs(directory: Path, count: int = 24, seed: int = 7) -> list[str]:
    """Write the sample data under ``directory`` and return the relative paths written."""
    files = sample_files(count, seed)
    for path, data in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return sorted(files)
