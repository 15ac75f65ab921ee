"""The lakeFS connection: lakefs_sdk's client, a shared urllib3 pool for streamed transfers, the retry policy.

lakeFS and urllib3 exceptions become :class:`~perago.errors.LakeFSError` here.

Retries: 429, 5xx and transport failures are retried up to ``http_retries`` times with exponential backoff and
full jitter (0.1 s doubling, capped at 5 s); other statuses are raised at once. 4xx other than 429 are terminal,
except 404/409/412 which callers interpret.
"""

from __future__ import annotations

import base64
import random
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import urllib3
from lakefs_sdk import Configuration
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.exceptions import ApiException

from perago.errors import ConfigurationError, LakeFSError, PublishConflictError
from perago.settings import PeragoSettings

T = TypeVar("T")
TRANSIENT = (urllib3.exceptions.HTTPError, OSError)


def is_retryable(status: int | None) -> bool:
    """429, 5xx and no status at all (transport failure) may succeed when tried again."""
    return status is None or status == 429 or status >= 500


def translate(exc: Exception, what: str) -> LakeFSError:
    """A perago error for a failed lakeFS call (the message never carries credentials)."""
    if isinstance(exc, LakeFSError):
        return exc
    if isinstance(exc, ApiException):
        status = int(exc.status) if exc.status else None
        detail = (exc.body or exc.reason or "") if isinstance(exc.body or exc.reason, str) else ""
        return LakeFSError(
            f"lakeFS could not {what}: HTTP {status} {detail[:300]}".strip(),
            retryable=is_retryable(status),
            status=status,
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
        """Call ``fn``; retry transient failures; ``on_retry`` may short-circuit with a result before a retry."""
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except (ApiException, LakeFSError, *TRANSIENT) as exc:
                error = translate(exc, what)
                transient = is_retryable(error.status) and not isinstance(error, PublishConflictError)
                if not transient or attempt == self.retries:
                    raise error from exc
                self.sleep(random.uniform(0, min(self.cap_s, self.base_s * 2**attempt)))
                if on_retry is not None and (done := on_retry(error)) is not None:
                    return done
        raise AssertionError("unreachable")  # pragma: no cover


class LakeFSConnection:
    """lakefs_sdk client + a raw urllib3 pool sharing the endpoint and credentials."""

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
        self.sdk = LakeFSClient(conf)
        token = base64.b64encode(f"{settings.lakefs_access_key_id}:{secret}".encode()).decode()
        self.auth = {"Authorization": f"Basic {token}"}
        self.pool = urllib3.PoolManager(maxsize=settings.transfer_workers + 4, block=False, retries=False)
        self.retry = RetryPolicy(retries=settings.http_retries, sleep=sleep)
        self.presign_setting = settings.presign
        self._presign_supported: bool | None = None

    def api_url(self, route: str, **query: str) -> str:
        """Absolute URL of an API route (``/repositories/...``) with a query string."""
        suffix = "?" + urllib.parse.urlencode(query) if query else ""
        return f"{self.endpoint}/api/v1{route}{suffix}"

    def quote(self, segment: str) -> str:
        """Percent-encode one URL path segment."""
        return urllib.parse.quote(segment, safe="")

    def presign(self) -> bool:
        """Use presigned URLs? The setting if given, else whether the server's storage supports them."""
        if self.presign_setting is not None:
            return self.presign_setting
        if self._presign_supported is None:
            config = self.retry.run("read the storage config", self.sdk.config_api.get_config)
            storage = getattr(config, "storage_config", None)
            self._presign_supported = bool(storage is not None and storage.pre_sign_support)
        return self._presign_supported

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run a generated-client call with the retry policy."""
        return self.retry.run(what, fn)

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
