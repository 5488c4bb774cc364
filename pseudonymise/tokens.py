"""Keyed tokens: HMAC-SHA256 under domain-separated subkeys.

* A **match-key token** is HMAC-SHA256 of the normalised value under a subkey derived
  with HKDF-SHA256 from the project linkage key, ``info = trelink/match-key/v1/<domain>``.
  Keys of one domain share a subkey, so their tokens are comparable across columns;
  keys of different domains never are. The first 64 bits of the HMAC, read big-endian
  as a signed integer, are the token (``int64`` columns in ``identity.parquet``).
* A **record pid** is HMAC-SHA256 of the record id under a subkey of the owner's own
  key (``info = trelink/record-pid/v1``), as 32 hex digits. Only the owner can map it
  back, through its lookup. Owner-keyed attribute columns (``person_ref``) use
  ``info = trelink/owner-id/v1/<column>`` the same way.

HMAC is computed from precomputed inner and outer pad states (``hashlib`` ``copy()``),
which is the RFC 2104 construction and about twice as fast per value as
``hmac.digest``; callers pass each DISTINCT value once.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "MATCH_KEY_INFO_PREFIX",
    "OWNER_ID_INFO_PREFIX",
    "PARALLEL_MIN_VALUES",
    "RECORD_PID_INFO",
    "Hmac",
    "HmacJob",
    "hex_strings",
    "hmac_sha256",
    "int64_tokens",
    "match_key_subkey",
    "owner_id_subkey",
    "record_pid_subkey",
    "run_hmac_jobs",
]

MATCH_KEY_INFO_PREFIX = "trelink/match-key/v1/"
RECORD_PID_INFO = "trelink/record-pid/v1"
OWNER_ID_INFO_PREFIX = "trelink/owner-id/v1/"
_BLOCK = 64
PARALLEL_MIN_VALUES = 400_000
PIECE_VALUES = 100_000


def _hkdf(key: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(key)


def match_key_subkey(linkage_key: bytes, domain: str) -> bytes:
    """The HMAC key of one token domain."""
    return _hkdf(linkage_key, MATCH_KEY_INFO_PREFIX + domain)


def owner_id_subkey(owner_key: bytes, column: str) -> bytes:
    """The HMAC key of an owner-keyed attribute column (such as ``person_ref``)."""
    return _hkdf(owner_key, OWNER_ID_INFO_PREFIX + column)


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

    def prefixes(self, values: Iterable[str], width: int) -> bytes:
        """The first ``width`` bytes of the HMAC of each value (UTF-8), concatenated."""
        inner_copy, outer_copy = self._inner.copy, self._outer.copy
        prefixes: list[bytes] = []
        append = prefixes.append
        # The loop body is inlined (no method call per value): this is the hot path.
        for value in values:
            inner = inner_copy()
            inner.update(value.encode())
            outer = outer_copy()
            outer.update(inner.digest())
            append(outer.digest()[:width])
        return b"".join(prefixes)

    def tokens64(self, values: Iterable[str]) -> npt.NDArray[np.int64]:
        """First 64 bits of the HMAC of each value, as big-endian signed integers."""
        return int64_tokens(self.prefixes(values, 8))

    def hex32(self, values: Iterable[str]) -> pa.Array:
        """First 128 bits of the HMAC of each value, as 32 lower-case hex digits."""
        return hex_strings(self.prefixes(values, 16))


def int64_tokens(prefixes: bytes) -> npt.NDArray[np.int64]:
    """8-byte HMAC prefixes → signed 64-bit tokens (big-endian)."""
    return np.frombuffer(prefixes, dtype=">i8").astype(np.int64)


def hex_strings(prefixes: bytes) -> pa.Array:
    """16-byte HMAC prefixes → 32-character hex strings, in one conversion."""
    fixed = np.frombuffer(prefixes.hex().encode("ascii"), dtype="S32")
    return pa.array(fixed, pa.binary(32)).cast(pa.string())


@dataclass(frozen=True)
class HmacJob:
    """Values to hash under one key, keeping ``width`` bytes of each HMAC."""

    key: bytes
    values: Sequence[str]
    width: int


def _run_piece(job: HmacJob) -> bytes:
    return Hmac(job.key).prefixes(job.values, job.width)


def run_hmac_jobs(jobs: Sequence[HmacJob], *, workers: int | None = None) -> list[bytes]:
    """Run every job; split large batches over ``workers`` processes (default: CPUs).

    HMAC holds the GIL, so threads would not help. Small batches (fewer than
    ``PARALLEL_MIN_VALUES`` values in all) run in this process, where starting
    workers would cost more than it saves.
    """
    count = workers if workers is not None else (os.cpu_count() or 1)
    total = sum(len(job.values) for job in jobs)
    if count <= 1 or total < PARALLEL_MIN_VALUES:
        return [_run_piece(job) for job in jobs]
    pieces: list[HmacJob] = []
    owners: list[int] = []
    for index, job in enumerate(jobs):
        for start in range(0, len(job.values), PIECE_VALUES):
            pieces.append(HmacJob(job.key, job.values[start : start + PIECE_VALUES], job.width))
            owners.append(index)
    # fork: workers inherit the interpreter at once and touch only hashlib.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        results = list(pool.map(_run_piece, pieces))
    joined: list[list[bytes]] = [[] for _ in jobs]
    for owner, result in zip(owners, results, strict=True):
        joined[owner].append(result)
    return [b"".join(parts) for parts in joined]


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) of ``message`` under ``key``."""
    return Hmac(key).digest(message)
