"""The lakeFS API operations the emulator serves, named by the swagger ``operationId``.

Each handler takes a :class:`~perago.testing.lakefs.calls.Call` (path parameters, query, JSON body or raw bytes,
headers) and returns a :class:`~perago.testing.lakefs.calls.Reply`; the groups live in ``repos.py``,
``branches.py``, ``tags.py``, ``merges.py``, ``objects.py`` and ``multipart.py``, the HTTP plumbing in
``server.py``.
"""

from __future__ import annotations

from perago.testing.lakefs.branches import BranchOps
from perago.testing.lakefs.merges import MergeOps
from perago.testing.lakefs.multipart import MultipartOps
from perago.testing.lakefs.repos import VERSION, RepoOps
from perago.testing.lakefs.tags import TagOps

__all__ = ["VERSION", "LakeFSApi"]


class LakeFSApi(RepoOps, BranchOps, TagOps, MergeOps, MultipartOps):
    """The emulator's state and every operation it serves."""
