"""``trelink sdc protect | check | audit`` end to end through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.entry_point import run_trelink as run


@pytest.fixture
def micro_csv(microdata: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "micro.csv"
    microdata.to_csv(path, index=False)
    return path


def test_protect_then_check_then_audit(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    micro_csv: Path,
    tmp_path: Path,
) -> None:
    out = tmp_path / "out" / "region_by_sex_age.csv"
    assert run(monkeypatch, "sdc", "protect", "--in", micro_csv, "--rows", "region",
               "--cols", "sex", "age", "--out", out) == 0  # fmt: skip
    record = json.loads((tmp_path / "out" / "region_by_sex_age.sdc.json").read_text())
    assert record["row_variables"] == ["region"]
    assert record["column_variables"] == ["sex", "age"]
    frame = pd.read_csv(out)
    assert frame.columns[-1] == "Total" and frame["region"].iloc[-1] == "Total"
    assert frame.iloc[:, 1:].isna().any().any()  # suppressed cells are empty
    assert run(monkeypatch, "sdc", "check", out) == 0
    assert "safe" in capsys.readouterr().out
    sums = tmp_path / "out" / "cost.csv"
    assert run(monkeypatch, "sdc", "protect", "--in", micro_csv, "--rows", "region",
               "--cols", "age", "--value", "cost", "--stat", "sum", "--with", out,
               "--out", sums) == 0  # fmt: skip
    report = tmp_path / "audit.json"
    assert run(monkeypatch, "sdc", "audit", out, sums, "--report", report) == 0
    assert json.loads(report.read_text())["passed"] is True


@pytest.mark.parametrize(
    "spelling",
    [["--rows", "region", "age"], ["--rows", "region", "--rows", "age"], ["--rows", "region,age"]],
)
def test_several_row_variables_in_any_spelling(
    monkeypatch: pytest.MonkeyPatch, micro_csv: Path, tmp_path: Path, spelling: list[str]
) -> None:
    out = tmp_path / "t.csv"
    assert run(monkeypatch, "sdc", "protect", "--in", micro_csv, *spelling, "--cols", "sex",
               "--out", out) == 0  # fmt: skip
    assert pd.read_csv(out, nrows=0).columns[:2].tolist() == ["region", "age"]


def test_check_fails_a_raw_crosstab_with_reasons(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    microdata: pd.DataFrame,
    tmp_path: Path,
) -> None:
    raw = tmp_path / "raw.csv"
    pd.crosstab(microdata["region"], microdata["age"], margins=True, margins_name="Total"
                ).reset_index().to_csv(raw, index=False)  # fmt: skip
    assert run(monkeypatch, "sdc", "check", raw) == 4
    output = capsys.readouterr().out
    assert "NOT safe" in output and "threshold" in output


def test_audit_exit_one_when_tables_leak_together(
    monkeypatch: pytest.MonkeyPatch, micro_csv: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    run(monkeypatch, "sdc", "protect", "--in", micro_csv, "--rows", "region", "--cols", "sex",
        "age", "--out", first)  # fmt: skip
    run(monkeypatch, "sdc", "protect", "--in", micro_csv, "--rows", "region", "age", "--cols",
        "sex", "--out", second)  # fmt: skip
    assert run(monkeypatch, "sdc", "audit", first, second) == 4


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--rows", "nope", "--cols", "sex"], "unknown column"),
        (["--rows", "region", "--cols", "sex", "--value", "region"], "not a number"),
        (["--rows", "region", "--cols", "sex", "--policy", "{bad}"], "problem"),
    ],
)
def test_bad_input_exits_three_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    micro_csv: Path,
    tmp_path: Path,
    arguments: list[str],
    message: str,
) -> None:
    bad_policy = tmp_path / "bad.yaml"
    bad_policy.write_text("version: 1\nname: x\nsource: y\nthreshold: zero\n")
    arguments = [str(bad_policy) if item == "{bad}" else item for item in arguments]
    out = tmp_path / "out" / "t.csv"
    assert run(monkeypatch, "sdc", "protect", "--in", micro_csv, *arguments, "--out", out) == 3
    assert message in capsys.readouterr().err
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_check_of_a_malformed_table_exits_three(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("region,sex: F,sex: M,Total\nN,12,4,16\n")
    assert run(monkeypatch, "sdc", "check", path) == 3


def test_protect_reads_parquet_and_tables_of_maxima(
    monkeypatch: pytest.MonkeyPatch, microdata: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "micro.parquet"
    microdata.to_parquet(source)
    out = tmp_path / "longest.csv"
    assert run(monkeypatch, "sdc", "protect", "--in", source, "--rows", "region", "--cols",
               "age", "--value", "cost", "--stat", "max", "--out", out) == 0  # fmt: skip
    record = json.loads((tmp_path / "longest.sdc.json").read_text())
    assert record["kind"] == "max"
    assert run(monkeypatch, "sdc", "check", out) == 0


def test_check_reads_model_outputs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from sdc import fit_model, load_policy

    frame = pd.DataFrame({"y": [float(i % 7) for i in range(40)], "x": list(range(40))})
    path = fit_model("ols", "y ~ x", frame, policy=load_policy()).write(tmp_path / "m.model.json")
    assert run(monkeypatch, "sdc", "check", path) == 0
    strict = tmp_path / "strict.yaml"
    strict.write_text("version: 1\nname: strict\nsource: test\nmodel: {min_residual_dof: 50}\n")
    assert run(monkeypatch, "sdc", "check", path, "--policy", strict) == 4


def test_a_sums_table_with_negative_values_is_protected_and_audited(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Negative values leave a cell no lower bound: the cut generation multiplied an
    infinite fall by zero (a numpy RuntimeWarning, then "no further cell can protect")."""
    rng = np.random.default_rng(3)
    micro = pd.DataFrame(
        {
            "region": rng.choice(list("ABCDE"), 400),
            "sex": rng.choice(list("FM"), 400),
            "age": rng.choice(["0-9", "10-19", "20-29"], 400),
            "value": rng.integers(-50, 100, 400),
        }
    )
    source = tmp_path / "micro.csv"
    micro.to_csv(source, index=False)
    out = tmp_path / "sums.csv"
    code = run(monkeypatch, "sdc", "protect", "--in", source, "--rows", "region", "age",
               "--cols", "sex", "--value", "value", "--stat", "sum", "--out", out)  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "RuntimeWarning" not in printed.err
    assert run(monkeypatch, "sdc", "audit", out) == 0, capsys.readouterr().err
