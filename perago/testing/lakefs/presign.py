"""Presigned URLs served by the emulator itself: HMAC-SHA256 signed, with an expiry (15 minutes, as lakeFS on S3).

An expired, tampered or wrong-method URL gets a 403, as the object store answers (pkg/block/s3 GetPreSignedURL;
lakeFS's own blockstore default ``pre_signed_expiry`` is 15 minutes). Part URLs of a presigned multipart upload
carry the upload id and part number inside the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from collections.abc import Callable, Mapping

from perago.testing.lakefs.calls import ApiError

EXPIRY_S = 15 * 60
PRESIGNED_PATH = "/_presigned"
_SIGNED = ("address", "expires", "method", "upload_id", "part_number")


class Presigner:
    """Signs and checks presigned URLs for blob addresses."""

    def __init__(self, secret: str, clock: Callable[[], float]) -> None:
        self._key = hashlib.sha256(b"perago-presign:" + secret.encode()).digest()
        self._clock = clock
        self.base_url = ""
        self.expiry_s = EXPIRY_S

    def now(self) -> float:
        """The emulator's clock."""
        return self._clock()

    def _signature(self, fields: Mapping[str, str]) -> str:
        message = "\n".join(f"{k}={fields.get(k, '')}" for k in _SIGNED).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def sign(self, address: str, upload: bool = False, extra: Mapping[str, str] | None = None) -> tuple[str, int]:
        """A URL (and its expiry, epoch seconds) that lets anyone GET (or PUT, for uploads) this address."""
        expires = int(self._clock()) + self.expiry_s
        fields = {"address": address, "expires": str(expires), "method": "PUT" if upload else "GET", **(extra or {})}
        query = urllib.parse.urlencode({**fields, "signature": self._signature(fields)})
        return f"{self.base_url}{PRESIGNED_PATH}?{query}", expires

    def verify(self, query: Mapping[str, str], method: str) -> dict[str, str]:
        """The signed fields of a presigned URL, or 403 when it is expired, tampered with, or for another method."""
        fields = {k: query[k] for k in _SIGNED if k in query}
        expires = fields.get("expires", "")
        if not expires.isdigit() or fields.get("method") != method:
            raise ApiError(403, "presigned URL is not valid for this request")
        if not hmac.compare_digest(self._signature(fields), query.get("signature", "")):
            raise ApiError(403, "presigned URL signature does not match")
        if int(expires) < self._clock():
            raise ApiError(403, "presigned URL has expired")
        return fields
