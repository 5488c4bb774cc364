"""Dictionary-encoded columns: do the work once per distinct value, not once per row.

Names, dates and postcodes repeat heavily in an extract, so every step of
pseudonymisation (normalise, derive, hash) runs on the distinct values of a column
and is broadcast back to the rows through integer codes. ``-1`` marks a missing value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Encoded", "EncodedLists", "encode", "encode_lists"]

Codes = npt.NDArray[np.int64]
SEPARATOR = "\x1f"  # between the parts of a combined key; never inside a normalised part


@dataclass(frozen=True)
class Encoded:
    """A column of strings as ``codes`` into ``values`` (distinct); -1 is missing."""

    codes: Codes
    values: list[str]

    def map(self, function: Callable[[str], str | None]) -> tuple[Encoded, int]:
        """Apply ``function`` to each distinct value; also count rows it turned missing."""
        results = [function(value) for value in self.values]
        encoded = _recode(self.codes, results)
        lost = int(np.count_nonzero((self.codes >= 0) & (encoded.codes < 0)))
        return encoded, lost

    def map_lists(self, function: Callable[[str], list[str]]) -> EncodedLists:
        """Apply a list-valued ``function`` to each distinct value (empty list = missing)."""
        return EncodedLists(self.codes, [function(value) for value in self.values]).compact()

    def combine(
        self, *others: Encoded, join: Callable[[Sequence[str]], str] = SEPARATOR.join
    ) -> Encoded:
        """Row-wise ``join`` of this column with ``others``; missing if any part is."""
        combined = self.codes
        tuples: list[tuple[str, ...]] = [(value,) for value in self.values]
        for other in others:
            missing = (combined < 0) | (other.codes < 0)
            pair = combined * max(len(other.values), 1) + other.codes
            pair[missing] = -1
            combined, uniques = _factorize(pair)
            width = max(len(other.values), 1)
            tuples = [
                (*tuples[code // width], other.values[code % width]) for code in uniques.tolist()
            ]
        # Joins may collide (a sorted join of (A, B) and (B, A)): recode to distinct values.
        return _recode(combined, [join(parts_of_row) for parts_of_row in tuples])


@dataclass(frozen=True)
class EncodedLists:
    """A list column as ``codes`` into ``lists`` (distinct lists); -1 is missing."""

    codes: Codes
    lists: list[list[str]]

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


def _recode(codes: Codes, results: list[str | None]) -> Encoded:
    """Codes into ``results`` → codes into the distinct non-missing results."""
    positions: dict[str, int] = {}
    mapping = np.empty(len(results) + 1, dtype=np.int64)
    for index, result in enumerate(results):
        mapping[index] = -1 if result is None else positions.setdefault(result, len(positions))
    mapping[-1] = -1  # code -1 indexes the last slot: missing stays missing
    return Encoded(mapping[codes], list(positions))


def encode(column: pa.Array | pa.ChunkedArray) -> Encoded:
    """Dictionary-encode a string (or other scalar) column; values become ``str``."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.string())
    dictionary = column.dictionary_encode()
    indices = dictionary.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    values = dictionary.dictionary.to_pylist()
    return _recode(indices.astype(np.int64), values)


def encode_lists(rows: list[list[str] | None]) -> EncodedLists:
    """Encode per-row lists (built in Python for the rare rows that have them)."""
    positions: dict[tuple[str, ...], int] = {}
    codes = np.full(len(rows), -1, dtype=np.int64)
    for index, items in enumerate(rows):
        if items:
            key = tuple(dict.fromkeys(items))
            codes[index] = positions.setdefault(key, len(positions))
    return EncodedLists(codes, [list(key) for key in positions])
