from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sdc import (
    Policy,
    Rule,
    TableInputError,
    check_table_file,
    decision_record_path,
    frequency_table,
    magnitude_table,
    read_table_file,
    write_table,
)


def raw_crosstab(microdata: pd.DataFrame, path: Path) -> Path:
    table = pd.crosstab(
        microdata["region"], microdata["age"], margins=True, margins_name="Total"
    ).reset_index()
    table.to_csv(path, index=False)
    return path


def test_a_raw_crosstab_with_small_cells_fails(
    microdata: pd.DataFrame, policy: Policy, tmp_path: Path
) -> None:
    result = check_table_file(raw_crosstab(microdata, tmp_path / "raw.csv"), policy=policy)
    assert not result.safe
    assert ("W", "0-9") in result.flagged_cells
    assert Rule.THRESHOLD in result.rules[("W", "0-9")]
    assert any("threshold" in reason for reason in result.reasons)


def test_a_protected_table_passes_and_round_trips(
    microdata: pd.DataFrame, policy: Policy, tmp_path: Path
) -> None:
    table = frequency_table(microdata, ["region"], ["sex", "age"], policy=policy)
    csv_path, record_path = write_table(table, tmp_path / "out.csv")
    assert record_path == decision_record_path(csv_path) == tmp_path / "out.sdc.json"
    result = check_table_file(csv_path, policy=policy)
    assert result.safe, result.reasons
    assert result.suppressed_cells == int(table.hidden.sum())
    parsed = read_table_file(csv_path)
    assert parsed.grid.rows.keys == table.grid.rows.keys
    assert parsed.grid.columns.keys == table.grid.columns.keys
    header = pd.read_csv(csv_path, nrows=0).columns.tolist()
    assert header[0] == "region" and header[-1] == "Total"
    assert "sex: F | age: 0-9" in header


def test_filling_in_a_suppressed_cell_is_caught(
    microdata: pd.DataFrame, policy: Policy, tmp_path: Path
) -> None:
    table = frequency_table(microdata, ["region"], ["age"], policy=policy)
    csv_path, _ = write_table(table, tmp_path / "out.csv")
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    # Reveal one hidden cell (with its true value): in a suppression cycle the others
    # then follow from the margins.
    first_hidden = int(table.hidden.nonzero()[0][0])
    row, column = divmod(first_hidden, table.grid.shape[1])
    frame.iloc[row, 1 + column] = str(int(table.values[first_hidden]))
    frame.to_csv(csv_path, index=False)
    result = check_table_file(csv_path, policy=policy)
    assert not result.safe
    assert any("width 0" in reason for reason in result.reasons)


def test_a_magnitude_table_is_checked_against_its_record(
    microdata: pd.DataFrame, policy: Policy, tmp_path: Path
) -> None:
    table = magnitude_table(microdata, ["region"], ["age"], "cost", policy=policy)
    csv_path, record_path = write_table(table, tmp_path / "sums.csv")
    assert check_table_file(csv_path, policy=policy).safe
    record = json.loads(record_path.read_text())
    # Pretend a published cell had a dominant contributor: the check must flag it.
    published = next(cell for cell in record["cells"] if cell["status"] == "safe")
    published["dominance_share"] = 0.99
    record_path.write_text(json.dumps(record))
    result = check_table_file(csv_path, policy=policy)
    assert (published["row"], published["column"]) in result.flagged_cells


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "region,sex: F,Total\nN,12,12\nS,x,3\nTotal,15,15\n",
            "row 3 column 'sex: F': not a number",
        ),
        ("region,sex: F,Total\nN,-2,-2\nTotal,-2,-2\n", "negative count"),
        ("region,sex: F,sex: M\nN,12,4\nS,3,20\n", "no margins"),
        ("region,sex: F,sex: M\nN,12,4\nTotal,12,4\n", "no margins for column"),
        ("region,sex: F,sex: M,Total\nN,12,4,16\nS,3,20,23\n", "no margins"),
        ("region,sex: F,Total\nN,1,1\nN,1,1\nTotal,2,2\n", "appears twice"),
    ],
)
def test_bad_table_files_name_what_is_wrong(
    tmp_path: Path, policy: Policy, text: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TableInputError, match=message):
        check_table_file(path, policy=policy)


def test_a_table_of_means_is_audited_through_the_sums_it_implies(
    microdata: pd.DataFrame, policy: Policy, tmp_path: Path
) -> None:
    table = magnitude_table(microdata, ["region"], ["age"], "cost", statistic="mean", policy=policy)
    csv_path, _ = write_table(table, tmp_path / "means.csv")
    result = check_table_file(csv_path, policy=policy)
    assert result.safe, result.reasons
    assert len(result.audit.cells) == int(table.hidden.sum()) > 0
    for cell in result.audit.cells:
        assert cell.width >= cell.required > 0
