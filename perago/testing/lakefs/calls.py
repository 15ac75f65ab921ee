"""Request and reply values of the emulator's operations, and lakeFS-style pagination."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from perago.testing.lakefs.state import ApiError


@dataclass
class Call:
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError as exc:
            raise ApiError(400, f"invalid JSON body: {exc}") from exc

    def flag(self, name: str, default: bool = False) -> bool:
        raw = self.query.get(name)
        if raw is None:
            return default
        if raw in ("1", "t", "T", "TRUE", "true", "True"):
            return True
        if raw in ("0", "f", "F", "FALSE", "false", "False"):
            return False
        raise ApiError(400, f"invalid boolean value {raw!r} for {name}")

    def integer(self, name: str, default: int) -> int:
        raw = self.query.get(name)
        try:
            return default if raw in (None, "") else int(raw)
        except ValueError as exc:
            raise ApiError(400, f"invalid integer value {raw!r} for {name}") from exc

    def require(self, name: str) -> str:
        value = self.query.get(name)
        if not value:
            raise ApiError(400, f"missing required query parameter {name}")
        return value


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able, or bytes, or None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def paginate(items: list[Any], key: Callable[[Any], str], call: Call, max_amount: int = 1000) -> dict[str, Any]:
    amount = min(max(call.integer("amount", 100), 1), max_amount)
    after = call.query.get("after", "")
    page = [item for item in items if key(item) > after][: amount + 1]
    has_more = len(page) > amount
    page = page[:amount]
    return {
        "pagination": {
            "has_more": has_more,
            "next_offset": key(page[-1]) if has_more and page else "",
            "results": len(page),
            "max_per_page": max_amount,
        },
        "results": page,
    }
