"""Expected precision/recall/F1 from match probabilities, and the recommendation rule,
on probability tables small enough to work out by hand."""

from __future__ import annotations

import itertools

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.errors import LinkageError
from linkage.threshold import (
    THRESHOLD_GRID,
    expected_quality,
    expected_quality_curve,
    recommend_threshold,
)


def _pairs(probabilities: list[float], held: list[bool] | None = None) -> str:
    held = held if held is not None else [False] * len(probabilities)
    rows = ", ".join(
        f"({p!r}, {str(flag).lower()})" for p, flag in zip(probabilities, held, strict=True)
    )
    return f"SELECT * FROM (VALUES {rows}) AS t(match_probability, held)"


@pytest.fixture
def connection() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def test_expected_figures_at_one_threshold(connection: duckdb.DuckDBPyConnection) -> None:
    # T = 0.9 + 0.9 + 0.5 + 0.1 + 0.1 = 2.5; at 0.5 the links are 0.9, 0.9, 0.5: S = 2.3.
    point = expected_quality(connection, _pairs([0.9, 0.9, 0.5, 0.1, 0.1]), 0.5)
    assert point.links == 3
    assert point.expected_true_pairs == pytest.approx(2.5)
    assert point.expected_precision == pytest.approx(2.3 / 3)
    assert point.expected_recall == pytest.approx(2.3 / 2.5)
    assert point.expected_f1 == pytest.approx(2 * 2.3 / (3 + 2.5))


def test_a_held_back_pair_is_a_candidate_but_never_a_link(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    point = expected_quality(connection, _pairs([0.95, 0.9, 0.1], held=[True, False, False]), 0.5)
    assert point.links == 1
    assert point.expected_precision == pytest.approx(0.9)
    assert point.expected_recall == pytest.approx(0.9 / 1.95)


def test_the_recommendation_is_the_highest_expected_f1(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    # F1 is 0.6667 up to 0.1, 0.8364 on (0.1, 0.5], 0.8 on (0.5, 0.9], then 0: the
    # highest threshold of the best stretch is 0.5.
    curve = expected_quality_curve(connection, _pairs([0.9, 0.9, 0.5, 0.1, 0.1]))
    assert [point.threshold for point in curve] == list(THRESHOLD_GRID)
    best = recommend_threshold(curve)
    assert best.threshold == 0.5
    assert best.expected_f1 == pytest.approx(2 * 2.3 / 5.5)


def test_a_precision_target_takes_the_lowest_threshold_that_reaches_it(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    curve = expected_quality_curve(connection, _pairs([0.9, 0.9, 0.5, 0.1, 0.1]))
    # Precision is 2.3/3 = 0.767 at 0.5 and 0.9 from 0.51 up.
    assert recommend_threshold(curve, min_precision=0.85).threshold == 0.51
    with pytest.raises(LinkageError, match="no threshold reaches an expected precision"):
        recommend_threshold(curve, min_precision=0.95)


def test_no_scored_pairs_gives_no_recommendation(connection: duckdb.DuckDBPyConnection) -> None:
    empty = "SELECT 0.5 AS match_probability, false AS held WHERE false"
    curve = expected_quality_curve(connection, empty)
    assert all(point.links == 0 and point.expected_recall == 0 for point in curve)
    with pytest.raises(LinkageError, match="no candidate pairs"):
        recommend_threshold(curve)


@settings(max_examples=12, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=1, max_size=30))
def test_expected_figures_are_proportions_and_recall_falls_with_the_threshold(
    probabilities: list[float],
) -> None:
    connection = duckdb.connect()
    curve = expected_quality_curve(connection, _pairs(probabilities))
    for point in curve:
        assert 0 <= point.expected_precision <= 1 + 1e-9
        assert 0 <= point.expected_recall <= 1 + 1e-9
        assert 0 <= point.expected_f1 <= 1 + 1e-9
    recalls = [point.expected_recall for point in curve]
    assert all(later <= earlier + 1e-9 for earlier, later in itertools.pairwise(recalls))
