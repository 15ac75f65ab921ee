"""Object operations (controller.go UploadObject, GetObject, HeadObject, StatObject, ListObjects, DeleteObject(s),
CopyObject, UpdateObjectUserMetadata, GetPhysicalAddress, LinkPhysicalAddress).

- Upload: a raw body or the first ``content`` part of a multipart body; ``x-lakefs-meta-*`` headers become user
  metadata (keys lowercased, values as Go's HTTP server reads them: surrounding whitespace trimmed, invalid UTF-8
  replaced); ``If-None-Match: *`` on an existing path is a 412, any other ``If-None-Match`` or ``If-Match`` a 501.
- Reads honour ``Range`` (httputil.ParseRange: 416 with ``Content-Range: bytes */<size>``), ``If-None-Match``
  (304) and ``presign`` (302 to a presigned URL; 400 when the storage cannot presign).
- DeleteObjects answers 200 with per-path errors (403 on a protected branch, 500 when the batch fails).
- LinkPhysicalAddress trusts ``size_bytes`` and needs a ``checksum`` (as lakeFS does); a linked address with no
  data reads as 410 "No data" (block.ErrDataNotFound).
"""

from __future__ import annotations

import time
from typing import Any

from perago.testing.lakefs.base import ApiBase
from perago.testing.lakefs.calls import ApiError, Call, Reply, collapse, page_keys, pagination
from perago.testing.lakefs.refs import view
from perago.testing.lakefs.state import Entry, Repository
from perago.testing.lakefs.uploads import multipart_content, parse_range, ranged, user_metadata

MAX_DELETE = 1000  # controller.go DefaultMaxDeleteObjects


def _conditions(call: Call) -> bool:
    """apiutil.BuildConditionFromParams: only ``If-None-Match: *`` is supported (True when given)."""
    none_match, match = call.headers.get("if-none-match"), call.headers.get("if-match")
    if match is not None or (none_match is not None and none_match != "*"):
        raise ApiError(501, "Not Implemented")
    return none_match == "*"


class ObjectOps(ApiBase):
    failing_deletes = 0  # the next N DeleteObjects batches fail (graveler.DeleteBatch error -> per-path 500s)
    unknown_length_uploads = 0  # uploads without Content-Length (lakeFS streams them: S3 multipart, any size)

    def read_blob(self, entry: Entry) -> bytes:
        try:
            return self.blobs.get(entry.address)
        except (KeyError, FileNotFoundError) as exc:
            raise ApiError(410, "No data") from exc

    @staticmethod
    def require_branch(repo: Repository, name: str) -> None:
        """The branch check UploadObject, CopyObject and CreatePresignMultipartUpload make before any work."""
        with repo.lock:
            if name not in repo.branches:
                raise ApiError(404, f"branch '{name}' not found")

    def _stage(self, repo: Repository, branch: str, path: str, entry: Entry | None, only_new: bool) -> None:
        with repo.lock:
            target = repo.branch(branch)
            self.guard(repo, branch, "staging_write")
            if only_new and repo.staged_entry(target, path) is not None:
                raise ApiError(412, "path already exists")
            target.staging[path] = entry

    def uploadObject(self, call: Call) -> Reply:
        repo, path, name = self.repo(call), call.require("path"), call.params["branch"]
        self.require_branch(repo, name)
        only_new = _conditions(call)
        if "content-length" not in call.headers:  # WriteBlob(size=-1): the S3 adapter's multipart manager
            with self.lock:
                self.unknown_length_uploads += 1
        content_type = call.headers.get("content-type") or "application/octet-stream"
        data = call.body
        if content_type.startswith("multipart/form-data"):
            data, content_type = multipart_content(call.body, content_type)
        entry = self.store(repo, data, user_metadata(call.headers), content_type)
        self._stage(repo, name, path, entry, only_new)
        out = self.stats(repo, path, entry, call)
        return Reply(201, {**out, "metadata": dict(entry.metadata), "physical_address": entry.address})

    def getObject(self, call: Call) -> Reply:
        repo, path = self.repo(call), call.require("path")
        entry = self.lookup(repo, call.params["ref"], path)
        etag = f'"{entry.checksum}"'
        if call.headers.get("if-none-match") == etag:
            return Reply(304)
        if call.flag("presign"):
            url, _ = self.sign(repo, entry.address)
            return Reply(302, None, {"Location": url})
        headers = {
            "ETag": etag,
            "Last-Modified": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(entry.mtime)),
            "Content-Disposition": "attachment",
        }
        return ranged(call, memoryview(self.read_blob(entry)), entry.size, headers, entry.content_type)

    def headObject(self, call: Call) -> Reply:
        """HeadObject answers errors without a body."""
        try:
            repo, path = self.repo(call), call.require("path")
            entry = self.lookup(repo, call.params["ref"], path)
            headers = {"ETag": f'"{entry.checksum}"', "Accept-Ranges": "bytes", "Content-Length": str(entry.size)}
            if "range" in call.headers:
                start, end = parse_range(call.headers["range"], entry.size)
                headers.update({"Content-Range": f"bytes {start}-{end}/{entry.size}"})
                headers["Content-Length"] = str(end - start + 1)
                return Reply(206, b"", headers, entry.content_type)
            return Reply(200, b"", headers, entry.content_type)
        except ApiError as exc:
            return Reply(exc.status, b"", {"Content-Length": "0"})

    def statObject(self, call: Call) -> Reply:
        repo, path = self.repo(call), call.require("path")
        return Reply(200, self.stats(repo, path, self.lookup(repo, call.params["ref"], path), call))

    def listObjects(self, call: Call) -> Reply:
        repo = self.repo(call)
        with repo.lock:
            tree, paths = view(repo, call.params["ref"])
        query = call.query
        keys = collapse(paths, query.get("prefix", ""), query.get("delimiter", ""), query.get("after", ""))
        page, has_more = page_keys(keys, call, skip_under_after=False)
        results: list[dict[str, Any]] = []
        for key, is_prefix in page:
            if is_prefix:  # controller.go ListObjects: common prefixes carry only path and path_type
                results.append({"path": key, "path_type": "common_prefix", "physical_address": "", "checksum": ""})
                results[-1]["mtime"] = 0
            else:
                results.append(self.stats(repo, key, tree[key], call, listing=True))
        body = {"pagination": pagination(has_more, len(results), page[-1][0] if page else ""), "results": results}
        return Reply(200, body)

    def deleteObject(self, call: Call) -> Reply:
        repo, path, name = self.repo(call), call.require("path"), call.params["branch"]
        with repo.lock:
            branch = repo.branch(name)
            self.guard(repo, name, "staging_write")
            if repo.staged_entry(branch, path) is None:
                raise ApiError(404, "not found")
            branch.staging[path] = None
        return Reply(204)

    def deleteObjects(self, call: Call) -> Reply:
        repo, paths = self.repo(call), [str(p) for p in call.json().get("paths") or []]
        if len(paths) > MAX_DELETE:
            raise ApiError(400, f"request size exceeded, max paths is set to {MAX_DELETE}")
        with repo.lock:
            branch = repo.branch(call.params["branch"])
            try:
                self.guard(repo, branch.name, "staging_write")
            except ApiError as exc:
                return Reply(200, {"errors": [{"path": p, "status_code": 403, "message": str(exc)} for p in paths]})
            if self._take_delete_failure():
                errors = [{"path": p, "status_code": 500, "message": "emulated delete failure"} for p in paths]
                return Reply(200, {"errors": errors})
            for path in paths:  # a path that is not there is not an error (graveler.ErrNotFound is skipped)
                if repo.staged_entry(branch, path) is not None:
                    branch.staging[path] = None
        return Reply(200, {"errors": []})

    def _take_delete_failure(self) -> bool:
        with self.lock:
            if self.failing_deletes <= 0:
                return False
            self.failing_deletes -= 1
            return True

    def copyObject(self, call: Call) -> Reply:
        repo, body, dest = self.repo(call), call.json(), call.require("dest_path")
        self.require_branch(repo, call.params["branch"])
        source = self.lookup(repo, str(body.get("src_ref") or call.params["branch"]), str(body.get("src_path") or ""))
        address = self.blobs.new_address(repo.storage_namespace)
        self.blobs.put(address, self.read_blob(source))
        mtime = int(self.clock())
        entry = Entry(address, source.size, source.checksum, mtime, source.metadata, source.content_type)
        self._stage(repo, call.params["branch"], dest, entry, False)
        return Reply(201, {**self.stats(repo, dest, entry, call), "metadata": dict(entry.metadata)})

    def updateObjectUserMetadata(self, call: Call) -> Reply:
        repo, path = self.repo(call), call.require("path")
        entry = self.lookup(repo, call.params["branch"], path)
        meta = tuple(sorted((str(k), str(v)) for k, v in (call.json().get("set") or {}).items()))
        updated = Entry(entry.address, entry.size, entry.checksum, entry.mtime, meta, entry.content_type)
        self._stage(repo, call.params["branch"], path, updated, False)
        return Reply(204)

    def getPhysicalAddress(self, call: Call) -> Reply:
        repo = self.repo(call)
        address = self.blobs.new_address(repo.storage_namespace)
        out: dict[str, Any] = {"physical_address": address}
        if call.flag("presign"):
            try:
                out["presigned_url"], out["presigned_url_expiry"] = self.sign(repo, address, upload=True)
            except ApiError as exc:  # GetPhysicalAddress writes 500 for a presign failure
                raise ApiError(500, str(exc)) from exc
        return Reply(200, out)

    def linkPhysicalAddress(self, call: Call) -> Reply:
        repo, body, path = self.repo(call), call.json(), call.require("path")
        address = str((body.get("staging") or {}).get("physical_address") or "")
        checksum = str(body.get("checksum") or "").strip().strip('"').strip()
        if not checksum:
            raise ApiError(400, "checksum is required")
        meta = tuple(sorted((str(k), str(v)) for k, v in (body.get("user_metadata") or {}).items()))
        content_type = str(body.get("content_type") or "application/octet-stream")
        mtime = int(body.get("mtime") or self.clock())
        entry = Entry(address, int(body.get("size_bytes") or 0), checksum, mtime, meta, content_type)
        self._stage(repo, call.params["branch"], path, entry, _conditions(call))
        return Reply(200, {**self.stats(repo, path, entry, call), "metadata": dict(meta)})
