"""Truth-free indicators per subgroup and coverage-aware linkage rates, on work tables
built by hand so every figure can be checked on paper."""

from __future__ import annotations

import duckdb
import pytest
from pydantic import ValidationError

from linkage.indicators import (
    covered_link_rates,
    dataset_coverage,
    subgroup_indicators,
    uncertain_band,
)
from trelink.specs.dataset import CoverageSpec


def _work_tables(connection: duckdb.DuckDBPyConnection, *, with_truth: bool) -> None:
    """Dataset a: a1, a2 (F), a3 (M), a4 (sex not recorded); dataset b: b1..b4.

    Pairs: a1-b1 0.95 (true), a2-b2 0.6 (true, below the 0.8 threshold), a3-b3 0.9
    (false), a3-b4 0.3 (true). Held back: a4-b4 0.85. The true pairs are exactly
    a1-b1, a2-b2 and a3-b4.
    """
    connection.execute(
        "CREATE TABLE scored_pairs AS SELECT * FROM (VALUES "
        "('a', 'a1', 'b', 'b1', 0.95), ('a', 'a2', 'b', 'b2', 0.6), "
        "('a', 'a3', 'b', 'b3', 0.9), ('a', 'a3', 'b', 'b4', 0.3)) "
        "AS t(dataset_l, record_pid_l, dataset_r, record_pid_r, match_probability)"
    )
    connection.execute(
        "CREATE TABLE held_back AS SELECT *, 'twins' AS rule FROM (VALUES "
        "('a', 'a4', 'b', 'b4', 0.85)) "
        "AS t(dataset_l, record_pid_l, dataset_r, record_pid_r, match_probability)"
    )
    connection.execute(
        "CREATE TABLE attributes_a AS SELECT * FROM (VALUES ('a1', 'F', 'child'), "
        "('a2', 'F', 'child'), ('a3', 'M', 'adult'), ('a4', NULL, NULL)) "
        "AS t(record_pid, sex, age_group)"
    )
    connection.execute(
        "CREATE TABLE attributes_b AS SELECT * FROM (VALUES ('b1', 'F'), ('b2', 'F'), "
        "('b3', 'M'), ('b4', 'M')) AS t(record_pid, sex)"
    )
    if with_truth:
        connection.execute(
            "CREATE TABLE judged_pairs AS SELECT *, (record_pid_l, record_pid_r) IN "
            "(('a1', 'b1'), ('a2', 'b2'), ('a3', 'b4')) AS is_true FROM scored_pairs"
        )
        connection.execute(
            "CREATE TABLE true_pairs AS SELECT * FROM (VALUES ('a', 'a1', 'b', 'b1'), "
            "('a', 'a2', 'b', 'b2'), ('a', 'a3', 'b', 'b4')) "
            "AS t(dataset_l, record_pid_l, dataset_r, record_pid_r)"
        )


def _indicators(connection: duckdb.DuckDBPyConnection, *, with_truth: bool) -> dict[str, object]:
    rows = subgroup_indicators(
        connection,
        attributes={"a": "attributes_a", "b": "attributes_b"},
        subgroups=("sex", "nationality"),
        threshold=0.8,
        band=(0.2, 0.8),
        with_truth=with_truth,
    )
    return {f"{row.dataset}/{row.subgroup}/{row.value}": row for row in rows}


def test_expected_figures_and_shares_per_subgroup() -> None:
    connection = duckdb.connect()
    _work_tables(connection, with_truth=False)
    found = _indicators(connection, with_truth=False)
    assert sorted(found) == [
        "a/sex/F",
        "a/sex/M",
        "a/sex/not recorded",
        "b/sex/F",
        "b/sex/M",
    ]  # nationality is in no attributes table
    women = found["a/sex/F"]
    # a1-b1 (0.95, a link) and a2-b2 (0.6): precision 0.95, recall 0.95 / 1.55.
    assert women.records == 2 and women.candidate_pairs == 2  # type: ignore[attr-defined]
    assert women.expected_precision == pytest.approx(0.95)  # type: ignore[attr-defined]
    assert women.expected_recall == pytest.approx(0.95 / 1.55)  # type: ignore[attr-defined]
    # a2's best candidate (0.6) is in the band; a1's (0.95) is not.
    assert women.uncertain_share == pytest.approx(0.5)  # type: ignore[attr-defined]
    assert women.held_back_share == 0 and women.measured_precision is None  # type: ignore[attr-defined]
    unknown = found["a/sex/not recorded"]
    # a4's only pair is held back: a candidate, never a link.
    assert unknown.held_back_share == 1  # type: ignore[attr-defined]
    assert unknown.expected_precision is None  # type: ignore[attr-defined]
    assert unknown.expected_recall == 0  # type: ignore[attr-defined]
    men_b = found["b/sex/M"]
    # b3 (0.9, a link) and b4 (0.3 and the held 0.85): recall 0.9 / 2.05.
    assert men_b.expected_recall == pytest.approx(0.9 / 2.05)  # type: ignore[attr-defined]
    assert men_b.held_back_share == pytest.approx(0.5)  # type: ignore[attr-defined]
    assert men_b.uncertain_share == pytest.approx(0.0)  # type: ignore[attr-defined]


def test_a_pair_within_one_group_counts_once_when_deduplicating() -> None:
    # One dataset: a1-a2 (0.9) joins two women, a1-a3 (0.5) a woman and a man.
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE scored_pairs AS SELECT * FROM (VALUES "
        "('a', 'a1', 'a', 'a2', 0.9), ('a', 'a1', 'a', 'a3', 0.5)) "
        "AS t(dataset_l, record_pid_l, dataset_r, record_pid_r, match_probability)"
    )
    connection.execute(
        "CREATE TABLE held_back AS SELECT *, 'twins' AS rule FROM scored_pairs WHERE false"
    )
    connection.execute(
        "CREATE TABLE attributes_a AS SELECT * FROM (VALUES ('a1', 'F'), ('a2', 'F'), "
        "('a3', 'M')) AS t(record_pid, sex)"
    )
    rows = subgroup_indicators(
        connection,
        attributes={"a": "attributes_a"},
        subgroups=("sex",),
        threshold=0.8,
        band=(0.2, 0.8),
        with_truth=False,
    )
    found = {row.value: row for row in rows}
    assert found["F"].candidate_pairs == 2 and found["M"].candidate_pairs == 1
    assert found["F"].expected_precision == pytest.approx(0.9)
    assert found["F"].expected_recall == pytest.approx(0.9 / 1.4)


def test_measured_figures_sit_beside_the_expected_ones_where_truth_exists() -> None:
    connection = duckdb.connect()
    _work_tables(connection, with_truth=True)
    found = _indicators(connection, with_truth=True)
    men = found["a/sex/M"]
    # a3's links: a3-b3 (false). True pairs touching a3: a3-b4, not linked.
    assert men.measured_precision == 0  # type: ignore[attr-defined]
    assert men.measured_recall == 0  # type: ignore[attr-defined]
    assert men.expected_precision == pytest.approx(0.9)  # type: ignore[attr-defined]
    women = found["a/sex/F"]
    assert women.measured_precision == 1  # type: ignore[attr-defined]
    assert women.measured_recall == pytest.approx(0.5)  # type: ignore[attr-defined]


def test_the_uncertain_band_takes_in_the_threshold() -> None:
    assert uncertain_band(0.8) == (0.2, 0.9)
    assert uncertain_band(0.3) == (0.15, 0.8)
    assert uncertain_band(0.95, (0.1, 0.5)) == (0.1, 0.975)


def test_linkage_rates_divide_by_the_records_that_could_be_there() -> None:
    connection = duckdb.connect()
    _work_tables(connection, with_truth=False)
    # Persons: a1+b1, a2, a3+b3, a4; dataset b is "children only".
    connection.execute(
        "CREATE TABLE clusters AS SELECT * FROM (VALUES ('a', 'a1', 'P1'), ('b', 'b1', 'P1'), "
        "('a', 'a2', 'P2'), ('a', 'a3', 'P3'), ('b', 'b3', 'P3'), ('a', 'a4', 'P4'), "
        "('b', 'b2', 'P5'), ('b', 'b4', 'P6')) AS t(dataset, record_pid, person_id)"
    )
    rows = covered_link_rates(
        connection,
        attributes={"a": "attributes_a", "b": "attributes_b"},
        subgroups=("sex",),
        coverage={
            "b": CoverageSpec(description="children", attribute="age_group", values=("child",))
        },
    )
    overall = rows[0]
    assert (overall.dataset, overall.target, overall.subgroup) == ("a", "b", "all")
    # 4 records, 2 linked to b (a1, a3); 2 children (a1, a2), 1 of them linked; a4 unknown.
    assert (overall.records, overall.eligible, overall.unknown) == (4, 2, 1)
    assert overall.linked_share == pytest.approx(0.5)
    assert overall.linked_share_eligible == pytest.approx(0.5)
    by_sex = {row.value: row for row in rows if row.subgroup == "sex"}
    assert by_sex["M"].eligible == 0 and by_sex["M"].linked_share_eligible is None
    assert by_sex["F"].linked_share_eligible == pytest.approx(0.5)
    # b has no age_group, so nothing is said of b's linkage to a (a has no coverage).
    assert {row.dataset for row in rows} == {"a"}


def test_the_school_census_spec_declares_its_coverage() -> None:
    coverage = dataset_coverage(["education", "nrm", "no_such_dataset"])
    assert list(coverage) == ["education"]
    assert coverage["education"].attribute == "age_group"
    assert coverage["education"].values == ("child",)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"attribute": "age_group", "values": ["child", "child"]}, "more than once"),
        ({"attribute": "age_group", "values": []}, "at least 1"),
        ({"attribute": "Age Group", "values": ["child"]}, "pattern"),
        ({"attribute": "age_group", "values": [" "]}, "blank"),
    ],
)
def test_a_bad_coverage_is_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CoverageSpec.model_validate({"description": "children", **fields})
