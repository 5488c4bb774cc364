"""Comparison SQL built from the match-key spec: text per dialect, and what it means."""

from __future__ import annotations

import duckdb
import pytest

from linkage.comparisons import (
    build_comparisons,
    comparison_columns,
    level_sql,
    null_level_sql,
    term_sql,
)
from trelink.specs.match_keys import (
    ComparisonLevelSpec,
    ComparisonSpec,
    CrossTerm,
    EqualTerm,
    MemberTerm,
    OverlapTerm,
    load_match_key_spec,
)

SQL_CASES = [
    (EqualTerm(equal="dob"), "duckdb", "dob_l = dob_r"),
    (EqualTerm(equal="dob"), "spark", "dob_l = dob_r"),
    (
        CrossTerm(cross=("fn_sn", "sn_fn")),
        "duckdb",
        "(fn_sn_l = sn_fn_r OR sn_fn_l = fn_sn_r)",
    ),
    (
        OverlapTerm(overlap="fn_del"),
        "duckdb",
        "len(list_filter(fn_del_l, lambda token: list_contains(fn_del_r, token))) > 0",
    ),
    (OverlapTerm(overlap="fn_del"), "spark", "arrays_overlap(fn_del_l, fn_del_r)"),
    (
        MemberTerm(member=("dob", "dob_alt")),
        "duckdb",
        "(list_contains(dob_alt_r, dob_l) OR list_contains(dob_alt_l, dob_r))",
    ),
    (
        MemberTerm(member=("dob", "dob_alt")),
        "spark",
        "(array_contains(dob_alt_r, dob_l) OR array_contains(dob_alt_l, dob_r))",
    ),
]


@pytest.mark.parametrize(("term", "dialect", "expected"), SQL_CASES)
def test_term_sql_per_dialect(term: object, dialect: str, expected: str) -> None:
    assert term_sql(term, dialect=dialect) == expected  # type: ignore[arg-type]


# (level, left row, right row, holds?) evaluated by DuckDB itself.
SEMANTIC_CASES = [
    (ComparisonLevelSpec(label="x", all=(EqualTerm(equal="fn"),)), {"fn": 1}, {"fn": 1}, True),
    (ComparisonLevelSpec(label="x", all=(EqualTerm(equal="fn"),)), {"fn": 1}, {"fn": 2}, False),
    (
        ComparisonLevelSpec(label="swap", all=(CrossTerm(cross=("fn", "sn")),)),
        {"fn": 1, "sn": 2},
        {"fn": 2, "sn": 1},
        True,
    ),
    (
        ComparisonLevelSpec(label="swap one way", all=(CrossTerm(cross=("fn", "sn")),)),
        {"fn": 1, "sn": 5},
        {"fn": 7, "sn": 1},
        True,
    ),
    (
        ComparisonLevelSpec(
            label="both", all=(EqualTerm(equal="sn"), OverlapTerm(overlap="fn_del"))
        ),
        {"sn": 3, "fn_del": [10, 11]},
        {"sn": 3, "fn_del": [11, 12]},
        True,
    ),
    (
        ComparisonLevelSpec(
            label="both", all=(EqualTerm(equal="sn"), OverlapTerm(overlap="fn_del"))
        ),
        {"sn": 3, "fn_del": [10, 11]},
        {"sn": 4, "fn_del": [11, 12]},
        False,
    ),
    (
        ComparisonLevelSpec(
            label="both", all=(EqualTerm(equal="sn"), OverlapTerm(overlap="fn_del"))
        ),
        {"sn": 3, "fn_del": [10, 11]},
        {"sn": 3, "fn_del": [12, 13]},
        False,
    ),
    (
        ComparisonLevelSpec(
            label="both", all=(EqualTerm(equal="sn"), OverlapTerm(overlap="fn_del"))
        ),
        {"sn": 3, "fn_del": None},
        {"sn": 3, "fn_del": [12, 13]},
        False,
    ),
    (
        ComparisonLevelSpec(label="overlap", all=(OverlapTerm(overlap="fn_del"),)),
        {"fn_del": [1, 2, 3]},
        {"fn_del": [3]},
        True,
    ),
    (
        ComparisonLevelSpec(
            label="either", any=(EqualTerm(equal="sn"), OverlapTerm(overlap="fn_del"))
        ),
        {"sn": 3, "fn_del": [10]},
        {"sn": 4, "fn_del": [10]},
        True,
    ),
    (
        ComparisonLevelSpec(label="member", all=(MemberTerm(member=("dob", "dob_alt")),)),
        {"dob": 5, "dob_alt": None},
        {"dob": 6, "dob_alt": [5, 9]},
        True,
    ),
    (
        ComparisonLevelSpec(label="member", all=(MemberTerm(member=("dob", "dob_alt")),)),
        {"dob": 5, "dob_alt": [1]},
        {"dob": 6, "dob_alt": [7, 9]},
        False,
    ),
]

COLUMNS = {
    "fn": "BIGINT",
    "sn": "BIGINT",
    "dob": "BIGINT",
    "fn_del": "BIGINT[]",
    "dob_alt": "BIGINT[]",
}


def _holds(sql: str, left: dict[str, object], right: dict[str, object]) -> bool | None:
    values = [
        f"CAST(? AS {kind}) AS {column}_{side}"
        for side in ("l", "r")
        for column, kind in COLUMNS.items()
    ]
    params = [row.get(column) for row in (left, right) for column in COLUMNS]
    result = duckdb.execute(f"SELECT ({sql}) FROM (SELECT {', '.join(values)})", params).fetchall()[
        0
    ][0]
    return None if result is None else bool(result)


@pytest.mark.parametrize(("level", "left", "right", "expected"), SEMANTIC_CASES)
def test_level_sql_means_what_the_spec_says(
    level: ComparisonLevelSpec, left: dict[str, object], right: dict[str, object], expected: bool
) -> None:
    assert bool(_holds(level_sql(level, dialect="duckdb"), left, right)) is expected


def test_null_level_needs_every_listed_key_missing_on_one_side() -> None:
    comparison = ComparisonSpec(
        name="name",
        null_when_missing=("fn", "sn"),
        levels=(ComparisonLevelSpec(label="x", all=(EqualTerm(equal="fn"),)),),
    )
    sql = null_level_sql(comparison)
    assert _holds(sql, {"fn": None, "sn": None}, {"fn": 1, "sn": 2}) is True
    assert _holds(sql, {"fn": None, "sn": 3}, {"fn": 1, "sn": 2}) is False


def test_shipped_spec_builds_one_comparison_per_entry_with_null_and_else() -> None:
    spec = load_match_key_spec()
    for dialect in ("duckdb", "spark"):
        built = build_comparisons(spec.comparisons, dialect=dialect)
        assert len(built) == len(spec.comparisons)
        for comparison, entry in zip(built, spec.comparisons, strict=True):
            settings = comparison.get_comparison(dialect).as_dict()  # type: ignore[no-untyped-call]
            levels = settings["comparison_levels"]
            assert settings["output_column_name"] == entry.name
            assert levels[0].get("is_null_level") is True
            assert levels[-1]["sql_condition"] == "ELSE"
            assert [level["label_for_charts"] for level in levels[1:-1]] == [
                level.label for level in entry.levels
            ]
            for level, spec_level in zip(levels[1:-1], entry.levels, strict=True):
                assert level.get("tf_adjustment_column") == spec_level.tf


def test_comparison_columns_lists_every_key_read() -> None:
    spec = load_match_key_spec()
    dob = next(comparison for comparison in spec.comparisons if comparison.name == "dob")
    assert set(comparison_columns(dob)) == {
        "dob",
        "dob_alt",
        "dob_swap",
        "dob_ym",
        "dob_md",
        "dob_yd",
    }
