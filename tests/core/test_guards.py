"""Guardrails: every declarative kind, callables, bounded listings, the phase."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import TypeAdapter

from perago import check_guardrails
from perago.errors import PostGuardrailViolation, PreGuardrailViolation
from perago.guards import (
    MAX_LISTED_PATHS,
    ChangesOnlyUnder,
    DeclarativeGuardrail,
    FileCount,
    ForbiddenPaths,
    MaxFileSize,
    MaxTotalSize,
    RequiredPaths,
    ValidJson,
    matches,
)
from perago.snapshot import snapshot_directory


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / "raw/meta").mkdir(parents=True)
    (tmp_path / "raw/meta/a.json").write_text('{"a": 1}')
    (tmp_path / "raw/meta/b.json").write_text("{broken")
    (tmp_path / "raw/big.bin").write_bytes(b"x" * 1000)
    (tmp_path / "notes.txt").write_text("hi")
    return tmp_path


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("raw/meta/a.json", "raw/meta/*.json", True),
        ("raw/meta/x/a.json", "raw/meta/*.json", False),
        ("a/b/c.json", "**/*.json", True),
        ("c.json", "**/*.json", True),
        ("features/x/y", "features/**", True),
        ("a+b", "a+b", True),
        ("a.b", "a?b", True),
        ("a/b", "a?b", False),
    ],
)
def test_glob_matching(path: str, pattern: str, expected: bool) -> None:
    assert matches(path, pattern) is expected


def test_passing_guardrails_raise_nothing(ws: Path) -> None:
    check_guardrails(
        ws,
        [
            RequiredPaths(paths=["raw/meta/*.json"], min_count=2),
            ForbiddenPaths(paths=["**/*.exe"]),
            MaxFileSize(max_bytes=1000),
            MaxTotalSize(max_bytes=10_000),
            FileCount(min_count=4, max_count=4),
            ValidJson(paths=["raw/meta/a.json"]),
        ],
        "pre",
    )


def test_every_failure_is_listed_with_its_paths(ws: Path) -> None:
    with pytest.raises(PreGuardrailViolation) as info:
        check_guardrails(
            ws,
            [
                RequiredPaths(paths=["raw/meta/*.json", "raw/plays/*.csv"], min_count=3),
                ForbiddenPaths(paths=["*.txt"]),
                MaxFileSize(max_bytes=100),
                MaxTotalSize(max_bytes=10),
                FileCount(max_count=2),
                FileCount(min_count=9, paths=["raw/**"]),
                ValidJson(paths=["raw/meta/*.json"]),
                lambda d: ["custom check failed"] if (d / "notes.txt").exists() else [],
            ],
            "pre",
        )
    failures = info.value.failures
    assert info.value.phase == "pre"
    assert failures == [
        "required_paths: required 'raw/meta/*.json': found 2 file(s), need at least 3",
        "required_paths: required 'raw/plays/*.csv': found 0 file(s), need at least 3",
        "forbidden_paths: forbidden paths present: notes.txt",
        "max_file_size: files larger than 100 bytes: raw/big.bin",
        "max_total_size: total size 1017 bytes exceeds 10 bytes",
        "file_count: file count 4 exceeds the maximum 2 (**)",
        "file_count: file count 3 is below the minimum 9 (raw/**)",
        failures[7],
        "<lambda>: custom check failed",
    ]
    assert failures[7].startswith("valid_json: invalid JSON: raw/meta/b.json (")


def test_listed_paths_are_bounded(tmp_path: Path) -> None:
    for i in range(25):
        (tmp_path / f"f{i:02}.tmp").write_text("x")
    with pytest.raises(PreGuardrailViolation) as info:
        check_guardrails(tmp_path, [ForbiddenPaths(paths=["*.tmp"])], "pre")
    message = info.value.failures[0]
    assert message.count(".tmp") == MAX_LISTED_PATHS
    assert message.endswith(f"(+{25 - MAX_LISTED_PATHS} more)")


def test_changes_only_under_in_the_post_phase(ws: Path) -> None:
    before = snapshot_directory(ws)
    (ws / "features").mkdir()
    (ws / "features/t.csv").write_text("ok")
    check_guardrails(ws, [ChangesOnlyUnder(prefixes=["features/"])], "post", before=before)
    (ws / "notes.txt").unlink()
    with pytest.raises(PostGuardrailViolation, match=r"changes outside features/: notes\.txt"):
        check_guardrails(ws, [ChangesOnlyUnder(prefixes=["features/"])], "post", before=before)


def test_changes_only_under_needs_the_before_snapshot(ws: Path) -> None:
    with pytest.raises(PreGuardrailViolation, match="needs the before-snapshot"):
        check_guardrails(ws, [ChangesOnlyUnder(prefixes=["x/"])], "pre")


def test_declarative_guardrails_load_from_json() -> None:
    adapter = TypeAdapter(list[DeclarativeGuardrail])
    loaded = adapter.validate_json(
        '[{"kind": "valid_json", "paths": ["*.json"]}, {"kind": "max_file_size", "max_bytes": 5}]'
    )
    assert loaded == [ValidJson(paths=["*.json"]), MaxFileSize(max_bytes=5)]
    with pytest.raises(ValueError, match="kind"):
        adapter.validate_python([{"kind": "nope"}])
