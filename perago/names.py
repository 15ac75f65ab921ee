r"""lakeFS's naming rules, as its server validates them (no lakeFS client needed).

- Repository: ``^[a-z0-9][a-z0-9-]{2,62}$`` (pkg/validator/validate.go ReValidRepositoryID).
- Branch: ``^\w[-\w]*$`` where ``\w`` is ASCII-only, as in Go's RE2 (ReValidBranchID): letters, digits, ``_``
  and ``-``, not starting with ``-``; no slashes, no dots, nothing outside ASCII.
- Tag: git's ref rules with lakeFS's differences (pkg/graveler/validate.go ValidateTagID): not empty, not ``@``,
  not ending in ``.`` or ``.lock``; no ``..``, ``/`` or ``@{``; none of ``^ : ? * [ \``; no spaces or control
  characters; ``~`` and non-ASCII letters are allowed.
"""

from __future__ import annotations

import re

REPOSITORY_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")
BRANCH_NAME_RE = re.compile(r"^\w[-\w]*$", re.ASCII)
_TAG_FORBIDDEN = ("..", "/", "@{", "^", ":", "?", "*", "[", "\\")


def repository_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid lakeFS repository name, or None."""
    if REPOSITORY_NAME_RE.match(name):
        return None
    return "3-63 characters: lowercase ASCII letters, digits and '-', not starting with '-'"


def branch_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid lakeFS branch name, or None."""
    if BRANCH_NAME_RE.match(name):
        return None
    return "ASCII letters, digits, '_' and '-' only, not starting with '-' (no slashes, dots or spaces)"


def tag_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid lakeFS tag name, or None."""
    if not name or name == "@":
        return "a tag name cannot be empty or '@'"
    if name.endswith((".", ".lock")):
        return "a tag name cannot end with '.' or '.lock'"
    bad = [part for part in _TAG_FORBIDDEN if part in name]
    if bad:
        return f"a tag name cannot contain {' '.join(repr(b) for b in bad)}"
    if any(ord(c) <= 0x20 for c in name):
        return "a tag name cannot contain spaces or control characters"
    return None


def is_valid_repository_name(name: str) -> bool:
    """Whether lakeFS accepts ``name`` as a repository id."""
    return repository_name_problem(name) is None


def is_valid_branch_name(name: str) -> bool:
    """Whether lakeFS accepts ``name`` as a branch id."""
    return branch_name_problem(name) is None


def is_valid_tag_name(name: str) -> bool:
    """Whether lakeFS accepts ``name`` as a tag id."""
    return tag_name_problem(name) is None
