"""References, merge bases and the commit log, as lakeFS's graveler resolves and walks them."""

from __future__ import annotations

import time
from collections import Counter

from lakefs_sdk import BranchCreation, CommitCreation
from lakefs_sdk.client import LakeFSClient

from perago.testing.lakefs import LakeFSEmulator
from tests.testing.lakefs.conftest import branch_with, error_of, raw, status_of


def commit_on(sdk: LakeFSClient, branch: str, path: str, data: bytes, date: int | None = None) -> str:
    sdk.objects_api.upload_object("songs", branch, path, content=data)
    return str(sdk.commits_api.commit("songs", branch, CommitCreation(message=path, var_date=date)).id)


def test_resolve_ref_precedence_and_modifiers(repo: LakeFSClient) -> None:
    """ref/resolve_ref.go ResolveRawRef: full id, branch, tag, then id prefix; ~N first parents, ^N N-th parent."""
    first = repo.commits_api.get_commit("songs", "main")
    dev = branch_with(repo, "dev", {"c.txt": b"c"})
    merge = repo.refs_api.merge_into_branch("songs", "dev", "main").reference
    get = lambda ref: repo.commits_api.get_commit("songs", ref).id  # noqa: E731
    assert get("main") == merge and get(merge[:12]) == merge and get(merge.upper()) == merge
    assert get("main~1") == first.id and get("main~") == first.id and get("main^1") == first.id
    assert get("main^2") == dev and get("main^0") == merge and get("main~2") == first.parents[0]
    repo.tags_api.create_tag("songs", {"id": "v1", "ref": "main~1"})
    assert get("v1") == first.id and get("v1~1") == first.parents[0]
    repo.branches_api.create_branch("songs", BranchCreation(name=dev[:7], source="main~1"))
    assert get(dev[:7]) == first.id  # a branch wins over a commit id prefix
    assert error_of(lambda: get("main^3"))[0] == 400  # ErrInvalidRef: no such parent
    assert error_of(lambda: get("main~9")) == (404, "commit not found")
    assert error_of(lambda: get("v1@"))[0] == 400  # @ and $ only after a branch, alone
    assert error_of(lambda: get("main@~1"))[0] == 400


def test_an_ambiguous_commit_prefix_is_not_found(repo: LakeFSClient) -> None:
    """ref manager GetCommitByPrefix: more than one commit with the prefix -> ErrCommitNotFound."""
    ids = [commit_on(repo, "main", f"f{i}.txt", b"x") for i in range(17)]
    ids += [c.id for c in repo.refs_api.log_commits("songs", "main", amount=1000).results]
    counts = Counter(c[0] for c in set(ids))
    shared = next(char for char, n in counts.items() if n > 1)  # 17+ commits, 16 hex digits
    assert status_of(lambda: repo.commits_api.get_commit("songs", shared)) == 404


def test_committed_and_staged_views_of_a_branch(repo: LakeFSClient, emu: LakeFSEmulator) -> None:
    """A branch reads its staging; ``branch@`` only the commit; ``branch$`` is not a commit."""
    repo.objects_api.upload_object("songs", "main", "uncommitted.txt", content=b"u")
    stat = lambda ref: status_of(lambda: repo.objects_api.stat_object("songs", ref, "uncommitted.txt"))  # noqa: E731
    assert (stat("main"), stat("main$"), stat("main@")) == (200, 200, 404)
    assert error_of(lambda: repo.commits_api.get_commit("songs", "main$"))[0] == 400
    two_dot = raw(emu, "GET", "/repositories/songs/refs/main/diff/main$", fields={"type": "two_dot"}).json()
    assert [d["path"] for d in two_dot["results"]] == ["uncommitted.txt"]  # graveler.Diff: staging only with $
    assert (
        raw(emu, "GET", "/repositories/songs/refs/main/diff/main", fields={"type": "two_dot"}).json()["results"] == []
    )


def test_merge_base_is_found_by_generation(repo: LakeFSClient) -> None:
    """ref/merge_base_finder.go FindMergeBase over a criss-cross history."""
    seed = repo.commits_api.get_commit("songs", "main").id
    branch_with(repo, "one", {"1.txt": b"1"})
    branch_with(repo, "two", {"2.txt": b"2"})
    base = repo.refs_api.find_merge_base("songs", "one", "two")
    assert (base.base_commit_id, base.source_commit_id) == (
        seed,
        repo.branches_api.get_branch("songs", "one").commit_id,
    )
    repo.refs_api.merge_into_branch("songs", "one", "two")
    one = repo.commits_api.get_commit("songs", "one").id
    assert repo.refs_api.find_merge_base("songs", "one", "two").base_commit_id == one
    assert repo.refs_api.find_merge_base("songs", "two", "one").base_commit_id == one


NOW = int(time.time())


def history(repo: LakeFSClient) -> dict[str, str]:
    """main: X (date now+3000); dev: Y1 (+2500), Y2 (+2600, a higher generation than X); dev merged into main."""
    repo.branches_api.create_branch("songs", BranchCreation(name="dev", source="main"))
    ids = {"X": commit_on(repo, "main", "a.txt", b"x", NOW + 3000)}
    ids["Y1"] = commit_on(repo, "dev", "y1.txt", b"1", NOW + 2500)
    ids["Y2"] = commit_on(repo, "dev", "y2.txt", b"2", NOW + 2600)
    ids["M"] = repo.refs_api.merge_into_branch("songs", "dev", "main").reference
    return ids


def test_log_order_is_by_creation_time(repo: LakeFSClient) -> None:
    """ref/commit_iterator.go: newest first (ties: larger id first), parents queued as commits are popped."""
    ids = history(repo)
    log = [c.id for c in repo.refs_api.log_commits("songs", "main").results]
    assert log[:4] == [ids["M"], ids["X"], ids["Y2"], ids["Y1"]]  # X before Y2 although Y2's generation is higher
    first_parent = [c.id for c in repo.refs_api.log_commits("songs", "main", first_parent=True).results]
    assert first_parent[:2] == [ids["M"], ids["X"]] and ids["Y2"] not in first_parent


def test_log_ties_go_to_the_larger_commit_id(repo: LakeFSClient) -> None:
    repo.branches_api.create_branch("songs", BranchCreation(name="dev", source="main"))
    x, y = commit_on(repo, "main", "x.txt", b"x", NOW + 5000), commit_on(repo, "dev", "y.txt", b"y", NOW + 5000)
    merge = repo.refs_api.merge_into_branch("songs", "dev", "main").reference
    log = [c.id for c in repo.refs_api.log_commits("songs", "main").results]
    assert log[:3] == [merge, *sorted([x, y], reverse=True)]


def test_log_parameters(repo: LakeFSClient, emu: LakeFSEmulator) -> None:
    """catalog.ListCommits: after, amount, limit, stop_at (inclusive), since, objects/prefixes (no merges)."""
    ids = history(repo)
    log = repo.refs_api.log_commits
    page = log("songs", "main", amount=2)
    assert [c.id for c in page.results] == [ids["M"], ids["X"]] and page.pagination.has_more
    after = log("songs", "main", amount=2, after=page.pagination.next_offset)
    assert [c.id for c in after.results] == [ids["Y2"], ids["Y1"]]
    limited = log("songs", "main", amount=2, limit=True)
    assert len(limited.results) == 2 and not limited.pagination.has_more
    assert [c.id for c in log("songs", "main", stop_at="main~1").results] == [ids["M"], ids["X"]]
    seed = repo.commits_api.get_commit("songs", "main~1~1").id
    assert [c.id for c in log("songs", "main", objects=["a.txt"]).results] == [ids["X"], seed]
    assert [c.id for c in log("songs", "main", prefixes=["y"]).results] == [ids["Y2"], ids["Y1"]]


def test_log_since(repo: LakeFSClient, emu: LakeFSEmulator) -> None:
    """commit_iterator.go: commits older than ``since`` are not queued (nor their ancestors through them)."""
    chain = [commit_on(repo, "main", f"{i}.txt", b"i", NOW + 100 * i) for i in (1, 2, 3)]
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW + 150))
    answer = raw(emu, "GET", "/repositories/songs/refs/main/commits", fields={"since": since})
    assert [c["id"] for c in answer.json()["results"]] == [chain[2], chain[1]]
    naive = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(NOW + 150))  # what lakefs_sdk sends for a naive datetime
    assert status_of(lambda: repo.refs_api.log_commits("songs", "main", since=naive)) == 400  # Go wants RFC 3339
