"""Request parsing shared by object reads and writes: ranges, multipart bodies, user metadata headers."""

from __future__ import annotations

import re

from perago.testing.lakefs.calls import ApiError, Call, Reply

META_PREFIX = "x-lakefs-meta-"  # apiutil.LakeFSHeaderMetadataPrefix


def header_value(raw: str) -> str:
    """A header value as Go's net/http hands it to lakeFS.

    Python's HTTP server decodes header bytes as Latin-1; Go keeps the bytes, trims surrounding spaces and tabs
    (textproto), and lakeFS's JSON answers replace invalid UTF-8 with U+FFFD.
    """
    return raw.encode("latin-1", errors="replace").decode("utf-8", errors="replace").strip(" \t")


def user_metadata(headers: dict[str, str]) -> dict[str, str]:
    """controller.go extractLakeFSMetadata: ``x-lakefs-meta-<key>`` -> ``{key: value}`` (keys lowercased)."""
    return {k[len(META_PREFIX) :]: header_value(v) for k, v in headers.items() if k.startswith(META_PREFIX)}


def multipart_content(body: bytes, content_type: str) -> tuple[bytes, str]:
    """The first ``content`` part of a multipart/form-data body and its content type."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ApiError(500, "no multipart boundary param in Content-Type")
    boundary = b"--" + match.group(1).encode()
    for part in body.split(boundary)[1:]:
        head, _, data = part.partition(b"\r\n\r\n")
        if b'name="content"' in head:
            kind = re.search(rb"content-type:\s*([^\r\n]+)", head, re.IGNORECASE)
            content = data[:-2] if data.endswith(b"\r\n") else data
            return content, kind.group(1).decode() if kind else "application/octet-stream"
    raise ApiError(500, "multipart upload missing key 'content': http: no such file")


def _unsatisfiable(size: int) -> ApiError:
    error = ApiError(416, "Requested Range Not Satisfiable")
    error.headers["Content-Range"] = f"bytes */{size}"
    return error


def parse_range(spec: str, size: int) -> tuple[int, int]:
    """pkg/httputil/range.go ParseRange: (start, end) inclusive; a 416 for bad or unsatisfiable ranges."""
    match = re.fullmatch(r"bytes=\s*(\d*)\s*-\s*(\d*)\s*", spec)
    if not match or (not match.group(1) and not match.group(2)):
        raise ApiError(416, "Requested Range Not Satisfiable")
    first, last = match.group(1), match.group(2)
    if not first:  # suffix: the last N bytes
        if int(last) == 0:
            raise _unsatisfiable(size)
        return max(size - int(last), 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and start > end:
        raise ApiError(416, "Requested Range Not Satisfiable")
    if start > size - 1:
        raise _unsatisfiable(size)
    return start, min(end, size - 1)


def ranged(call: Call, data: memoryview, size: int, headers: dict[str, str], content_type: str) -> Reply:
    """The whole of ``data`` (200), or the part the request's ``Range`` asks for of an object of ``size`` bytes
    (206 with ``Content-Range``; lakeFS ranges by the entry's recorded size, an object store by the blob's)."""
    if "range" not in call.headers:
        return Reply(200, data, headers, content_type)
    start, end = parse_range(call.headers["range"], size)
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Reply(206, data[start : end + 1], headers, content_type)
