"""Name validation as lakeFS's server does it, with its error messages.

Repository, branch and ref rules are pkg/validator/validate.go (RE2: ``\\w`` and ``\\s`` are ASCII-only, hence
``re.ASCII``); tag rules are pkg/graveler/validate.go ValidateTagID (git-check-ref-format, but ``~`` allowed and
``/`` refused). Validation errors are 400 with messages built like ``validator.Validate``'s
("argument <name>: <kind> id: invalid value: validation error").
"""

from __future__ import annotations

import re

from perago.testing.lakefs.calls import ApiError

REPOSITORY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")
BRANCH_RE = re.compile(r"^\w[-\w]*$", re.ASCII)
REF_RE = re.compile(r"^[^\s]+$", re.ASCII)
_INVALID = "invalid value: validation error"
BRANCH_HINT = "branch id must consist of letters, digits, underscores and dashes, and cannot start with a dash"


def _required(argument: str, value: str) -> None:
    if not value:
        raise ApiError(400, f"argument {argument}: required value: validation error")


def check_repository(value: str, argument: str = "repository") -> None:
    """graveler.ValidateRepositoryID."""
    _required(argument, value)
    if not REPOSITORY_RE.match(value):
        raise ApiError(400, f"argument {argument}: repository id: {_INVALID}")


def check_branch(value: str, argument: str = "branch", hint: bool = False) -> None:
    """graveler.ValidateBranchID; Catalog.CreateBranch adds the hint about allowed characters."""
    _required(argument, value)
    if not BRANCH_RE.match(value):
        suffix = f": {BRANCH_HINT}" if hint else ""
        raise ApiError(400, f"argument {argument}: branch id: {_INVALID}{suffix}")


def check_ref(value: str, argument: str = "ref") -> None:
    """graveler.ValidateRef: any non-empty string without ASCII whitespace."""
    _required(argument, value)
    if not REF_RE.match(value):
        raise ApiError(400, f"argument {argument}: ref: {_INVALID}")


def tag_is_valid(tag: str) -> bool:
    """graveler.ValidateTagID."""
    if not tag or tag == "@" or tag.endswith((".", ".lock")):
        return False
    if any(bad in tag for bad in ("..", "/", "@{")) or any(c in tag for c in "^:?*[\\"):
        return False
    return all(ord(c) > 0x20 for c in tag)


def check_tag(value: str, argument: str = "tagID") -> None:
    """graveler.ValidateTagID as a 400."""
    _required(argument, value)
    if not tag_is_valid(value):
        raise ApiError(400, f"argument {argument}: tag id: {_INVALID}")
