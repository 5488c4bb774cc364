"""Dictionary-encoded columns: the per-distinct-value machinery agrees with row-wise work."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from pseudonymise.encoded import Encoded, EncodedLists, encode

cells = st.lists(st.one_of(st.none(), st.sampled_from(["A", "B", "CC", "D"])), max_size=30)


def _rows(column: Encoded) -> list[str | None]:
    return [column.values[code] if code >= 0 else None for code in column.codes.tolist()]


@given(left=cells, right=cells)
def test_combine_matches_row_by_row_joins(left: list[str | None], right: list[str | None]) -> None:
    size = min(len(left), len(right))
    left, right = left[:size], right[:size]
    first, second = encode(pa.array(left, pa.string())), encode(pa.array(right, pa.string()))
    assert _rows(first) == left
    ordered = first.combine(second)
    unordered = first.pair(second).joined(ordered=False)
    assert _rows(second.pair(first).swapped().joined()) == _rows(ordered)
    pairs = list(zip(left, right, strict=True))
    expected = [None if a is None or b is None else f"{a}\x1f{b}" for a, b in pairs]
    assert _rows(ordered) == expected
    expected_set = [
        None if a is None or b is None else "\x1f".join(sorted((a, b))) for a, b in pairs
    ]
    assert _rows(unordered) == expected_set
    assert len(set(unordered.values)) == len(unordered.values)  # distinct after the sort


def test_map_counts_values_it_turns_missing() -> None:
    column = encode(pa.array(["a", "bad", None, "bad", "c"]))
    mapped, lost = column.map(lambda text: None if text == "bad" else text.upper())
    assert _rows(mapped) == ["A", None, None, None, "C"] and lost == 2


def test_empty_lists_are_missing_and_dates_become_text() -> None:
    lists = EncodedLists(np.array([0, 1, -1, 0]), [["X"], []]).compact()
    assert lists.codes.tolist() == [0, -1, -1, 0]
    assert EncodedLists.missing(3).codes.tolist() == [-1, -1, -1]
    dates = encode(pa.array([0, None, 0], pa.date32()))
    assert _rows(dates) == ["1970-01-01", None, "1970-01-01"]
    padded = encode(pa.array([123, None], pa.int64()), pad_integers=10)
    assert _rows(padded) == ["0000000123", None]
