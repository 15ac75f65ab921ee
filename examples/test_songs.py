"""Testing the song tasks with perago's harness, the way to test your own tasks (README "Testing your tasks").

Only ``perago.testing``'s public API is used: ``TaskEnvironment`` runs one task through perago's real attempt
runtime against a local directory or an emulated lakeFS repository (the ``lakefs_repository`` fixture comes
from perago's pytest plugin, installed with perago).
"""

from __future__ import annotations

import json

from examples.songs.data import generate_songs, sample_files
from examples.songs.features import features_build
from examples.songs.lyrics import lyrics_stats
from examples.songs.metadata import metadata_validate
from examples.songs.report import report
from perago.testing import TaskEnvironment

SONG = {"song_id": "song-001", "title": "night  road", "artist": "Artist 1", "year": 1987, "genre": "rock"}


def test_metadata_validate_normalises_a_song():
    run = TaskEnvironment(metadata_validate).run(SONG).assert_completed()

    assert run.result is not None
    assert run.result.model_dump() == {
        "song_id": "song-001",
        "title": "Night Road",
        "artist": "Artist 1",
        "decade": "1980s",
    }
    assert run.output == {"result": run.result.model_dump()}


def test_metadata_validate_rejects_an_empty_song_id_terminally():
    run = TaskEnvironment(metadata_validate).run(SONG | {"song_id": ""})

    assert run.status == "FAILED_WITH_TERMINAL_ERROR"
    assert "song_id" in run.reason


def test_features_build_publishes_only_under_features(tmp_path):
    generate_songs(tmp_path, count=6)

    run = TaskEnvironment(features_build).run({"min_total_plays": 0}, directory=tmp_path).assert_completed()

    assert run.result.songs == 6
    assert run.changes.added == ("features/manifest.json", "features/songs.csv")
    assert run.changes.changed == run.changes.removed == ()
    assert run.calls == ("download", "fence", "stage", "fence", "publish", "cleanup")
    assert run.commit["metadata"]["perago.task"] == "features_build"
    manifest = json.loads((tmp_path / "features/manifest.json").read_text())
    assert manifest["rows"] == 6 and len(manifest["inputs"]) == 12


def test_features_build_twice_is_a_noop(tmp_path):
    generate_songs(tmp_path, count=3)
    env = TaskEnvironment(features_build)
    first = env.run({}, directory=tmp_path).assert_completed()

    second = env.run({}, directory=tmp_path).assert_completed()

    assert second.changes is None and second.commit is None
    assert "noop" in second.calls and "publish" not in second.calls
    assert second.workspace.ref == first.workspace.ref


def test_features_build_pre_guardrail_refuses_a_workspace_without_raw_data(tmp_path):
    (tmp_path / "notes.txt").write_text("no songs here")

    run = TaskEnvironment(features_build).run({}, directory=tmp_path)

    assert run.status == "FAILED_WITH_TERMINAL_ERROR"
    assert "raw/meta/*.json" in run.reason
    assert not (tmp_path / "features").exists()


def test_report_is_read_only(tmp_path):
    generate_songs(tmp_path, count=5)
    TaskEnvironment(features_build).run({}, directory=tmp_path).assert_completed()

    run = TaskEnvironment(report).run({"top": 2}, directory=tmp_path).assert_completed()

    assert run.result.songs == 5 and len(run.result.top_songs) == 2
    assert sum(run.result.songs_by_genre.values()) == 5
    assert run.changes is None and "stage" not in run.calls


def test_lyrics_stats_on_an_emulated_lakefs_repository(lakefs_repository):
    seeded = lakefs_repository.put(sample_files(count=4), message="songs")

    run = TaskEnvironment(lyrics_stats).run(
        {"top_words": 3}, workspace=lakefs_repository.workspace("main"), repository=lakefs_repository
    )

    run.assert_completed()
    assert run.changes.added == ("stats/lyrics.json",)
    assert run.commit["parents"][0] == seeded
    assert run.commit["metadata"]["perago.task"] == "lyrics_stats"
    assert run.commit["metadata"]["perago.input_commit"] == seeded
    stats = json.loads(lakefs_repository.read("stats/lyrics.json", ref="main"))
    assert stats["total_words"] == run.result.total_words and len(stats["per_song"]) == 4


def test_report_reads_a_pinned_commit_and_publishes_nothing(lakefs_repository):
    lakefs_repository.put(sample_files(count=3))
    TaskEnvironment(features_build).run(
        {}, workspace=lakefs_repository.workspace("main"), repository=lakefs_repository
    ).assert_completed()
    head = lakefs_repository.commit("main")["id"]

    run = (
        TaskEnvironment(report)
        .run({}, workspace=lakefs_repository.workspace("main"), repository=lakefs_repository)
        .assert_completed()
    )

    assert run.workspace.ref == head and run.workspace.ref_type == "commit"
    assert run.commit is None and lakefs_repository.commit("main")["id"] == head
