"""The environment variable names PeragoSettings reads, introspected from the model."""

from __future__ import annotations

from pydantic import AliasChoices

from perago.settings import PeragoSettings


def env_names(field: str) -> list[str]:
    """The environment variables that set ``field`` (the first is the documented one)."""
    info = PeragoSettings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices if isinstance(choice, str) and choice.isupper()]
    if isinstance(alias, str):
        return [alias]
    prefix = PeragoSettings.model_config.get("env_prefix", "")
    return [f"{prefix}{field}".upper()]


def known_env_names() -> set[str]:
    """Every environment variable name PeragoSettings reads."""
    return {name for field in PeragoSettings.model_fields for name in env_names(field)}
