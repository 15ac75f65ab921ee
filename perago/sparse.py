"""Sparse workspaces: which objects of a ref a task declared with ``WorkspaceSpec(paths=[...])``.

Each entry of ``paths`` is a relative POSIX path in the repository:

- ``raw/meta/`` (trailing slash): everything under that folder;
- ``config/app.json`` (no wildcard): that object, or everything under a folder of that name;
- ``config/*.json``, ``data/*/meta/?.csv``, ``logs/**/*.txt``: globs, with the guardrails' rules (``*`` and ``?``
  stay inside one path segment, ``**`` spans any number of segments).

:func:`select` lists only what the entries can match, by prefix: the literal part of an entry is the listing
prefix, a final wildcard segment is listed one level deep (``delimiter="/"``), a wildcard segment in the middle
walks only the sub-folders it matches, and ``**`` lists everything below its folder. Listings that a recursive
one already covers are not repeated, and an object matched by several entries is yielded once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from perago.guards import matches

WILDCARDS = "*?"
T = TypeVar("T")
Lister = Callable[[str, bool], Iterable[tuple[str, T | None]]]
"""``lister(prefix, one_level)`` yields (path, payload) for every object whose path starts with ``prefix`` (only
those directly at that level, plus the common prefixes below it as (``folder/``, None), when ``one_level``)."""


def _has_wildcard(text: str) -> bool:
    return any(char in text for char in WILDCARDS)


def check_sparse_path(entry: str) -> str:
    """Return ``entry`` if it is a usable sparse path, else raise ``ValueError`` saying what to write instead."""
    hint = "write a path relative to the repository root, e.g. 'raw/meta/' or 'config/*.json'"
    if not isinstance(entry, str) or not entry:
        raise ValueError(f"{entry!r} is not a path; {hint}")
    if entry.startswith("/") or "\\" in entry or "\x00" in entry:
        raise ValueError(f"{entry!r}: absolute paths, backslashes and NUL are not allowed; {hint}")
    segments = entry.removesuffix("/").split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise ValueError(f"{entry!r}: empty, '.' and '..' segments are not allowed; {hint}")
    return entry


@dataclass(frozen=True, slots=True)
class SparsePattern:
    """One entry of ``paths``, normalised: a folder prefix becomes ``folder/**``."""

    text: str

    @classmethod
    def parse(cls, entry: str) -> SparsePattern:
        """Check and normalise one entry."""
        check_sparse_path(entry)
        return cls(entry + "**" if entry.endswith("/") else entry)

    @property
    def literal(self) -> bool:
        """True for an entry without wildcards (an object, or a folder of that name)."""
        return not _has_wildcard(self.text)

    def matches(self, path: str) -> bool:
        """Whether the object ``path`` is selected by this entry."""
        if self.literal:
            return path == self.text or path.startswith(self.text + "/")
        return matches(path, self.text)

    def start(self) -> tuple[str, list[str]]:
        """(literal folder prefix, the segments from the first wildcard segment on)."""
        segments = self.text.split("/")
        first = next(i for i, segment in enumerate(segments) if _has_wildcard(segment))
        base = "".join(segment + "/" for segment in segments[:first])
        return base, segments[first:]


class SparseSelection:
    """The parsed ``paths`` of a workspace spec: what they include, and how to list it."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.patterns = tuple(SparsePattern.parse(entry) for entry in paths)
        trees = {p.text for p in self.patterns if p.literal}
        trees |= {base for base, rest in (p.start() for p in self.patterns if not p.literal) if rest[0] == "**"}
        # a recursive listing whose prefix another one starts with would list the same objects again
        self.trees = tuple(sorted(t for t in trees if not any(t != o and t.startswith(o) for o in trees)))

    def includes(self, path: str) -> bool:
        """Whether the object ``path`` belongs to the sparse set."""
        return any(pattern.matches(path) for pattern in self.patterns)

    def covered(self, prefix: str) -> bool:
        """Whether a recursive listing of the selection already returns every object starting with ``prefix``."""
        return any(prefix.startswith(tree) for tree in self.trees)

    def select(self, lister: Lister[T]) -> Iterator[T]:
        """The payload of every listed object the selection includes, each once (see the module docstring)."""
        seen: set[str] = set()
        for tree in self.trees:
            yield from self._keep(lister(tree, False), seen)
        for pattern in self.patterns:
            if not pattern.literal:
                base, rest = pattern.start()
                if rest[0] != "**":
                    yield from self._walk(base, rest, lister, seen)

    def _keep(self, items: Iterable[tuple[str, T | None]], seen: set[str]) -> Iterator[T]:
        for path, payload in items:
            if payload is not None and path not in seen and self.includes(path):
                seen.add(path)
                yield payload

    def _walk(self, base: str, rest: list[str], lister: Lister[T], seen: set[str]) -> Iterator[T]:
        """List below ``base`` only what ``rest`` (segments, the first one possibly a wildcard) can match."""
        while len(rest) > 1 and not _has_wildcard(rest[0]):
            base, rest = base + rest[0] + "/", rest[1:]
        segment = rest[0]
        if segment == "**":
            prefix, one_level = base, False
        else:
            prefix, one_level = base + _literal_head(segment), True
        if self.covered(prefix):
            return
        if not one_level or len(rest) == 1:
            yield from self._keep(lister(prefix, one_level), seen)
            return
        folders = []
        for path, payload in lister(prefix, True):
            if payload is None and matches(path[len(base) :].removesuffix("/"), segment):
                folders.append(path)
            elif payload is not None and path not in seen and self.includes(path):
                seen.add(path)
                yield payload
        for folder in folders:
            yield from self._walk(folder, rest[1:], lister, seen)


def _literal_head(segment: str) -> str:
    """The part of a segment before its first wildcard: it narrows the listing prefix (``data-*.csv`` -> ``data-``)."""
    for i, char in enumerate(segment):
        if char in WILDCARDS:
            return segment[:i]
    return segment
