"""Presigned URLs served by the emulator itself: HMAC-SHA256 signed, with an expiry (15 minutes, as lakeFS)."""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from collections.abc import Callable

from perago.testing.lakefs.state import ApiError

EXPIRY_S = 15 * 60
PRESIGNED_PATH = "/_presigned"


class Presigner:
    """Signs and checks presigned URLs for blob addresses."""

    def __init__(self, secret: str, clock: Callable[[], float]) -> None:
        self._key = hashlib.sha256(b"perago-presign:" + secret.encode()).digest()
        self._clock = clock
        self.base_url = ""

    def now(self) -> float:
        """The emulator's clock."""
        return self._clock()

    def _signature(self, address: str, expires: int, method: str) -> str:
        message = f"{method}\n{address}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def sign(self, address: str, upload: bool = False) -> tuple[str, int]:
        """A URL (and its expiry, epoch seconds) that lets anyone GET (or PUT, for uploads) this address."""
        expires = int(self._clock()) + EXPIRY_S
        method = "PUT" if upload else "GET"
        query = urllib.parse.urlencode(
            {
                "address": address,
                "expires": expires,
                "method": method,
                "signature": self._signature(address, expires, method),
            }
        )
        return f"{self.base_url}{PRESIGNED_PATH}?{query}", expires

    def verify(self, query: dict[str, str], method: str) -> str:
        """The address a presigned URL grants, or 403 when it is expired, tampered with, or for another method."""
        address, expires = query.get("address", ""), query.get("expires", "0")
        if not expires.isdigit() or query.get("method") != method:
            raise ApiError(403, "presigned URL is not valid for this request")
        expected = self._signature(address, int(expires), method)
        if not hmac.compare_digest(expected, query.get("signature", "")):
            raise ApiError(403, "presigned URL signature does not match")
        if int(expires) < self._clock():
            raise ApiError(403, "presigned URL has expired")
        return address
