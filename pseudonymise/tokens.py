"""Keyed tokens: HMAC-SHA256 under domain-separated subkeys.

* A **match-key token** is HMAC-SHA256 of the normalised value under a subkey derived
  with HKDF-SHA256 from the project linkage key, ``info = trelink/match-key/v1/<domain>``.
  Keys of one domain share a subkey, so their tokens are comparable across columns;
  keys of different domains never are. The first 64 bits of the HMAC, read big-endian
  as a signed integer, are the token (``int64`` columns in ``identity.parquet``).
* A **record pid** is HMAC-SHA256 of the record id under a subkey of the owner's own
  key (``info = trelink/record-pid/v1``), as 32 hex digits. Only the owner can map it
  back, through its lookup.

HMAC is computed from precomputed inner and outer pad states (``hashlib`` ``copy()``),
which is the RFC 2104 construction and about twice as fast per value as
``hmac.digest``; callers pass each DISTINCT value once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "MATCH_KEY_INFO_PREFIX",
    "RECORD_PID_INFO",
    "Hmac",
    "hmac_sha256",
    "match_key_subkey",
    "record_pid_subkey",
]

MATCH_KEY_INFO_PREFIX = "trelink/match-key/v1/"
RECORD_PID_INFO = "trelink/record-pid/v1"
_BLOCK = 64


def _hkdf(key: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(key)


def match_key_subkey(linkage_key: bytes, domain: str) -> bytes:
    """The HMAC key of one token domain."""
    return _hkdf(linkage_key, MATCH_KEY_INFO_PREFIX + domain)


def record_pid_subkey(owner_key: bytes) -> bytes:
    """The HMAC key of record pids."""
    return _hkdf(owner_key, RECORD_PID_INFO)


class Hmac:
    """HMAC-SHA256 under one key, with the pad states computed once."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        padded = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in padded))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in padded))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def tokens64(self, values: Iterable[str]) -> npt.NDArray[np.int64]:
        """First 64 bits of the HMAC of each value (UTF-8), as big-endian signed ints."""
        inner_copy, outer_copy = self._inner.copy, self._outer.copy
        prefixes: list[bytes] = []
        append = prefixes.append
        # The loop body is inlined (no method call per value): this is the hot path.
        for value in values:
            inner = inner_copy()
            inner.update(value.encode())
            outer = outer_copy()
            outer.update(inner.digest())
            append(outer.digest()[:8])
        return np.frombuffer(b"".join(prefixes), dtype=">i8").astype(np.int64)

    def hex32(self, values: Sequence[str]) -> list[str]:
        """First 128 bits of the HMAC of each value, as 32 lower-case hex digits."""
        return [self.digest(value.encode()).hex()[:32] for value in values]


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) of ``message`` under ``key``."""
    return Hmac(key).digest(message)
