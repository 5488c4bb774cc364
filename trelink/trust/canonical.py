"""Canonical JSON: the bytes that are signed, hashed and chained.

One function, ``canonical_json``, with two named encodings. Each is frozen: bytes
already signed (packages on disk, the export log's entries, enrolments) are verified by
encoding again, so an encoding never changes; a new one would get a new name.

``trelink-json/v1`` (the default)
    Sorted keys, no spaces (``,`` and ``:``), UTF-8 with non-ASCII characters as
    themselves, NaN and infinities refused. The export workflow's log entries,
    signatures, requests, enrolments and checks. Its values hold only strings, whole
    numbers, booleans, lists and mappings: floats are kept out because their text form
    is not canonical across implementations.

``trelink-package-json/v1``
    Python's ``json.dumps(value, sort_keys=True)``: sorted keys, ``", "`` and ``": "``
    separators, non-ASCII escaped as ``\\uXXXX`` (so the bytes are ASCII). The header
    and signed manifest of a ``trelink-package/v1`` transfer package, and the digest of
    the match-key spec a pseudonymised extract records. Import recomputes the manifest's
    digest of packages imported before the digest was kept, so this stays as it is.
"""

from __future__ import annotations

import json
from typing import Final, Literal

__all__ = ["COMPACT_JSON", "PACKAGE_JSON", "JsonEncoding", "canonical_json"]

JsonEncoding = Literal["trelink-json/v1", "trelink-package-json/v1"]
COMPACT_JSON: Final = "trelink-json/v1"
PACKAGE_JSON: Final = "trelink-package-json/v1"


def canonical_json(value: object, *, encoding: JsonEncoding = COMPACT_JSON) -> bytes:
    """The one byte string that represents ``value`` in ``encoding``."""
    if encoding == PACKAGE_JSON:
        return json.dumps(value, sort_keys=True).encode("ascii")
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
