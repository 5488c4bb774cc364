"""Dictionary-encoded columns: do the work once per distinct value, not once per row.

Names, dates and postcodes repeat heavily in an extract, so every step of
pseudonymisation (normalise, derive, hash) runs on the distinct values of a column
and is broadcast back to the rows through integer codes. ``-1`` marks a missing value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Encoded", "EncodedLists", "Pair", "encode", "encode_lists"]

Codes = npt.NDArray[np.int64]
SEPARATOR = "\x1f"  # between the parts of a combined key; never inside a normalised part


@dataclass(frozen=True)
class Encoded:
    """A column of strings as ``codes`` into ``array`` (distinct, non-null); -1 is missing.

    The distinct values stay in Arrow until a Python function needs them (``values``),
    so large columns that are only hashed never become millions of Python strings here.
    """

    codes: Codes
    array: pa.Array

    @cached_property
    def values(self) -> list[str]:
        values: list[str] = self.array.to_pylist()
        return values

    def __len__(self) -> int:
        """Number of distinct values."""
        return len(self.array)

    def map(self, function: Callable[[str], str | None]) -> tuple[Encoded, int]:
        """Apply ``function`` to each distinct value; also count rows it turned missing."""
        return self.map_all(lambda values: [function(value) for value in values])

    def map_all(self, function: Callable[[list[str]], Sequence[str | None]]) -> tuple[Encoded, int]:
        """Like ``map`` with a vectorised ``function`` given all distinct values at once."""
        results = function(self.values)
        encoded = _recode(self.codes, results)
        lost = int(np.count_nonzero((self.codes >= 0) & (encoded.codes < 0)))
        return encoded, lost

    def map_lists(self, function: Callable[[str], list[str]]) -> EncodedLists:
        """Apply a list-valued ``function`` to each distinct value (empty list = missing)."""
        return EncodedLists(self.codes, [function(value) for value in self.values]).compact()

    def pair(self, other: Encoded) -> Pair:
        """The distinct (this, other) value pairs, row by row; missing if either is."""
        width = max(len(other), 1)
        pair_codes = self.codes * width + other.codes
        pair_codes[(self.codes < 0) | (other.codes < 0)] = -1
        codes, uniques = _factorize(pair_codes)
        left = self.array.take(pa.array(uniques // width))
        right = other.array.take(pa.array(uniques % width))
        return Pair(codes, left, right)

    def combine(self, *others: Encoded) -> Encoded:
        """Row-wise join of this column with ``others``; missing if any part is."""
        combined = self
        for other in others:
            combined = combined.pair(other).joined()
        return combined


@dataclass(frozen=True)
class Pair:
    """Distinct pairs of two encoded columns: ``codes`` per row into ``left``/``right``."""

    codes: Codes
    left: pa.Array
    right: pa.Array

    def swapped(self) -> Pair:
        return Pair(self.codes, self.right, self.left)

    def joined(self, *, ordered: bool = True) -> Encoded:
        """The pairs joined by the separator; unordered joins put the smaller first, so
        (A, B) and (B, A) give one value (an order-insensitive key)."""
        left, right = self.left, self.right
        if not ordered:
            first = pc.less_equal(left, right)
            left, right = pc.if_else(first, left, right), pc.if_else(first, right, left)
        joined = pc.binary_join_element_wise(left, right, SEPARATOR)
        if ordered:  # distinct pairs of separator-free parts give distinct strings
            return Encoded(self.codes, joined)
        return _recode(self.codes, joined.to_pylist())


@dataclass(frozen=True)
class EncodedLists:
    """A list column as ``codes`` into ``lists`` (distinct lists); -1 is missing."""

    codes: Codes
    lists: list[list[str]]

    @classmethod
    def missing(cls, rows: int) -> EncodedLists:
        """A list column with no value in any of ``rows`` rows."""
        return cls(np.full(rows, -1, dtype=np.int64), [])

    def compact(self) -> EncodedLists:
        """Rows whose list is empty become missing."""
        empty = np.fromiter((not items for items in self.lists), dtype=bool, count=len(self.lists))
        if not empty.any():
            return self
        codes = self.codes.copy()
        valid = codes >= 0
        codes[valid & empty[np.where(valid, codes, 0)]] = -1
        return EncodedLists(codes, self.lists)


def _factorize(values: npt.NDArray[np.int64]) -> tuple[Codes, npt.NDArray[np.int64]]:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    # factorize treats -1 as an ordinary value; map it back to the missing marker.
    uniques_array = np.asarray(uniques, dtype=np.int64)
    is_missing = uniques_array < 0
    if is_missing.any():
        keep = np.flatnonzero(~is_missing)
        remap = np.full(len(uniques_array), -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        return remap[codes], uniques_array[keep]
    return codes.astype(np.int64), uniques_array


def _recode(codes: Codes, results: Sequence[str | None]) -> Encoded:
    """Codes into ``results`` → codes into the distinct non-missing results."""
    mapping, uniques = pd.factorize(np.asarray(results, dtype=object), use_na_sentinel=True)
    # code -1 indexes the appended last slot, so missing stays missing
    mapping = np.append(mapping.astype(np.int64), -1)
    return Encoded(mapping[codes], pa.array(uniques, pa.string()))


def encode(column: pa.Array | pa.ChunkedArray, *, pad_integers: int = 0) -> Encoded:
    """Dictionary-encode a scalar column; its distinct values become ``str``.

    Dates become ``YYYY-MM-DD``; integers are left-padded with zeros to
    ``pad_integers`` digits (identifiers stored as numbers lose leading zeros).
    Conversion happens on the distinct values only.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    dictionary = column.dictionary_encode()
    distinct = dictionary.dictionary
    if pa.types.is_integer(distinct.type) and pad_integers:
        distinct = pc.utf8_lpad(pc.cast(distinct, pa.string()), pad_integers, "0")
    elif not pa.types.is_string(distinct.type):
        distinct = pc.cast(distinct, pa.string())
    indices = dictionary.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    # Arrow's dictionary holds distinct, non-null values already.
    return Encoded(indices.astype(np.int64), distinct)


def encode_lists(rows: list[list[str] | None]) -> EncodedLists:
    """Encode per-row lists (built in Python for the rare rows that have them)."""
    positions: dict[tuple[str, ...], int] = {}
    codes = np.full(len(rows), -1, dtype=np.int64)
    for index, items in enumerate(rows):
        if items:
            key = tuple(dict.fromkeys(items))
            codes[index] = positions.setdefault(key, len(positions))
    return EncodedLists(codes, [list(key) for key in positions])
