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


def format_default(field: str) -> str:
    """A field's default as the README's configuration table shows it."""
    import tempfile
    from pathlib import Path

    value = PeragoSettings.model_fields[field].default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Path) and value.is_relative_to(tempfile.gettempdir()):
        return "$TMPDIR/" + value.relative_to(tempfile.gettempdir()).as_posix()
    return str(value)


def table_rows() -> dict[str, tuple[str, str]]:
    """field -> (environment variable, default), as the README's configuration table must list them."""
    return {field: (env_names(field)[0], format_default(field)) for field in PeragoSettings.model_fields}
