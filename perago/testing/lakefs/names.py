"""Name validation as lakeFS's server does it, with its error messages.

Repository, branch and tag rules are :mod:`perago.names` (the store checks names by the same rules); the ref rule
is pkg/validator/validate.go (RE2: ``\\s`` is ASCII-only, hence ``re.ASCII``). Validation errors are 400 with
messages built like ``validator.Validate``'s ("argument <name>: <kind> id: invalid value: validation error").
"""

from __future__ import annotations

import re

from perago.names import BRANCH_NAME_RE, REPOSITORY_NAME_RE, is_valid_tag_name
from perago.testing.lakefs.calls import ApiError

REF_RE = re.compile(r"^[^\s]+$", re.ASCII)
_INVALID = "invalid value: validation error"
BRANCH_HINT = "branch id must consist of letters, digits, underscores and dashes, and cannot start with a dash"


def _required(argument: str, value: str) -> None:
    if not value:
        raise ApiError(400, f"argument {argument}: required value: validation error")


def check_repository(value: str, argument: str = "repository") -> None:
    """graveler.ValidateRepositoryID."""
    _required(argument, value)
    if not REPOSITORY_NAME_RE.match(value):
        raise ApiError(400, f"argument {argument}: repository id: {_INVALID}")


def check_branch(value: str, argument: str = "branch", hint: bool = False) -> None:
    """graveler.ValidateBranchID; Catalog.CreateBranch adds the hint about allowed characters."""
    _required(argument, value)
    if not BRANCH_NAME_RE.match(value):
        suffix = f": {BRANCH_HINT}" if hint else ""
        raise ApiError(400, f"argument {argument}: branch id: {_INVALID}{suffix}")


def check_ref(value: str, argument: str = "ref") -> None:
    """graveler.ValidateRef: any non-empty string without ASCII whitespace."""
    _required(argument, value)
    if not REF_RE.match(value):
        raise ApiError(400, f"argument {argument}: ref: {_INVALID}")


def check_tag(value: str, argument: str = "tagID") -> None:
    """graveler.ValidateTagID as a 400."""
    _required(argument, value)
    if not is_valid_tag_name(value):
        raise ApiError(400, f"argument {argument}: tag id: {_INVALID}")
