"""Settings from the environment (pydantic-settings).

lakeFS settings follow lakectl's environment names and Conductor settings follow conductor-python's, so an
environment that already works with ``lakectl`` and the Conductor SDK works with perago unchanged. Everything
else is ``PERAGO_<FIELD NAME>``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _alias(env: str, name: str) -> AliasChoices:
    return AliasChoices(env, name)


class PeragoSettings(BaseSettings):
    """Every perago setting, its environment variable and its default."""

    model_config = SettingsConfigDict(env_prefix="PERAGO_", populate_by_name=True, extra="ignore")

    lakefs_endpoint: str = Field(
        "http://127.0.0.1:8000", validation_alias=_alias("LAKECTL_SERVER_ENDPOINT_URL", "lakefs_endpoint")
    )
    lakefs_access_key_id: str | None = Field(
        None, validation_alias=_alias("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", "lakefs_access_key_id")
    )
    lakefs_secret_access_key: SecretStr | None = Field(
        None, validation_alias=_alias("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", "lakefs_secret_access_key")
    )
    conductor_server_url: str = Field(
        "http://127.0.0.1:8080/api", validation_alias=_alias("CONDUCTOR_SERVER_URL", "conductor_server_url")
    )
    conductor_auth_key: str | None = Field(None, validation_alias=_alias("CONDUCTOR_AUTH_KEY", "conductor_auth_key"))
    conductor_auth_secret: SecretStr | None = Field(
        None, validation_alias=_alias("CONDUCTOR_AUTH_SECRET", "conductor_auth_secret")
    )
    workspace_root: Path = Path(tempfile.gettempdir()) / "perago-workspaces"
    workspace_ttl_s: float = Field(24 * 3600.0, gt=0)
    failure_reason_max_length: int = Field(1000, ge=16)
    concurrency: int | None = Field(None, ge=1, description="threads per task type; None = the task's own")
    domain: str | None = None
    drain_timeout_s: float = Field(30.0, ge=0)
    poll_timeout_ms: int = Field(100, ge=0)
    poll_interval_s: float = Field(0.1, ge=0)
    transfer_workers: int = Field(16, ge=1)
    presign: bool | None = Field(None, description="None = use presigned URLs when the server offers them")
    full_rehash: bool = False
    cache_dir: Path | None = Field(None, description="None = perago/ under the user cache directory")
    cache_max_bytes: int = Field(10 * 2**30, ge=0, description="0 turns the local content cache off")
    http_retries: int = Field(5, ge=0)
    log_level: str = "INFO"
    log_json: bool = False
    metrics_port: int | None = Field(None, ge=0, le=65535)
    lock_repository: str | None = Field(
        None, description="lakeFS repository holding concurrency locks; None = each attempt's input repository"
    )
    blocked_callback_s: int = Field(5, ge=0, description="callbackAfterSeconds of an attempt whose key is held")

    def secret_values(self) -> list[str]:
        """The configured secrets, so that failure reasons and logs can redact them."""
        values = [self.lakefs_secret_access_key, self.conductor_auth_secret]
        plain = [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]
        keys = [k for k in (self.lakefs_access_key_id, self.conductor_auth_key) if k]
        return plain + keys
