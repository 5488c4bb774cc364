"""Each exit status of ``trelink`` means one thing (``trelink.exit_codes``).

Run through the console entry point, as a script would see them: 0 done, 2 a wrong
command line, 3 refused input, 4 a check that ran and failed (1, an internal fault, is
tested in ``tests/trelink/test_cli_faults.py``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.entry_point import run_trelink
from trelink.exit_codes import ExitCode


def _table(folder: Path, first_cell: int) -> Path:
    """A two-by-two count table with its margins, as ``sdc protect`` writes them."""
    path = folder / f"table_{first_cell}.csv"
    path.write_text(
        "region,sex: F,sex: M,Total\n"
        f"N,{first_cell},20,{first_cell + 20}\n"
        "S,30,40,70\n"
        f"Total,{first_cell + 30},60,{first_cell + 90}\n",
        encoding="utf-8",
    )
    return path


def test_the_numbers() -> None:
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3, 4]


def test_each_status_means_one_thing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    safe, unsafe = _table(tmp_path, 15), _table(tmp_path, 2)
    assert run_trelink(monkeypatch, "sdc", "check", safe) == ExitCode.OK
    assert run_trelink(monkeypatch, "sdc", "check", "--no-such-option", safe) == ExitCode.USAGE
    assert "No such option" in capsys.readouterr().err
    assert run_trelink(monkeypatch, "sdc", "check", tmp_path / "missing.csv") == ExitCode.REFUSED
    assert "missing.csv: file not found" in capsys.readouterr().err
    assert run_trelink(monkeypatch, "sdc", "check", unsafe) == ExitCode.CHECK_FAILED
    assert "NOT safe" in capsys.readouterr().out


def test_the_readme_lists_every_status() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    listed = {int(number) for number in re.findall(r"^  \| (\d) \| ", readme, re.MULTILINE)}
    assert listed == {int(code) for code in ExitCode}


def test_sdc_check_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    unsafe = _table(tmp_path, 2)
    assert run_trelink(monkeypatch, "sdc", "check", unsafe, "--json") == ExitCode.CHECK_FAILED
    captured = capsys.readouterr()
    document = json.loads(captured.out)  # stdout holds the document alone
    assert document["table"] == str(unsafe) and document["kind"] == "table"
    assert document["safe"] is False and document["reasons"]
    assert "NOT safe" in captured.err
