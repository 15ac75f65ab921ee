"""The lakeFS connection: lakefs_sdk's client, a shared urllib3 pool for streamed transfers, the retry policy.

lakeFS and urllib3 exceptions become :class:`~perago.errors.LakeFSError` here, with lakeFS's own message (the
``message`` of its JSON error body), and a clear one for the answers a user must act on: 401 (credentials) and
412 (a pre-<event> hook refused the operation: terminal, naming the hook's message).

Retries: errors marked retryable (429, 5xx, transport failures, and what callers mark so) are retried up to
``http_retries`` times with exponential backoff and full jitter (0.1 s doubling, capped at 5 s); others are raised
at once.
"""

from __future__ import annotations

import base64
import json
import random
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import urllib3
from lakefs_sdk import Configuration
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.exceptions import ApiException

from perago.errors import ConfigurationError, LakeFSError, PublishConflictError
from perago.lakefs.storage import Capabilities
from perago.settings import PeragoSettings

T = TypeVar("T")
TRANSIENT = (urllib3.exceptions.HTTPError, OSError)
MULTIPART_THRESHOLD = 1024**3  # files from 1 GiB go as multipart uploads (S3 takes at most 5 GiB in one PUT)
PART_SIZE = 8 * 1024**2  # S3 wants >= 5 MiB parts (but the last) and at most 10,000 of them
_HOOK = re.compile(r"(pre-[a-z-]+|prepare-commit) hook aborted")


def is_retryable(status: int | None) -> bool:
    """429, 5xx and no status at all (transport failure) may succeed when tried again."""
    return status is None or status == 429 or status >= 500


def check_status(status: int, data: bytes, what: str) -> None:
    """A LakeFSError for a raw request that did not succeed."""
    if status not in (200, 201):
        raise LakeFSError(
            f"lakeFS could not {what}: HTTP {status} {data[:200].decode(errors='replace')}",
            retryable=is_retryable(status),
            status=status,
        )


def server_message(exc: ApiException) -> str:
    """The ``message`` of lakeFS's JSON error answer, else its raw body or reason."""
    body = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else exc.body
    if isinstance(body, str) and body.strip():
        try:
            parsed = json.loads(body)
        except ValueError:
            return body.strip()
        if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
            return str(parsed["message"]).strip()
        return body.strip()
    return str(exc.reason or "")


def hook_refusal(what: str, message: str) -> LakeFSError:
    """412: a lakeFS hook (actions.ErrActionFailed) refused the operation; only changing the data or the hook helps."""
    event = _HOOK.search(message)
    detail = message.rsplit("action failed:", 1)[-1].strip() if "action failed:" in message else message
    name = event.group(1) if event else "lakeFS"
    return LakeFSError(
        f"lakeFS refused to {what}: a {name} hook refused: {detail}; fix what the hook checks, a retry cannot help",
        retryable=False,
        status=412,
    )


def translate(exc: Exception, what: str) -> LakeFSError:
    """A perago error for a failed lakeFS call (the message never carries credentials)."""
    if isinstance(exc, LakeFSError):
        return exc
    if isinstance(exc, ApiException):
        status = int(exc.status) if exc.status else None
        message = " ".join(server_message(exc).split())[:300]
        if status == 412:
            return hook_refusal(what, server_message(exc))
        if status == 401:
            return LakeFSError(
                f"lakeFS refused the credentials while trying to {what} (HTTP 401): check "
                "LAKECTL_CREDENTIALS_ACCESS_KEY_ID and LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY",
                retryable=False,
                status=401,
            )
        return LakeFSError(
            f"lakeFS could not {what}: HTTP {status} {message}".strip(), retryable=is_retryable(status), status=status
        )
    return LakeFSError(f"lakeFS could not {what}: {type(exc).__name__}: {exc}", retryable=True)


@dataclass
class RetryPolicy:
    """Bounded exponential backoff with full jitter; ``sleep`` is injectable so tests never wait."""

    retries: int = 5
    base_s: float = 0.1
    cap_s: float = 5.0
    sleep: Callable[[float], None] = time.sleep

    def run(self, what: str, fn: Callable[[], T], on_retry: Callable[[LakeFSError], T | None] | None = None) -> T:
        """Call ``fn``; retry retryable failures; ``on_retry`` may short-circuit with a result before a retry."""
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except (ApiException, LakeFSError, *TRANSIENT) as exc:
                error = translate(exc, what)
                transient = error.retryable and not isinstance(error, PublishConflictError)
                if not transient or attempt == self.retries:
                    raise error from exc
                self.sleep(random.uniform(0, min(self.cap_s, self.base_s * 2**attempt)))
                if on_retry is not None and (done := on_retry(error)) is not None:
                    return done
        raise AssertionError("unreachable")  # pragma: no cover


class LakeFSConnection:
    """lakefs_sdk client + a raw urllib3 pool sharing the endpoint and credentials.

    Attributes:
        multipart_threshold: Files of at least this many bytes are uploaded as multipart (see ``upload.py``).
        part_size: The size of one part of a presigned multipart upload (at least 5 MiB).
        clock: Wall-clock time, to see presigned URLs expire.
        capabilities: What the server's storage offers (presigned URLs, presigned multipart upload).
    """

    def __init__(self, settings: PeragoSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        if not settings.lakefs_access_key_id or settings.lakefs_secret_access_key is None:
            raise ConfigurationError(
                "lakeFS credentials are missing: set LAKECTL_CREDENTIALS_ACCESS_KEY_ID and "
                "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY"
            )
        self.endpoint = settings.lakefs_endpoint.rstrip("/")
        if self.endpoint.endswith("/api/v1"):
            self.endpoint = self.endpoint[: -len("/api/v1")]
        secret = settings.lakefs_secret_access_key.get_secret_value()
        conf = Configuration(host=f"{self.endpoint}/api/v1", username=settings.lakefs_access_key_id, password=secret)
        conf.connection_pool_maxsize = settings.transfer_workers + 4
        # lakefs_sdk writes datetime query parameters (log ``since``) as "%z" offsets ("+0000"), which lakeFS's
        # request validator and oapi-codegen binding refuse (RFC 3339 wants "Z" or "+00:00"): 400. perago passes
        # UTC datetimes, so "Z" is exact.
        conf.datetime_format = "%Y-%m-%dT%H:%M:%S.%fZ"
        self.sdk = LakeFSClient(conf)
        token = base64.b64encode(f"{settings.lakefs_access_key_id}:{secret}".encode()).decode()
        self.auth = {"Authorization": f"Basic {token}"}
        self.pool = urllib3.PoolManager(maxsize=settings.transfer_workers + 4, block=False, retries=False)
        self.retry = RetryPolicy(retries=settings.http_retries, sleep=sleep)
        self.multipart_threshold = MULTIPART_THRESHOLD
        self.part_size = PART_SIZE
        self.clock: Callable[[], float] = time.time
        self.capabilities = Capabilities(self.sdk, self.call, settings.presign)

    def api_url(self, route: str, **query: str) -> str:
        """Absolute URL of an API route (``/repositories/...``) with a query string."""
        suffix = "?" + urllib.parse.urlencode(query) if query else ""
        return f"{self.endpoint}/api/v1{route}{suffix}"

    def quote(self, segment: str) -> str:
        """Percent-encode one URL path segment."""
        return urllib.parse.quote(segment, safe="")

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run a generated-client call with the retry policy."""
        return self.retry.run(what, fn)

    def paged(self, what: str, list_page: Callable[..., Any], /, *args: Any, **query: Any) -> Iterator[Any]:
        """The results of a paginated generated-client listing, 1,000 a page, each page read with the retry policy."""
        after = ""
        while True:
            page = self.call(what, partial(list_page, *args, after=after or None, amount=1000, **query))
            yield from page.results
            if not page.pagination.has_more:
                return
            after = page.pagination.next_offset

    def request(self, method: str, url: str, *, api: bool, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        """A raw request (streamed); adds credentials only for API URLs, never for presigned ones.

        The URL goes straight to its host's connection pool: ``PoolManager.request`` re-parses long presigned URLs
        several times per request, which was the largest client cost of downloading many small files.
        """
        headers = dict(kwargs.pop("headers", {}))
        if api:
            headers.update(self.auth)
        scheme, _, rest = url.partition("://")
        host, slash, target = rest.partition("/")
        pool = self.pool.connection_from_host(*_host_port(host, scheme), scheme=scheme)
        return pool.urlopen(method, slash + target, headers=headers, redirect=False, **kwargs)


def _host_port(netloc: str, scheme: str) -> tuple[str, int]:
    host, _, port = netloc.rpartition(":") if netloc.rfind(":") > netloc.rfind("]") else (netloc, "", "")
    return host.strip("[]"), int(port) if port else (443 if scheme == "https" else 80)
