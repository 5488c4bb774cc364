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
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "BLOOM_INFO_PREFIX",
    "MATCH_KEY_INFO_PREFIX",
    "OWNER_ID_INFO_PREFIX",
    "PARALLEL_MIN_VALUES",
    "PIECE_VALUES",
    "RECORD_PID_INFO",
    "Hmac",
    "HmacBatch",
    "HmacJob",
    "bloom_subkey",
    "default_workers",
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
BLOOM_INFO_PREFIX = "trelink/bloom/v1/"
_BLOCK = 64
PARALLEL_MIN_VALUES = 200_000
PIECE_VALUES = 100_000


def _hkdf(key: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(key)


def match_key_subkey(linkage_key: bytes, domain: str) -> bytes:
    """The HMAC key of one token domain."""
    return _hkdf(linkage_key, MATCH_KEY_INFO_PREFIX + domain)


def bloom_subkey(linkage_key: bytes, field: str) -> bytes:
    """The HMAC key of one field's Bloom filters (``pseudonymise.bloom``)."""
    return _hkdf(linkage_key, BLOOM_INFO_PREFIX + field)


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

    def prefixes(self, values: Iterable[str] | pa.Array, width: int) -> bytes:
        """The first ``width`` bytes of the HMAC of each value (UTF-8), concatenated."""
        if isinstance(values, pa.Array):  # Arrow hands over UTF-8 bytes directly
            encoded: Iterable[bytes] = values.cast(pa.binary()).to_pylist()
        else:
            encoded = (value.encode() for value in values)
        inner_copy, outer_copy = self._inner.copy, self._outer.copy
        prefixes: list[bytes] = []
        append = prefixes.append
        # The loop body is inlined (no method call per value): this is the hot path.
        for value in encoded:
            inner = inner_copy()
            inner.update(value)
            outer = outer_copy()
            outer.update(inner.digest())
            append(outer.digest()[:width])
        return b"".join(prefixes)

    def tokens64(self, values: Iterable[str] | pa.Array) -> npt.NDArray[np.int64]:
        """First 64 bits of the HMAC of each value, as big-endian signed integers."""
        return int64_tokens(self.prefixes(values, 8))

    def hex32(self, values: Iterable[str] | pa.Array) -> pa.Array:
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
    """Values to hash under one key, keeping ``width`` bytes of each HMAC.

    An Arrow array travels to worker processes as a few buffers, far cheaper to send
    than a list of Python strings.
    """

    key: bytes
    values: Sequence[str] | pa.Array
    width: int

    def piece(self, start: int, stop: int) -> HmacJob:
        if isinstance(self.values, pa.Array):
            # A slice would pickle its whole parent buffer; concatenating copies just it.
            values: Sequence[str] | pa.Array = pa.concat_arrays([self.values[start:stop]])
        else:
            values = self.values[start:stop]
        return HmacJob(self.key, values, self.width)


def _run_piece(job: HmacJob) -> bytes:
    return Hmac(job.key).prefixes(job.values, job.width)


class HmacBatch:
    """Hash jobs as they are submitted, in worker processes when ``workers`` > 1.

    HMAC holds the GIL, so threads would not help; processes (forked: they start at
    once and touch only ``hashlib``) hash while the caller goes on deriving the next
    match key. Jobs are cut into pieces of ``PIECE_VALUES`` to share the work evenly.
    With ``workers`` = 1 every job runs in this process when it is submitted.
    """

    def __init__(self, *, workers: int) -> None:
        self._pool: ProcessPoolExecutor | None = None
        if workers > 1:
            context = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        self._pieces: list[list[Future[bytes] | bytes]] = []

    def __enter__(self) -> HmacBatch:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def submit(self, job: HmacJob) -> int:
        """Queue ``job``; its result is ``results()[index]``."""
        pieces: list[Future[bytes] | bytes] = []
        for start in range(0, len(job.values), PIECE_VALUES):
            piece = job.piece(start, start + PIECE_VALUES)
            pieces.append(
                _run_piece(piece) if self._pool is None else self._pool.submit(_run_piece, piece)
            )
        self._pieces.append(pieces)
        return len(self._pieces) - 1

    def results(self) -> list[bytes]:
        """Every job's HMAC prefixes, in submission order (waits for the workers)."""
        return [
            b"".join(piece if isinstance(piece, bytes) else piece.result() for piece in pieces)
            for pieces in self._pieces
        ]


def default_workers(values: int) -> int:
    """Worker processes worth starting for about ``values`` HMACs (1: none)."""
    return (os.cpu_count() or 1) if values >= PARALLEL_MIN_VALUES else 1


def run_hmac_jobs(jobs: Sequence[HmacJob], *, workers: int | None = None) -> list[bytes]:
    """Run ``jobs`` at once (see ``HmacBatch``); workers default to ``default_workers``."""
    count = workers if workers is not None else default_workers(sum(len(j.values) for j in jobs))
    with HmacBatch(workers=count) as batch:
        for job in jobs:
            batch.submit(job)
        return batch.results()


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) of ``message`` under ``key``."""
    return Hmac(key).digest(message)
