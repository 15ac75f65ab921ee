"""``app.workers.metadata_validate``: a workspace-free task, as the seed's examples call it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from perago import task

# A tiny catalogue stands in for the service a real task would ask.
DURATIONS_S = {"song-000123": 215, "song-000999": 12}


class MetadataParams(BaseModel):
    song_id: str = Field(pattern=r"^song-\d{6}$")
    min_duration_seconds: int = Field(0, ge=0)


class MetadataResult(BaseModel):
    valid: bool
    reason: str | None = None


@task
def metadata_validate(params: MetadataParams) -> MetadataResult:
    """Check that a song exists and is long enough."""
    duration = DURATIONS_S.get(params.song_id)
    if duration is None:
        return MetadataResult(valid=False, reason=f"{params.song_id} is not in the catalogue")
    if duration < params.min_duration_seconds:
        return MetadataResult(valid=False, reason=f"{duration} s is shorter than {params.min_duration_seconds} s")
    return MetadataResult(valid=True)
