from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdc import (
    CellStatus,
    Policy,
    Rule,
    TableInputError,
    TableKind,
    frequency_table,
    magnitude_table,
    order_statistic_table,
)


def cell(table, row: str, column: str) -> int:  # type: ignore[no-untyped-def]
    rows = [table.grid.rows.label(i) for i in range(table.grid.shape[0])]
    columns = [table.grid.columns.label(j) for j in range(table.grid.shape[1])]
    return rows.index(row) * len(columns) + columns.index(column)


def test_margins_are_the_true_totals_even_around_suppressed_cells(
    microdata: pd.DataFrame, policy: Policy
) -> None:
    table = frequency_table(microdata, ["region"], ["age"], policy=policy)
    truth = pd.crosstab(microdata["region"], microdata["age"], margins=True, margins_name="Total")
    frame = table.to_frame().set_index("region")
    assert table.hidden.any()
    for region in truth.index:
        assert frame.loc[region, "Total"] == truth.loc[region, "Total"] or np.isnan(
            frame.loc[region, "Total"]
        )
    assert frame.loc["Total", "Total"] == len(microdata)
    # A published total never equals the sum of the visible cells when one is hidden.
    assert table.values[cell(table, "Total", "Total")] == len(microdata)


def test_every_small_cell_is_primary_and_secondaries_hide_it(
    microdata: pd.DataFrame, policy: Policy
) -> None:
    table = frequency_table(microdata, ["region"], ["sex", "age"], policy=policy)
    for index, status in enumerate(table.statuses):
        count = table.counts[index]
        if count < policy.threshold:
            assert status is CellStatus.PRIMARY
            assert Rule.THRESHOLD in table.rules[index] or Rule.ZEROS in table.rules[index]
        elif status is CellStatus.SECONDARY:
            assert table.rules[index] == (Rule.PROTECTION,)
    assert CellStatus.SECONDARY in table.statuses
    record = table.decision_record()
    assert record["summary"]["primary"] == table.statuses.count(CellStatus.PRIMARY)
    assert record["suppression"]["optimal"] is True
    hidden_cells = [
        entry for entry in record["cells"] if entry["status"] in ("primary", "secondary")
    ]
    assert all(entry["interval"][1] - entry["interval"][0] >= 10 for entry in hidden_cells)


def test_hierarchical_rows_have_subtotals(microdata: pd.DataFrame, policy: Policy) -> None:
    table = frequency_table(microdata, ["region", "age"], ["sex"], policy=policy)
    labels = [table.grid.rows.label(i) for i in range(table.grid.shape[0])]
    assert labels[:4] == ["E | 0-9", "E | 10-13", "E | 14-17", "E | Total"]
    assert labels[-1] == "Total | Total"
    expected = int((microdata["region"] == "E").sum())
    assert table.values[cell(table, "E | Total", "Total")] == expected


def test_zero_cells_published_when_the_policy_allows(policy: Policy) -> None:
    data = pd.DataFrame({"a": ["x"] * 30 + ["y"] * 30, "b": ["p"] * 30 + ["p"] * 15 + ["q"] * 15})
    lenient = policy.with_changes(zeros_disclosive=False, class_disclosure=False)
    table = frequency_table(data, ["a"], ["b"], policy=lenient)
    assert table.statuses[cell(table, "x", "q")] is CellStatus.ZERO
    strict = frequency_table(data, ["a"], ["b"], policy=policy)
    assert strict.statuses[cell(strict, "x", "q")] is CellStatus.PRIMARY


def test_a_dominated_sum_is_suppressed(policy: Policy) -> None:
    data = pd.DataFrame(
        {
            "a": ["x"] * 24 + ["y"] * 24,
            "b": ["p", "q"] * 24,
            "cost": [5000.0] + [10.0] * 47,
        }
    )
    table = magnitude_table(data, ["a"], ["b"], "cost", policy=policy)
    dominated = cell(table, "x", "p")
    assert table.statuses[dominated] is CellStatus.PRIMARY
    assert Rule.DOMINANCE in table.rules[dominated]
    assert table.kind is TableKind.SUM
    entry = table.decision_record()["cells"][dominated]
    assert entry["dominance_share"] > 0.9


def test_means_use_the_pattern_of_the_sums(microdata: pd.DataFrame, policy: Policy) -> None:
    sums = magnitude_table(microdata, ["region"], ["age"], "cost", policy=policy)
    means = magnitude_table(microdata, ["region"], ["age"], "cost", statistic="mean", policy=policy)
    assert (sums.hidden == means.hidden).all()
    total = cell(means, "Total", "Total")
    assert means.values[total] == pytest.approx(microdata["cost"].mean())
    assert means.decision_record()["measure"] == "mean:cost"


@pytest.mark.parametrize(
    ("frame", "rows", "columns", "message"),
    [
        (pd.DataFrame({"a": ["x"], "b": ["y"]}), ["a"], ["nope"], "unknown column"),
        (pd.DataFrame({"a": ["Total"], "b": ["y"]}), ["a"], ["b"], "Total"),
        (pd.DataFrame({"a": ["x"], "b": ["y"]}), ["a"], ["a"], "twice"),
        (pd.DataFrame({"a": ["x"], "b": ["y"]}), [], ["b"], "at least one"),
        (pd.DataFrame({"a": [], "b": []}), ["a"], ["b"], "no records"),
    ],
)
def test_bad_tables_are_refused(
    frame: pd.DataFrame, rows: list[str], columns: list[str], message: str, policy: Policy
) -> None:
    with pytest.raises(TableInputError, match=message):
        frequency_table(frame, rows, columns, policy=policy)


def test_non_numeric_values_are_refused_with_their_row(policy: Policy) -> None:
    frame = pd.DataFrame({"a": ["x", "y"], "b": ["p", "q"], "cost": ["1.5", "lots"]})
    with pytest.raises(TableInputError, match=r"'cost' row 3: not a number"):
        magnitude_table(frame, ["a"], ["b"], "cost", policy=policy)


def test_a_one_person_maximum_is_suppressed_with_the_margins_it_leaks(policy: Policy) -> None:
    # ACRO 1.0.2 passes a maximum pivot on the threshold alone. Here the cell with three
    # children is hidden, and so is every total whose maximum is that child's value.
    data = pd.DataFrame(
        {
            "region": ["N"] * 30 + ["S"] * 30 + ["W"] * 3,
            "age": (["0-9", "10-17"] * 15) * 2 + ["10-17"] * 3,
            "months": [5.0] * 60 + [40.0, 2.0, 3.0],
        }
    )
    table = order_statistic_table(
        data, ["region"], ["age"], "months", statistic="max", policy=policy
    )
    frame = table.to_frame().set_index("region")
    hidden = frame.isna()
    assert hidden.loc["W", "age: 10-17"]
    assert hidden.loc["W", "Total"]  # equals the hidden maximum 40
    assert hidden.loc["Total", "age: 10-17"]
    assert hidden.loc["Total", "Total"]
    assert frame.loc["N", "Total"] == 5.0
    assert table.statuses[cell(table, "W", "10-17")] is CellStatus.PRIMARY
    assert table.statuses[cell(table, "Total", "Total")] is CellStatus.SECONDARY
    medians = order_statistic_table(
        data, ["region"], ["age"], "months", statistic="median", policy=policy
    )
    assert medians.to_frame().set_index("region").loc["Total", "Total"] == 5.0


def test_unobserved_combinations_get_rows_unless_the_variables_are_nested(
    policy: Policy,
) -> None:
    # No W children aged 0-9: a table without that row would publish that zero.
    data = pd.DataFrame(
        {
            "region": ["N"] * 40 + ["W"] * 20,
            "age": ["0-9"] * 20 + ["10-17"] * 20 + ["10-17"] * 20,
            "sex": ["F", "M"] * 30,
        }
    )
    full = frequency_table(data, ["region", "age"], ["sex"], policy=policy)
    rows = [full.grid.rows.label(i) for i in range(full.grid.shape[0])]
    assert "W | 0-9" in rows
    assert full.statuses[cell(full, "W | 0-9", "F")] is CellStatus.PRIMARY  # a zero
    nested = frequency_table(data, ["region", "age"], ["sex"], policy=policy, nested=True)
    assert "W | 0-9" not in [nested.grid.rows.label(i) for i in range(nested.grid.shape[0])]
