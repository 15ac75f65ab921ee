"""Check lakeFS when a worker starts: the endpoint answers, and it accepts the credentials.

Two calls, no retries (a start-up check should fail fast and say why): ``GET /healthcheck`` (unauthenticated,
controller.go HealthCheck) tells a wrong or unreachable endpoint apart from refused credentials, then
``GET /user`` (GetCurrentUser, any authenticated user may call it) checks the access key.
"""

from __future__ import annotations

import urllib3
from lakefs_sdk.exceptions import ApiException

from perago.errors import LakeFSError
from perago.lakefs.client import TRANSIENT, LakeFSConnection, server_message
from perago.settings import PeragoSettings

TIMEOUT_S = 10.0


def check_lakefs(settings: PeragoSettings) -> None:
    """Raise a one-line :class:`~perago.errors.LakeFSError` (or ``ConfigurationError``) unless lakeFS is usable."""
    conn = LakeFSConnection(settings)
    endpoint = conn.endpoint
    try:
        response = conn.request("GET", conn.api_url("/healthcheck"), api=False, timeout=TIMEOUT_S)
    except TRANSIENT as exc:
        reason = getattr(exc, "reason", None) or exc
        raise LakeFSError(
            f"cannot reach lakeFS at {endpoint}: {reason}; check LAKECTL_SERVER_ENDPOINT_URL", retryable=True
        ) from exc
    if response.status not in (200, 204):
        raise LakeFSError(
            f"{endpoint} does not answer as lakeFS (health check: HTTP {response.status}); "
            "check LAKECTL_SERVER_ENDPOINT_URL (the server root, without /api/v1)",
            retryable=False,
            status=response.status,
        )
    try:
        conn.sdk.auth_api.get_current_user(_request_timeout=TIMEOUT_S)
    except ApiException as exc:
        if exc.status in (401, 403):
            raise LakeFSError(
                f"lakeFS at {endpoint} refused the credentials (HTTP {exc.status}): check "
                "LAKECTL_CREDENTIALS_ACCESS_KEY_ID and LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY",
                retryable=False,
                status=int(exc.status),
            ) from exc
        raise LakeFSError(
            f"lakeFS at {endpoint} could not check the credentials: HTTP {exc.status} {server_message(exc)[:200]}",
            status=int(exc.status) if exc.status else None,
        ) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise LakeFSError(f"cannot reach lakeFS at {endpoint}: {exc}", retryable=True) from exc
