"""Canonical bytes and digests: what is signed, hashed and chained.

Signatures and the log's hash chain are over canonical JSON (sorted keys, no spaces,
UTF-8), so the same action always yields the same bytes whoever serialises it. Actions
hold only strings, whole numbers, booleans, lists and mappings: floats are kept out
because their text form is not canonical across implementations.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["canonical_json", "sha256_bytes", "sha256_file"]

_CHUNK = 1 << 20


def canonical_json(value: object) -> bytes:
    """The one byte string that represents ``value``."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks so large outputs stream."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
