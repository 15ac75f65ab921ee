"""Which listed keys become files: every path checked before anything of its batch is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger

from perago.errors import UnsafePathError
from perago.lakefs.listing import RemoteObject
from perago.lakefs.paths import check_object_path, ensure_inside, local_path


def _not_a_file(path: str) -> str | None:
    if path.startswith("/"):
        return None  # absolute: refused by check_object_path
    if path.endswith("/"):
        return "directory marker"
    if any(segment in ("", ".") for segment in path.split("/")):
        return "empty or '.' path segment"
    return None


@dataclass
class KeyCheck:
    """Checks every listed key before anything of its batch is written, across the whole (streamed) listing.

    Keys that cannot be files are skipped and named in one warning at the end (:meth:`report`); a path that escapes
    the workspace refuses the download; so does a key that is a file and also the directory of another key.
    """

    root: Path
    repository: str
    commit: str
    files: set[str] = field(default_factory=set)
    folders: dict[str, str] = field(default_factory=dict)  # folder -> one object under it
    skipped: list[tuple[str, str]] = field(default_factory=list)
    made: set[str] = field(default_factory=set)

    def batch(self, objects: list[RemoteObject]) -> list[RemoteObject]:
        """The objects of a batch that can be files, their paths checked and their directories created."""
        kept = []
        for obj in objects:
            reason = _not_a_file(obj.path)
            if reason:
                self.skipped.append((obj.path, reason))
                continue
            check_object_path(obj.path, self.repository, self.commit)
            self._no_clash(obj.path)
            kept.append(obj)
        self._make_folders(kept)
        return kept

    def _no_clash(self, path: str) -> None:
        parents = [path.rsplit("/", depth)[0] for depth in range(1, path.count("/") + 1)]
        if path in self.folders:
            self._clash(path, self.folders[path])
        for parent in parents:
            if parent in self.files:
                self._clash(parent, path)
            self.folders.setdefault(parent, path)
        self.files.add(path)

    def _clash(self, file_path: str, child: str) -> None:
        raise UnsafePathError(
            f"{self.repository}@{self.commit}: {file_path!r} is an object and also the directory of {child!r}; a local "
            "path cannot be both. Rename one of them; the download was refused"
        )

    def _make_folders(self, objects: list[RemoteObject]) -> None:
        for folder in sorted({obj.path.rpartition("/")[0] for obj in objects} - self.made):
            parent = local_path(self.root, folder) if folder else self.root
            parent.mkdir(parents=True, exist_ok=True)
            ensure_inside(self.root, parent)  # once per directory, before any file is written in it
            self.made.add(folder)

    def report(self) -> None:
        """Name the skipped keys in one warning."""
        if self.skipped:
            named = ", ".join(f"{path!r} ({reason})" for path, reason in self.skipped[:20])
            more = f" and {len(self.skipped) - 20} more" if len(self.skipped) > 20 else ""
            where = f"{self.repository}@{self.commit}"
            logger.warning("{}: skipped {} key(s) that cannot be files: {}{}", where, len(self.skipped), named, more)
