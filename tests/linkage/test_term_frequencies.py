"""Term-frequency adjustments that leave the scored pair out of its value's count."""

from __future__ import annotations

import math
from typing import Any

import duckdb
import pytest
from splink import DuckDBAPI, Linker

from linkage.backends import Backend
from linkage.term_frequencies import register_pair_excluded_term_frequencies

RARE, COMMON = 1, 2
RECORDS = 100  # per side: one RARE, 20 COMMON, the rest values no other record has
COMMON_PER_SIDE = 20


def _linker(
    exact_u: float, *, connection: duckdb.DuckDBPyConnection | None = None
) -> tuple[Linker, Backend]:
    """A linker over two sides; given ``connection``, over the sides already in it
    (a second linker with a database API of its own)."""
    made = connection is not None
    connection = connection if connection is not None else duckdb.connect()
    for table, offset in (("left_side", 1_000), ("right_side", 5_000)) if not made else ():
        connection.execute(
            f"CREATE TABLE {table} AS SELECT i AS unique_id, CASE WHEN i = 0 THEN {RARE} "
            f"WHEN i <= {COMMON_PER_SIDE} THEN {COMMON} ELSE {offset} + i END AS fn_sn "
            f"FROM range({RECORDS}) t(i)"
        )
    backend = Backend(
        name="duckdb", dialect="duckdb", db_api=DuckDBAPI(connection), connection=connection
    )
    settings: dict[str, Any] = {
        "link_type": "link_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": 0.01,
        "retain_intermediate_calculation_columns": True,
        "blocking_rules_to_generate_predictions": ["l.fn_sn = r.fn_sn"],
        "comparisons": [
            {
                "output_column_name": "fn_sn",
                "comparison_levels": [
                    {
                        "sql_condition": '"fn_sn_l" IS NULL OR "fn_sn_r" IS NULL',
                        "is_null_level": True,
                    },
                    {
                        "sql_condition": '"fn_sn_l" = "fn_sn_r"',
                        "label_for_charts": "exact",
                        "m_probability": 0.9,
                        "u_probability": exact_u,
                        "tf_adjustment_column": "fn_sn",
                        "tf_adjustment_weight": 1.0,
                    },
                    {
                        "sql_condition": "ELSE",
                        "label_for_charts": "else",
                        "m_probability": 0.1,
                        "u_probability": 1 - exact_u,
                    },
                ],
            }
        ],
    }
    frames = [
        backend.register("left_side", dataset="left_side"),
        backend.register("right_side", dataset="right_side"),
    ]
    return Linker(frames, settings), backend


def _adjustment(linker: Linker, value: int) -> float:
    predictions = linker.inference.predict().as_pandas_dataframe()  # type: ignore[no-untyped-call]
    rows = predictions[predictions["fn_sn_l"] == value]
    return float(rows["mw_tf_adj_fn_sn"].iloc[0])


def _register(linker: Linker, backend: Backend) -> int:
    tables = {"left_side": "left_side", "right_side": "right_side"}
    return register_pair_excluded_term_frequencies(linker, backend, tables)


def test_splink_own_frequencies_count_the_pair() -> None:
    # What is fixed: a value only the pair carries gets 2 / N, so its agreement
    # weighs less than the level's own u says (u 1e-3 < 2 / 200).
    linker, _backend = _linker(exact_u=1e-3)
    assert _adjustment(linker, RARE) == pytest.approx(math.log2(1e-3) - math.log2(2 / 200))


def test_a_value_only_the_pair_carries_keeps_the_level_weight() -> None:
    linker, backend = _linker(exact_u=1e-3)
    assert _register(linker, backend) == 1
    assert _adjustment(linker, RARE) == pytest.approx(0.0)


def test_a_common_value_keeps_its_penalty_counted_among_the_other_records() -> None:
    linker, backend = _linker(exact_u=1e-3)
    _register(linker, backend)
    others = 2 * COMMON_PER_SIDE - 2
    expected = math.log2(1e-3) - math.log2(others / (2 * RECORDS))
    assert _adjustment(linker, COMMON) == pytest.approx(expected)
    assert expected < -7  # still far below the level weight


def test_a_rare_value_gains_no_more_than_one_record_in_n() -> None:
    # Where the level's u is above the counts' resolution, a value no other record
    # carries is taken as one record in N: rarer than that the counts cannot say.
    linker, backend = _linker(exact_u=0.05)
    _register(linker, backend)
    assert _adjustment(linker, RARE) == pytest.approx(math.log2(0.05) - math.log2(1 / 200))


def test_a_second_linker_can_reuse_the_frequencies_counted_for_the_first() -> None:
    # The report's sample linker counts in the same tables as the run's linker: with
    # reuse it registers the tables the run made instead of counting again (a changed
    # table shows which happened).
    linker, backend = _linker(exact_u=1e-3)
    _register(linker, backend)
    backend.connection.execute(f"UPDATE left_side SET fn_sn = {COMMON} WHERE fn_sn > {COMMON}")
    tables = {"left_side": "left_side", "right_side": "right_side"}
    others = 2 * COMMON_PER_SIDE - 2
    expected = math.log2(1e-3) - math.log2(others / (2 * RECORDS))
    reusing, second = _linker(exact_u=1e-3, connection=backend.connection)
    register_pair_excluded_term_frequencies(reusing, second, tables, reuse=True)
    assert _adjustment(reusing, COMMON) == pytest.approx(expected)
    # Counted again, the common value is now far commoner.
    counting, third = _linker(exact_u=1e-3, connection=backend.connection)
    register_pair_excluded_term_frequencies(counting, third, tables)
    assert _adjustment(counting, COMMON) < expected - 1
