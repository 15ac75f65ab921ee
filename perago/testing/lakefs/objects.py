"""Object operations of the lakeFS emulator: upload, get (Range, presign), stat, list, delete, copy, staging."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from perago.testing.lakefs.calls import Call, Reply, paginate
from perago.testing.lakefs.state import ApiError, Entry, Repository

if TYPE_CHECKING:
    from perago.testing.lakefs.blobs import Blobs
    from perago.testing.lakefs.presign import Presigner

MAX_DELETE = 1000


def user_metadata(headers: dict[str, str]) -> dict[str, str]:
    """``x-lakefs-meta-<key>`` headers -> ``{key: value}`` (keys lowercased, as HTTP headers are case-free)."""
    prefix = "x-lakefs-meta-"
    return {k[len(prefix) :]: v for k, v in headers.items() if k.startswith(prefix)}


def multipart_content(body: bytes, content_type: str) -> tuple[bytes, str]:
    """The ``content`` part of a multipart/form-data body and its content type."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ApiError(400, "multipart body without boundary")
    boundary = b"--" + match.group(1).encode()
    for part in body.split(boundary)[1:]:
        head, _, data = part.partition(b"\r\n\r\n")
        if b'name="content"' in head:
            kind = re.search(rb"content-type:\s*([^\r\n]+)", head, re.IGNORECASE)
            return data[: data.rfind(b"\r\n")] if data.endswith(b"\r\n") else data, (
                kind.group(1).decode() if kind else "application/octet-stream"
            )
    raise ApiError(400, "multipart body has no 'content' part")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    if not match.group(1):
        start, end = max(size - int(match.group(2)), 0), size - 1
    else:
        start = int(match.group(1))
        end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
    if start >= size or start > end:
        raise ApiError(416, f"range {header} not satisfiable for size {size}")
    return start, end


class ObjectOps:
    """Mixed into ``LakeFSApi``."""

    blobs: Blobs
    presigner: Presigner

    def repo(self, call: Call) -> Repository:  # pragma: no cover - provided by LakeFSApi
        raise NotImplementedError

    def stats(self, repo: Repository, path: str, entry: Entry, call: Call) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def lookup(self, repo: Repository, ref: str, path: str) -> Entry:  # pragma: no cover
        raise NotImplementedError

    def store(
        self, repo: Repository, data: bytes, metadata: dict[str, str], content_type: str
    ) -> Entry:  # pragma: no cover
        raise NotImplementedError

    def sign(self, address: str, upload: bool = False) -> tuple[str, int]:  # pragma: no cover
        raise NotImplementedError

    def _stage(self, repo: Repository, branch: str, path: str, entry: Entry | None, call: Call) -> None:
        with repo.lock:
            target = repo.branch(branch)
            if call.headers.get("if-none-match") == "*" and path in repo.view(branch):
                raise ApiError(412, f"object {path} already exists")
            target.staging[path] = entry

    def uploadObject(self, call: Call) -> Reply:
        repo, path = self.repo(call), call.require("path")
        repo.branch(call.params["branch"])
        content_type = call.headers.get("content-type", "application/octet-stream")
        if content_type.startswith("multipart/form-data"):
            data, content_type = multipart_content(call.body, content_type)
        else:
            data = call.body
        entry = self.store(repo, data, user_metadata(call.headers), content_type)
        self._stage(repo, call.params["branch"], path, entry, call)
        return Reply(201, self.stats(repo, path, entry, call))

    def getObject(self, call: Call, head: bool = False) -> Reply:
        repo = self.repo(call)
        path = call.require("path")
        entry = self.lookup(repo, call.params["ref"], path)
        if call.flag("presign") and repo.presign and not head:
            url, _ = self.sign(entry.address)
            return Reply(302, None, {"Location": url})
        data = self.blobs.get(entry.address)
        headers = {
            "ETag": f'"{entry.checksum}"',
            "Last-Modified": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(entry.mtime)),
            "Accept-Ranges": "bytes",
        }
        span = parse_range(call.headers.get("range", ""), entry.size) if "range" in call.headers else None
        if span is not None:
            headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{entry.size}"
            return Reply(206, memoryview(data)[span[0] : span[1] + 1], headers, entry.content_type)
        return Reply(200, memoryview(data), headers, entry.content_type)

    def headObject(self, call: Call) -> Reply:
        reply = self.getObject(call, head=True)
        reply.headers["Content-Length"] = str(len(reply.body))
        reply.body = b""
        return reply

    def statObject(self, call: Call) -> Reply:
        repo = self.repo(call)
        path = call.require("path")
        return Reply(200, self.stats(repo, path, self.lookup(repo, call.params["ref"], path), call))

    def listObjects(self, call: Call) -> Reply:
        repo = self.repo(call)
        tree = repo.view(call.params["ref"])
        prefix, delimiter = call.query.get("prefix", ""), call.query.get("delimiter", "")
        results: list[dict[str, Any]] = []
        seen_prefixes: set[str] = set()
        for path in sorted(p for p in tree if p.startswith(prefix)):
            rest = path[len(prefix) :]
            if delimiter and delimiter in rest:
                common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
                if common not in seen_prefixes:
                    seen_prefixes.add(common)
                    results.append(
                        {
                            "path": common,
                            "path_type": "common_prefix",
                            "physical_address": "",
                            "checksum": "",
                            "mtime": 0,
                        }
                    )
                continue
            results.append({"path": path, "entry": tree[path]})
        page = paginate(results, lambda r: r["path"], call)
        page["results"] = [
            self.stats(repo, r["path"], r["entry"], call) if "entry" in r else r for r in page["results"]
        ]
        return Reply(200, page)

    def deleteObject(self, call: Call) -> Reply:
        repo, path = self.repo(call), call.require("path")
        with repo.lock:
            if path not in repo.view(call.params["branch"]):
                raise ApiError(404, f"object not found: {path}")
            repo.branch(call.params["branch"]).staging[path] = None
        return Reply(204)

    def deleteObjects(self, call: Call) -> Reply:
        repo, paths = self.repo(call), list(call.json().get("paths") or [])
        if len(paths) > MAX_DELETE:
            raise ApiError(400, f"too many paths: {len(paths)} > {MAX_DELETE}")
        with repo.lock:
            branch = repo.branch(call.params["branch"])
            view = repo.view(branch.name)
            for path in paths:
                if path in view:
                    branch.staging[path] = None
        return Reply(200, {"errors": []})

    def copyObject(self, call: Call) -> Reply:
        repo, body = self.repo(call), call.json()
        dest = call.require("dest_path")
        source = self.lookup(repo, str(body.get("src_ref") or call.params["branch"]), str(body.get("src_path", "")))
        entry = Entry(
            source.address, source.size, source.checksum, int(time.time()), source.metadata, source.content_type
        )
        self._stage(repo, call.params["branch"], dest, entry, call)
        return Reply(201, self.stats(repo, dest, entry, call))

    def updateObjectUserMetadata(self, call: Call) -> Reply:
        repo, path = self.repo(call), call.require("path")
        entry = self.lookup(repo, call.params["branch"], path)
        meta = tuple(sorted((str(k), str(v)) for k, v in (call.json().get("set") or {}).items()))
        updated = Entry(entry.address, entry.size, entry.checksum, entry.mtime, meta, entry.content_type)
        self._stage(repo, call.params["branch"], path, updated, call)
        return Reply(201)

    def getPhysicalAddress(self, call: Call) -> Reply:
        repo = self.repo(call)
        repo.branch(call.params["branch"])
        address = self.blobs.new_address(repo.storage_namespace)
        out: dict[str, Any] = {"physical_address": address}
        if call.flag("presign") and repo.presign:
            out["presigned_url"], out["presigned_url_expiry"] = self.sign(address, upload=True)
        return Reply(200, out)

    def linkPhysicalAddress(self, call: Call) -> Reply:
        repo, body, path = self.repo(call), call.json(), call.require("path")
        address = str((body.get("staging") or {}).get("physical_address", ""))
        if not self.blobs.exists(address):
            raise ApiError(400, f"nothing was uploaded to {address}")
        size = len(self.blobs.get(address))
        if int(body.get("size_bytes", -1)) != size:
            raise ApiError(400, f"size_bytes {body.get('size_bytes')} does not match the {size} bytes uploaded")
        meta = tuple(sorted((str(k), str(v)) for k, v in (body.get("user_metadata") or {}).items()))
        content_type = str(body.get("content_type") or "application/octet-stream")
        entry = Entry(
            address, size, str(body.get("checksum", "")), int(body.get("mtime") or time.time()), meta, content_type
        )
        self._stage(repo, call.params["branch"], path, entry, call)
        return Reply(200, self.stats(repo, path, entry, call))
