"""Sparse selections: what an entry of ``WorkspaceSpec.paths`` includes, and that only its prefixes are listed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from perago.sparse import SparseSelection, check_sparse_path
from perago.spec import WorkspaceSpec

TREE = [
    "README.md",
    "config/app.json",
    "config/app.json.bak",
    "config/db.yaml",
    "config/nested/deep.json",
    "data/2024/meta.json",
    "data/2024/rows.csv",
    "data/2025/meta.json",
    "data/2025/sub/meta.json",
    "logs/app-1.txt",
    "logs/app-2.txt",
    "logs/db-1.txt",
    "raw/meta/a.csv",
    "raw/meta/b/c.csv",
    "raw/metadata.txt",
    "raw/other/x.csv",
]


class FakeLake:
    """lakeFS listing semantics over a list of paths: prefix is a string prefix; one level adds common prefixes."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = sorted(paths)
        self.calls: list[tuple[str, bool]] = []

    def __call__(self, prefix: str, one_level: bool) -> Iterator[tuple[str, str | None]]:
        self.calls.append((prefix, one_level))
        folders: set[str] = set()
        for path in self.paths:
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix) :]
            if one_level and "/" in rest:
                folder = prefix + rest[: rest.index("/") + 1]
                if folder not in folders:
                    folders.add(folder)
                    yield folder, None
                continue
            yield path, path


def selected(paths: list[str], tree: list[str] = TREE) -> tuple[list[str], list[tuple[str, bool]]]:
    lake = FakeLake(tree)
    found = list(SparseSelection(paths).select(lake))
    assert len(found) == len(set(found)), "an object was yielded twice"
    return sorted(found), lake.calls


def test_folder_prefix_lists_only_that_prefix() -> None:
    found, calls = selected(["raw/meta/"])
    assert found == ["raw/meta/a.csv", "raw/meta/b/c.csv"]
    assert calls == [("raw/meta/", False)]


def test_literal_path_selects_the_object_or_the_folder_of_that_name_not_a_longer_name() -> None:
    assert selected(["config/app.json"]) == (["config/app.json"], [("config/app.json", False)])
    assert selected(["raw/meta"])[0] == ["raw/meta/a.csv", "raw/meta/b/c.csv"]  # not raw/metadata.txt


def test_final_glob_lists_one_level_and_stays_inside_the_segment() -> None:
    found, calls = selected(["config/*.json"])
    assert found == ["config/app.json"]  # not .json.bak, not nested/deep.json
    assert calls == [("config/", True)]


def test_literal_head_of_a_glob_narrows_the_listing_prefix() -> None:
    found, calls = selected(["logs/app-?.txt"])
    assert found == ["logs/app-1.txt", "logs/app-2.txt"]
    assert calls == [("logs/app-", True)]


def test_wildcard_folder_walks_only_the_matching_subfolders() -> None:
    found, calls = selected(["data/*/meta.json"])
    assert found == ["data/2024/meta.json", "data/2025/meta.json"]
    assert calls == [("data/", True), ("data/2024/meta.json", True), ("data/2025/meta.json", True)]
    found, calls = selected(["data/2*5/**"])
    assert found == ["data/2025/meta.json", "data/2025/sub/meta.json"]
    assert calls == [("data/2", True), ("data/2025/", False)]


def test_double_star_lists_recursively_below_its_literal_folder() -> None:
    found, calls = selected(["config/**/*.json"])
    assert found == ["config/app.json", "config/nested/deep.json"]
    assert calls == [("config/", False)]
    assert selected(["**/meta.json"])[1] == [("", False)]


def test_overlapping_entries_list_once_and_yield_each_object_once() -> None:
    found, calls = selected(["raw/", "raw/meta/*.csv", "raw/other/x.csv", "config/*.json", "config/app.json"])
    assert found == ["config/app.json", *[p for p in TREE if p.startswith("raw/")]]
    assert calls == [("config/app.json", False), ("raw/", False), ("config/", True)]


def test_empty_paths_select_nothing_and_list_nothing() -> None:
    assert selected([]) == ([], [])


def test_includes_matches_what_select_returns() -> None:
    selection = SparseSelection(["raw/meta/", "config/*.json"])
    assert [p for p in TREE if selection.includes(p)] == ["config/app.json", "raw/meta/a.csv", "raw/meta/b/c.csv"]


segment = st.sampled_from(["a", "b", "ab", "a.json", "b.csv", "x-1", "x-2"])
tree_paths = st.lists(st.lists(segment, min_size=1, max_size=4).map("/".join), max_size=30, unique=True)
pattern_segment = st.sampled_from(["a", "b", "ab", "*", "a*", "*.json", "?", "x-?", "**"])
pattern = st.lists(pattern_segment, min_size=1, max_size=4).map("/".join) | st.lists(segment, min_size=1).map(
    lambda s: "/".join(s) + "/"
)


@settings(max_examples=300, deadline=None)
@given(tree=tree_paths, patterns=st.lists(pattern, max_size=3))
def test_listing_by_prefix_finds_exactly_what_filtering_the_whole_tree_would(
    tree: list[str], patterns: list[str]
) -> None:
    selection = SparseSelection(patterns)
    assert selected(patterns, tree)[0] == sorted(p for p in tree if selection.includes(p))


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("", "is not a path"),
        ("/etc/", "absolute paths"),
        ("a\\b", "backslashes"),
        ("raw/../x", "'..' segments"),
        ("raw//x", "empty"),
        ("./raw/", "'.'"),
    ],
)
def test_bad_entries_are_refused_when_the_spec_is_built(entry: str, problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        WorkspaceSpec(paths=["ok/", entry])
    message = str(info.value)
    assert "paths[1]" in message and problem in message and "relative to the repository root" in message
    with pytest.raises(ValueError, match="relative to the repository root"):
        check_sparse_path(entry)


def test_spec_without_paths_is_the_whole_workspace() -> None:
    assert WorkspaceSpec().paths is None
    assert WorkspaceSpec(paths=["raw/", "*.json"]).paths == ["raw/", "*.json"]
