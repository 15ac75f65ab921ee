"""User metadata values that survive HTTP headers exactly.

lakeFS takes object user metadata from ``x-lakefs-meta-*`` headers (controller.go extractLakeFSMetadata): Go trims
a value's surrounding whitespace and keeps its bytes, so invalid UTF-8 comes back as U+FFFD; Python's http.client
sends header values as Latin-1 and raises ``UnicodeEncodeError`` on anything else. A value that is not plain
printable ASCII without surrounding whitespace is therefore sent as an RFC 2047 encoded word
(``=?utf-8?b?<base64 of its UTF-8>?=``), which lakeFS stores verbatim; perago decodes it when reading. A plain
value that happens to look like an encoded word is encoded too, so decoding is never ambiguous.
"""

from __future__ import annotations

import base64
import binascii
import re

_ENCODED = re.compile(r"^=\?utf-8\?b\?([A-Za-z0-9+/]*={0,2})\?=$")


def encode_header_value(value: str) -> str:
    """``value`` as it can travel in an HTTP header and come back unchanged."""
    plain = value.isascii() and value.isprintable() and value == value.strip() and not _ENCODED.match(value)
    if plain:
        return value
    return f"=?utf-8?b?{base64.b64encode(value.encode()).decode()}?="


def decode_header_value(value: str) -> str:
    """The original value of :func:`encode_header_value` (plain values come back as they are)."""
    match = _ENCODED.match(value)
    if match is None:
        return value
    try:
        return base64.b64decode(match.group(1), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return value
