r"""Call identity: a deterministic SHA-256 of one task call.

The identity of a call is the SHA-256 (lowercase hex) of these canonical bytes::

    UTF-8( JSON( {"params": <params>, "task": <task name>, "version": <task version>} ) )

where ``<params>`` is the params model dumped in JSON mode (``model.model_dump(mode="json")``: dates as ISO
strings, enums as values, defaults included) and JSON is written with

- object keys sorted by Unicode code point, at every depth (not by UTF-16 code unit as JavaScript's default
  sort does: ``"\uff61"`` sorts before ``"\U0001f600"``);
- separators ``","`` and ``":"`` with no whitespace;
- non-ASCII characters written as themselves (UTF-8), not as ``\uXXXX`` escapes; lone surrogates are refused;
- integers in decimal, any size; floats as Python's shortest round-trip ``repr``: ``1.0``, ``0.1``, ``-0.0``,
  ``0.30000000000000004``, and exponent form when the decimal exponent is below -4 or at least 16, written
  ``e``, sign, at least two digits (``1e-05``, ``1e+16``); NaN and infinities are refused;
- ``true``, ``false``, ``null``; in strings only ``"`` and ``\`` and the control characters U+0000..U+001F
  are escaped: ``\"``, ``\\``, ``\b``, ``\f``, ``\n``, ``\r``, ``\t``, the rest as ``\u00XX`` with
  lowercase hex (``\u001f``); U+007F, U+2028 and U+2029 are written as themselves.

This equals Python's ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False).encode("utf-8")``, and does not depend on the process, the hash seed or the Python version.
The digest feeds ``perago.params_sha256`` in commit metadata.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel


def canonical_json(value: Any) -> bytes:
    """The canonical byte form of a JSON-compatible value (see the module docstring)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def call_identity_bytes(task_name: str, task_version: int, params: BaseModel | dict[str, Any]) -> bytes:
    """The canonical bytes of a task call."""
    dumped = params.model_dump(mode="json") if isinstance(params, BaseModel) else params
    return canonical_json({"params": dumped, "task": task_name, "version": task_version})


def call_identity(task_name: str, task_version: int, params: BaseModel | dict[str, Any]) -> str:
    """The SHA-256 (hex) of a task call's canonical bytes."""
    return hashlib.sha256(call_identity_bytes(task_name, task_version, params)).hexdigest()
