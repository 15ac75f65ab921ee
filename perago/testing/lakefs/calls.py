"""Request and reply values of the emulator's operations, lakeFS's error answer, and its pagination.

Query parameters are checked as lakeFS's OpenAPI request validator (kin-openapi, pkg/api/serve.go
OapiRequestValidatorWithOptions) checks them before a handler runs: a bad boolean, integer or a missing required
parameter is a 400 whose message names the parameter.
"""

from __future__ import annotations

import bisect
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

DEFAULT_PER_PAGE = 100  # pkg/api/controller.go DefaultPerPage
MAX_PER_PAGE = 1000  # DefaultMaxPerPage
_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # Go strconv.ParseBool
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


class ApiError(Exception):
    """An error answer: HTTP status and lakeFS's ``{"message": ...}`` body (httputil.WriteAPIError)."""

    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body if body is not None else {"message": message}
        self.headers: dict[str, str] = {}


def _param_error(name: str, detail: str) -> ApiError:
    return ApiError(400, f'parameter "{name}" in query has an error: {detail}')


@dataclass
class Call:
    """One request: path parameters, query (first value of each name, as Go's ``Query().Get``), headers, body."""

    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    query_lists: dict[str, list[str]] = field(default_factory=dict)

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError as exc:
            raise ApiError(400, f"request body has an error: failed to decode request body: {exc}") from exc

    def flag(self, name: str, default: bool = False) -> bool:
        raw = self.query.get(name)
        if raw is None:
            return default
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise _param_error(name, f"value {raw}: an invalid boolean: invalid syntax")

    def integer(self, name: str, default: int) -> int:
        raw = self.query.get(name)
        if raw in (None, ""):
            return default
        try:
            return int(raw)
        except ValueError as exc:
            raise _param_error(name, f"value {raw}: an invalid integer: invalid syntax") from exc

    def require(self, name: str) -> str:
        value = self.query.get(name)
        if value is None:
            raise _param_error(name, "value is required but missing")
        return value

    def values(self, name: str) -> list[str]:
        """Every value of a repeated query parameter (``objects=a&objects=b``), empty ones dropped."""
        return [v for v in self.query_lists.get(name, []) if v]

    def amount(self) -> int:
        """``amount`` as paginationAmount reads it: -1..1000 accepted (<= 0 means 100), anything else is a 400."""
        amount = self.integer("amount", DEFAULT_PER_PAGE)
        if amount > MAX_PER_PAGE:
            raise _param_error("amount", f"number must be at most {MAX_PER_PAGE}")
        if amount < -1:
            raise _param_error("amount", "number must be at least -1")
        return DEFAULT_PER_PAGE if amount <= 0 else amount


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able, or bytes, or None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def pagination(has_more: bool, count: int, next_offset: str) -> dict[str, Any]:
    """controller.go paginationFor: next_offset is the last result's key only when there is more."""
    return {
        "has_more": has_more,
        "next_offset": next_offset if has_more and count else "",
        "results": count,
        "max_per_page": MAX_PER_PAGE,
    }


def paginate(items: list[Any], key: Callable[[Any], str], call: Call) -> dict[str, Any]:
    """Items sorted by ``key``, those after ``after``, at most ``amount`` of them."""
    amount, after = call.amount(), call.query.get("after", "")
    page = [item for item in items if key(item) > after][: amount + 1]
    has_more = len(page) > amount
    page = page[:amount]
    return {"pagination": pagination(has_more, len(page), key(page[-1]) if page else ""), "results": page}


def collapse(paths: list[str], prefix: str, delimiter: str, after: str = "") -> Iterator[tuple[str, bool]]:
    """Sorted paths under ``prefix`` as (key, is_common_prefix) grouped at ``delimiter`` (ListEntries, diffs).

    The walk starts at ``prefix`` (or past ``after``: no key of a path up to ``after`` sorts after it) and stops at
    the first path outside ``prefix``, so a page costs what it yields, not the whole tree.
    """
    last_prefix = None
    start = max(bisect.bisect_left(paths, prefix), bisect.bisect_right(paths, after) if after else 0)
    for path in itertools.islice(paths, start, None):
        if not path.startswith(prefix):
            return
        rest = path[len(prefix) :]
        if delimiter and delimiter in rest:
            common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
            if common != last_prefix:
                yield common, True
                last_prefix = common
            continue
        yield path, False


def page_keys(
    keys: Iterable[tuple[str, bool]], call: Call, skip_under_after: bool
) -> tuple[list[tuple[str, bool]], bool]:
    """One page of collapsed keys after ``after`` (with a delimiter, diffs skip everything under ``after``)."""
    amount, after = call.amount(), call.query.get("after", "")
    if after:
        keys = (k for k in keys if k[0] > after and not (skip_under_after and k[0].startswith(after)))
    taken = list(itertools.islice(keys, amount + 1))
    return taken[:amount], len(taken) > amount
