"""``${...}`` parameter expressions, evaluated like Conductor's ParametersUtils.

A value that is exactly one expression (``"${a.output.result}"``) is replaced by the referenced
object itself (dict, list, number ...); a string mixing text and expressions gets each expression
interpolated as text. Paths are dotted with optional list indices: ``${ref.output.files[0].name}``.
A path that does not resolve gives ``None``. Nested dicts and lists in the parameters are resolved
recursively.
"""

from __future__ import annotations

import json
import re
from typing import Any

_EXPR = re.compile(r"\$\{([^}]+)\}")
_INDEX = re.compile(r"^([^\[\]]*)((?:\[\d+\])*)$")
_MISSING = object()


def resolve(value: Any, context: dict[str, Any]) -> Any:
    """Resolve every expression in ``value`` against ``context``.

    ``context`` maps the first path segment to an object: ``workflow`` (input, workflowId ...) and
    each task reference name (``{"input": ..., "output": ...}``).
    """
    if isinstance(value, str):
        return _resolve_string(value, context)
    if isinstance(value, dict):
        return {key: resolve(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, context) for item in value]
    return value


def _resolve_string(text: str, context: dict[str, Any]) -> Any:
    if "${" not in text:
        return text
    whole = _EXPR.fullmatch(text)
    if whole is not None:
        return lookup(whole.group(1), context)
    return _EXPR.sub(lambda match: _as_text(lookup(match.group(1), context)), text)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    return json.dumps(value, separators=(",", ":"))


def lookup(path: str, context: dict[str, Any]) -> Any:
    """Follow a dotted path with list indices (``a.b[0].c``) through ``context``; ``None`` if absent."""
    current: Any = context
    for segment in path.strip().split("."):
        current = _step(current, segment)
        if current is _MISSING:
            return None
    return current


def _step(current: Any, segment: str) -> Any:
    match = _INDEX.match(segment)
    if match is None:
        return _MISSING
    key, indices = match.group(1), match.group(2)
    if key:
        if not isinstance(current, dict) or key not in current:
            return _MISSING
        current = current[key]
    for index in re.findall(r"\[(\d+)\]", indices):
        position = int(index)
        if not isinstance(current, list) or position >= len(current):
            return _MISSING
        current = current[position]
    return current
