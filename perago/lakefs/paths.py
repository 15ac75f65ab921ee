"""Object paths from lakeFS are untrusted: map them to local paths only when they stay inside the workspace."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from perago.errors import UnsafePathError
from perago.snapshot import ATTEMPT_WORKSPACE_MARKER, Entry

SYMLINK_METADATA_KEY = "perago-symlink"
"""User metadata key whose value is a symlink's target; the object's body is the same target string."""


def check_object_path(path: str, repository: str, ref: str) -> str:
    """Return ``path`` if it is a safe relative POSIX path, else raise :class:`UnsafePathError`.

    Refused: empty paths, absolute paths, ``.``/``..``/empty segments, backslashes, NUL bytes, a trailing slash, and
    the attempt marker's name at the root (perago owns that file).
    """
    where = f"object {path!r} in {repository}@{ref}"
    segments = path.split("/")
    if not path or path.startswith("/") or path.endswith("/"):
        raise UnsafePathError(f"{where}: absolute or empty paths are refused; nothing was written")
    if any(s in ("", ".", "..") for s in segments) or "\\" in path or "\x00" in path:
        raise UnsafePathError(
            f"{where}: '.', '..', empty segments, backslashes and NUL are refused; nothing was written"
        )
    if path == ATTEMPT_WORKSPACE_MARKER:
        raise UnsafePathError(f"{where}: this name is reserved for perago's attempt marker; rename the object")
    return path


def local_path(root: Path, path: str) -> Path:
    """The local file for a checked object path (a lexical join: the path has no '..' or absolute part)."""
    return root.joinpath(*path.split("/"))


def ensure_inside(root: Path, directory: Path) -> None:
    """Refuse a directory that resolves outside ``root`` (e.g. through a symlink)."""
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(directory)]) != real_root:
        raise UnsafePathError(f"{directory} resolves outside the workspace; nothing was written there")


def symlink_target_is_inside(link_path: str, target: str) -> bool:
    """Whether a symlink at ``link_path`` (relative POSIX) pointing at ``target`` resolves inside the workspace."""
    if not target or target.startswith("/") or "\x00" in target:
        return False
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(link_path), target))
    return not (resolved == ".." or resolved.startswith("../") or resolved.startswith("/"))


def refuse_outward_symlink(path: str, entry: Entry) -> None:
    """Refuse publishing a symlink that points out of the workspace (the store and the harness's local mode alike).

    Raises:
        UnsafePathError: ``entry`` is such a symlink.
    """
    if entry.kind == "symlink" and not symlink_target_is_inside(path, entry.target or ""):
        raise UnsafePathError(
            f"symlink {path!r} points outside the workspace ({entry.target!r}); refused, not followed "
            "(lakeFS publication refuses it): write the file itself into the workspace instead"
        )
