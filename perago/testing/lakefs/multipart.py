"""Presigned multipart upload ("pmpu", controller.go CreatePresignMultipartUpload / UploadPart /
CompletePresignMultipartUpload / AbortPresignMultipartUpload) and the emulator's own presigned-URL endpoint.

The multipart API answers 501 unless the storage config offers ``pre_sign_multipart_upload``. Completion stages an
entry whose checksum is the object store's multipart ETag, with the user metadata and content type of the request.
The presigned endpoint serves what an object store would: GET (with ``Range``), PUT of a whole object, and PUT of
one part (answering its ETag).
"""

from __future__ import annotations

import hashlib
from typing import Any

from perago.testing.lakefs.calls import ApiError, Call, Reply
from perago.testing.lakefs.objects import ObjectOps
from perago.testing.lakefs.state import Entry, Repository
from perago.testing.lakefs.uploads import ranged

MAX_PARTS = 10000  # manager.MaxUploadParts


class MultipartOps(ObjectOps):
    def _pmpu_repo(self, call: Call) -> Repository:
        repo = self.repo(call)
        if not (self.presigns(repo) and self.presign_multipart):
            raise ApiError(501, "presign multipart upload API is not supported")
        return repo

    def part_url(self, address: str, upload_id: str, number: int) -> str:
        presign_part = getattr(self.blobs, "presign_part", None)
        if presign_part is not None:
            url: str = presign_part(address, upload_id, number)
            return url
        extra = {"upload_id": upload_id, "part_number": str(number)}
        return self.presigner.sign(address, upload=True, extra=extra)[0]

    def createPresignMultipartUpload(self, call: Call) -> Reply:
        repo = self._pmpu_repo(call)
        self.require_branch(repo, call.params["branch"])
        if not call.require("path"):
            raise ApiError(400, "path is required")
        parts = call.integer("parts", 0)
        if parts < 0 or parts > MAX_PARTS:
            raise ApiError(400, f"parts can be between 0 and {MAX_PARTS}")
        address = self.blobs.new_address(repo.storage_namespace)
        upload_id = self.blobs.create_upload(address)
        out: dict[str, Any] = {"upload_id": upload_id, "physical_address": address}
        if parts:
            out["presigned_urls"] = [self.part_url(address, upload_id, n) for n in range(1, parts + 1)]
        return Reply(201, out)

    def uploadPart(self, call: Call) -> Reply:
        self._pmpu_repo(call)
        address = str(call.json().get("physical_address") or "")
        url = self.part_url(address, call.params["uploadId"], int(call.params["partNumber"]))
        return Reply(200, {"presigned_url": url})

    def completePresignMultipartUpload(self, call: Call) -> Reply:
        repo, body, path = self._pmpu_repo(call), call.json(), call.require("path")
        address, parts = str(body.get("physical_address") or ""), body.get("parts") or []
        if not address:
            raise ApiError(400, "physical_address is required")
        if not parts:
            raise ApiError(400, "parts are required")
        listed = [(int(p.get("part_number")), str(p.get("etag") or "")) for p in parts]
        etag, size = self.blobs.complete_upload(call.params["uploadId"], address, listed)
        meta = tuple(sorted((str(k), str(v)) for k, v in (body.get("user_metadata") or {}).items()))
        content_type = str(body.get("content_type") or "application/octet-stream")
        entry = Entry(address, size, etag, int(self.clock()), meta, content_type)
        self._stage(repo, call.params["branch"], path, entry, False)
        return Reply(200, {**self.stats(repo, path, entry, call), "metadata": dict(meta)})

    def abortPresignMultipartUpload(self, call: Call) -> Reply:
        self._pmpu_repo(call)
        call.require("path")
        if not str(call.json().get("physical_address") or ""):
            raise ApiError(400, "physical_address is required")
        self.blobs.abort_upload(call.params["uploadId"])
        return Reply(204)

    # -- the object store side --------------------------------------------------------------------------------------
    def serve_presigned(self, method: str, call: Call) -> Reply:
        """GET (download, ranges too) or PUT (an upload or one part) through a presigned URL."""
        fields = self.presigner.verify(call.query, "PUT" if method == "PUT" else "GET")
        address = fields["address"]
        if method == "PUT" and "upload_id" in fields:
            etag = self.blobs.put_part(fields["upload_id"], int(fields["part_number"]), call.body)
            return Reply(200, None, {"ETag": f'"{etag}"'})
        if method == "PUT":
            self.blobs.put(address, call.body)
            return Reply(200, None, {"ETag": f'"{hashlib.md5(call.body).hexdigest()}"'})
        try:
            data = memoryview(self.blobs.get(address))
        except (KeyError, FileNotFoundError) as exc:
            raise ApiError(404, "NoSuchKey: The specified key does not exist.") from exc
        return ranged(call, data, len(data), {"Accept-Ranges": "bytes"}, "application/octet-stream")
