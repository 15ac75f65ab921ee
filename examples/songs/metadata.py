"""``metadata_validate``: a workspace-free task that validates one song's metadata."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from perago import task

Genre = Literal["rock", "pop", "jazz", "folk", "electronic"]


class SongMetadata(BaseModel):
    """A song's metadata, as a workflow passes it in."""

    model_config = ConfigDict(extra="forbid")

    song_id: str = Field(min_length=1, pattern=r"^song-\d{3}$", description="e.g. song-001")
    title: str = Field(min_length=1, max_length=200)
    artist: str = Field(min_length=1, max_length=200)
    year: int = Field(ge=1900, le=2100)
    genre: Genre


class ValidatedSong(BaseModel):
    """The normalised metadata."""

    song_id: str
    title: str
    artist: str
    decade: str


@task(description="Validate and normalise one song's metadata (no workspace).", retry_count=0)
def metadata_validate(params: SongMetadata) -> ValidatedSong:
    """Pydantic already validated the params; this only normalises them."""
    return ValidatedSong(
        song_id=params.song_id,
        title=" ".join(params.title.split()).title(),
        artist=" ".join(params.artist.split()),
        decade=f"{params.year // 10 * 10}s",
    )
