"""Released tables are safe to open in a spreadsheet, and the commands explain input
mix-ups instead of failing with a traceback (issue 14, findings 8 and 9)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdc.tablefile import read_table_file
from tests.entry_point import run_trelink as run
from trelink.spreadsheet import escape_cell, formula_cells, needs_escape, unescape_cell

FORMULA = '=HYPERLINK("http://x","y")'


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        (FORMULA, True),
        ("+cmd", True),
        ("-rf", True),
        ("@SUM(A1)", True),
        ("\t=1+1", True),
        ("-3", False),
        ("+1.5", False),
        ("-2e3", False),
        ("North", False),
        ("0-9", False),
        ("", False),
    ],
)
def test_which_text_a_spreadsheet_would_run(text: str, escaped: bool) -> None:
    assert needs_escape(text) is escaped
    assert (escape_cell(text) != text) is escaped


@given(st.text(max_size=20))
def test_escaping_round_trips_and_leaves_nothing_runnable(text: str) -> None:
    assert unescape_cell(escape_cell(text)) == text
    assert not needs_escape(escape_cell(text))


@pytest.fixture
def hostile_micro(microdata: pd.DataFrame, tmp_path: Path) -> Path:
    data = microdata.copy()
    data["region"] = data["region"].replace({"N": FORMULA, "S": "-South"})
    data = data.rename(columns={"sex": "@sex"})
    path = tmp_path / "micro.csv"
    data.to_csv(path, index=False)
    return path


def test_protect_escapes_labels_and_check_reads_them_back(
    monkeypatch: pytest.MonkeyPatch, hostile_micro: Path, tmp_path: Path
) -> None:
    out = tmp_path / "table.csv"
    assert run(monkeypatch, "sdc", "protect", "--in", hostile_micro, "--rows", "region",
               "--cols", "@sex", "--out", out) == 0  # fmt: skip
    assert formula_cells(out) == []
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    labels = [row[0] for row in rows[1:]]
    assert "'" + FORMULA in labels and "'-South" in labels
    assert rows[0][1].startswith("'@sex: ")
    table = read_table_file(out)  # labels come back as the decision record has them
    assert (FORMULA,) in table.grid.rows.keys and "@sex" in table.grid.columns.variables
    recorded = table.recorded_values()
    assert recorded is not None and not np.isnan(recorded).any()
    assert run(monkeypatch, "sdc", "check", out) == 0
    assert run(monkeypatch, "sdc", "audit", out) == 0


def test_a_directory_is_named_as_one(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    microdata: pd.DataFrame,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    micro = tmp_path / "micro.csv"
    microdata.to_csv(micro, index=False)
    table = tmp_path / "t.csv"
    cases = [
        ["sdc", "protect", "--in", folder, "--rows", "region", "--cols", "sex", "--out", table],
        ["sdc", "protect", "--in", micro, "--rows", "region", "--cols", "sex", "--out", folder],
        ["sdc", "check", folder],
        ["sdc", "audit", folder],
    ]
    for arguments in cases:
        assert run(monkeypatch, *arguments) == 3, arguments
        assert f"{folder}: is a directory" in " ".join(capsys.readouterr().err.split())
    assert run(monkeypatch, "sdc", "protect", "--in", micro, "--rows", "region", "--cols",
               "sex", "--out", table) == 0  # fmt: skip
    assert run(monkeypatch, "sdc", "audit", table, "--report", folder) == 3
    assert f"{folder}: is a directory" in " ".join(capsys.readouterr().err.split())
    assert json.loads((tmp_path / "t.sdc.json").read_text())["format"]


def test_a_directory_as_the_policy_is_named_as_one(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    microdata: pd.DataFrame,
    tmp_path: Path,
) -> None:
    micro = tmp_path / "micro.csv"
    microdata.to_csv(micro, index=False)
    folder = tmp_path / "policies"
    folder.mkdir()
    assert run(monkeypatch, "sdc", "protect", "--in", micro, "--rows", "region", "--cols",
               "sex", "--policy", folder, "--out", tmp_path / "t.csv") == 3  # fmt: skip
    assert "is a directory, not a YAML file" in capsys.readouterr().err


def test_check_refuses_a_hand_made_table_with_a_formula_label(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    table = tmp_path / "hand.csv"
    table.write_text(
        'region,sex: F,sex: M,Total\n"=HYPERLINK(""http://x"",""y"")",20,30,50\n'
        "South,25,25,50\nTotal,45,55,100\n",
        encoding="utf-8",
    )
    assert run(monkeypatch, "sdc", "check", table) == 4
    output = " ".join(capsys.readouterr().out.split())
    assert "NOT safe" in output and "run as a formula" in output and "line 2 column 1" in output
    assert "HYPERLINK" not in output
