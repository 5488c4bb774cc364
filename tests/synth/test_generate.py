from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlrd

import trelink.synth.generate
from pseudonymise.prepare import prepare_source
from trelink.specs.dataset import dataset_spec_path, load_dataset_spec
from trelink.synth import DEFAULT_RATES, SynthError
from trelink.synth.generate import generate

SEED = 7


def header_and_rows(path: Path) -> tuple[list[str], list[list[object]]]:
    """Read any raw file with plain readers (independent of trelink prepare)."""
    if path.suffix == ".csv":
        data = path.read_bytes()
        text = data.decode("utf-8-sig") if data.startswith(b"\xef\xbb\xbf") else None
        if text is None:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("cp1252")
        rows = list(csv.reader(text.splitlines()))
        return rows[0], [list(row) for row in rows[1:]]
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        values = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
        return [str(v) for v in values[0]], values[1:]
    book = xlrd.open_workbook(str(path)).sheet_by_index(0)
    values = [book.row_values(index) for index in range(book.nrows)]
    return [str(v) for v in values[0]], values[1:]


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "raw"
    generate(out, seed=SEED, scale=0.1)
    return out


def test_layout_periods_groups_and_formats(raw: Path) -> None:
    for source in ("nrm", "education", "health", "justice", "truth"):
        assert (raw / source).is_dir()
    for period in ("2017-2019", "2020", "2021", "2022"):
        for group in ("DW", "RPC"):
            names = [p.name for p in (raw / "ictg" / period / group).iterdir()]
            assert any("referral" in name for name in names)
            assert any("monthly" in name for name in names)
    assert any("monthly" in p.name for p in (raw / "ictg" / "2021" / "Missing").iterdir())
    suffixes = {p.suffix for p in raw.rglob("*") if p.is_file() and "truth" not in p.parts}
    assert {".csv", ".xlsx", ".xls"} <= suffixes
    assert next((raw / "ictg" / "2017-2019" / "DW").glob("*referrals*")).suffix == ".xls"
    assert next((raw / "ictg" / "2020" / "DW").glob("*referrals*")).suffix == ".xlsx"
    assert (raw / "nrm" / "nrm_referrals_2021.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_column_labels_change_between_periods(raw: Path) -> None:
    early, _ = header_and_rows(next((raw / "ictg" / "2017-2019" / "DW").glob("*referrals*")))
    later, _ = header_and_rows(next((raw / "ictg" / "2021" / "DW").glob("*referrals*")))
    assert early[0] == "URN" and later[0] == "urn"
    assert "Date of Referral" in early and "referral_date" in later


def test_documented_gaps(raw: Path) -> None:
    ictg = raw / "ictg"
    assert not any("contact" in p.name for p in (ictg / "2020").rglob("*"))
    _, dw = header_and_rows(ictg / "2017-2019" / "DW" / "DW_monthly_returns_2017-2019.xls")
    _, rpc = header_and_rows(ictg / "2017-2019" / "RPC" / "RPC_monthly_returns_2017-2019.xls")
    dw_months = {row[1] for row in dw}
    rpc_months = {row[1] for row in rpc}
    assert "Jan-19" in dw_months and "Apr-19" in dw_months
    assert not {"Feb-19", "Mar-19"} & dw_months
    assert "Sep-18" in rpc_months and "Apr-19" in rpc_months
    assert not {"Oct-18", "Nov-18", "Dec-18", "Jan-19", "Feb-19", "Mar-19"} & rpc_months
    for group in ("DW", "RPC"):
        _, rows = header_and_rows(ictg / "2021" / group / f"{group}_monthly_returns_2021.csv")
        assert not {"2021-07", "2021-08", "2021-09"} & {row[1] for row in rows}
    _, missing = header_and_rows(ictg / "2021" / "Missing" / "Missing_monthly_returns_2021.csv")
    assert {"2021-07", "2021-08", "2021-09"} <= {row[1] for row in missing}
    header, referrals = header_and_rows(ictg / "2020" / "RPC" / "RPC_referrals_2020.xlsx")
    date_column = header.index("Referral Date")
    early = [row for row in referrals if row[date_column] < 43952]  # Excel serial of 1 May 2020
    assert early
    for row in early:
        filled = {header[i] for i, value in enumerate(row) if value not in (None, "")}
        assert filled == {"Site", "Referral Date"}


def test_truth_kept_apart(raw: Path) -> None:
    truth_columns = {"person_id", "errors", "kind", "unaccompanied", "nationality_group"}
    for path in raw.rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".xlsx", ".xls"):
            header, _ = header_and_rows(path)
            assert not truth_columns & {label.strip().lower() for label in header}, path
    records = pd.read_parquet(raw / "truth" / "records.parquet")
    people = pd.read_parquet(raw / "truth" / "people.parquet")
    assert {"dataset", "record_id", "person_id"} <= set(records.columns)
    assert {
        "person_id",
        "nationality",
        "nationality_group",
        "sex",
        "dob",
        "age_group",
        "unaccompanied",
    } <= set(people.columns)
    assert set(records["person_id"]) <= set(people["person_id"])
    assert people["person_id"].is_unique


def binomial_ok(observed: int, trials: int, rate: float) -> bool:
    spread = 4 * math.sqrt(trials * rate * (1 - rate)) + 3
    return abs(observed - trials * rate) <= spread


def test_identifier_error_rates_within_tolerance(raw: Path) -> None:
    records = pd.read_parquet(raw / "truth" / "records.parquet")
    errors = records["errors"].fillna("").str.split(";")
    applied = errors.explode().value_counts()
    trials = len(records)
    for name, rate in (
        ("missing_postcode", DEFAULT_RATES.missing_postcode),
        ("missing_dob", DEFAULT_RATES.missing_dob),
        ("missing_forename", DEFAULT_RATES.missing_forename),
        ("postcode_typo", DEFAULT_RATES.postcode_typo),
        ("dob_typo", DEFAULT_RATES.dob_typo),
    ):
        assert binomial_ok(int(applied.get(name, 0)), trials, rate), name
    typos = int(applied.get("forename_typo", 0) + applied.get("surname_typo", 0))
    # One-letter names cannot take a typo, so slightly fewer than the rate is expected.
    assert 0.8 * trials * DEFAULT_RATES.typo <= typos <= trials * DEFAULT_RATES.typo * 1.2
    for kind in (
        "forename_transliteration",
        "assessed_dob",
        "name_order_swapped",
        "dob_day_month_swapped",
        "ethiopic_abbreviation",
        "nickname",
    ):
        assert applied.get(kind, 0) > 0, kind


def test_repeat_referrals_and_age_assessment(raw: Path) -> None:
    records = pd.read_parquet(raw / "truth" / "records.parquet")
    nrm = records[records["dataset"] == "nrm"]
    repeat_share = (nrm["person_id"].value_counts() > 1).mean()
    assert 0.04 <= repeat_share <= 0.11
    people = pd.read_parquet(raw / "truth" / "people.parquet")
    assessed = people["assessed_dob"].dropna()
    assert len(assessed) > 0
    assert all((value.month, value.day) == (1, 1) for value in assessed)
    assert not people.loc[people["nationality"] == "british", "assessed_dob"].notna().any()


def test_only_and_determinism_give_identical_bytes(raw: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, seed=SEED, scale=0.1, only=["ictg", "justice"])
    for source in ("ictg", "justice"):
        for path in (raw / source).rglob("*.*"):
            assert path.read_bytes() == (again / path.relative_to(raw)).read_bytes(), path
    assert not (again / "nrm").exists()
    other = tmp_path / "other"
    generate(other, seed=SEED + 1, scale=0.1, only=["justice"])
    first = raw / "justice" / "police_court_2020.xls"
    assert first.read_bytes() != (other / "justice" / "police_court_2020.xls").read_bytes()


def test_large_scales_write_csv_in_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        trelink.synth.generate, "BLOCK_PEOPLE", {"child": 300, "adult": 200, "outside": 300}
    )
    summary = generate(tmp_path / "big", seed=2, scale=2.5, only=["nrm", "ictg", "health"])
    written = [p for p in (tmp_path / "big").rglob("*") if p.is_file()]
    assert all(p.suffix == ".csv" for p in written if p.parts[-2] in ("nrm", "health"))
    people = pd.read_parquet(tmp_path / "big" / "truth" / "people.parquet")
    assert len(people) == summary.people == 800 * 2 + 400
    assert people["person_id"].is_unique
    records = pd.read_parquet(tmp_path / "big" / "truth" / "records.parquet")
    assert records.loc[records["dataset"] == "nrm", "record_id"].is_unique
    for relative, rows in summary.files.items():
        _, read = header_and_rows(tmp_path / "big" / relative)
        assert len(read) == rows, relative
    for source, table in (("nrm", "referral"), ("health", "episode")):
        spec = load_dataset_spec(dataset_spec_path(source))
        prepared = prepare_source(spec, tmp_path / "big").tables[table]
        assert prepared.num_rows == summary.rows[f"{source}/{table}"]
        assert prepared.column("dob").null_count < 0.05 * prepared.num_rows


def test_rerun_replaces_an_earlier_output(tmp_path: Path) -> None:
    generate(tmp_path / "demo", seed=1, scale=0.01, only=["health"])
    generate(tmp_path / "demo", seed=1, scale=0.01, only=["justice"])  # as `make demo` again
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == [
        "justice",
        "synth.json",
        "truth",
    ]


def test_refuses_impossible_requests(tmp_path: Path) -> None:
    with pytest.raises(SynthError, match="positive"):
        generate(tmp_path / "a", scale=0)
    with pytest.raises(SynthError, match="unknown source"):
        generate(tmp_path / "b", only=["census"])
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(SynthError, match="not written by `trelink synth`"):
        generate(foreign, scale=0.01)
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_manifest_counts_match_files(raw: Path) -> None:
    manifest = json.loads((raw / "synth.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == SEED
    for relative, rows in list(manifest["files"].items())[:12]:
        _, read = header_and_rows(raw / relative)
        assert len(read) == rows, relative


@pytest.mark.slow
def test_default_scale_sizes_near_published(tmp_path: Path) -> None:
    summary = generate(tmp_path / "full", seed=1, only=["nrm", "ictg"])
    assert summary.rows["ictg/referral"] == 4170
    assert 31_500 <= summary.rows["ictg/monthly"] <= 38_500
    assert 72_000 <= summary.rows["ictg/contact"] <= 88_000
    assert 15_000 <= summary.rows["nrm/referral"] <= 25_000
    groups = {"DW": 0, "RPC": 0, "Missing": 0}
    for relative, rows in summary.files.items():
        if relative.startswith("ictg/") and "referrals" in relative:
            groups[Path(relative).parts[2]] += rows
    assert abs(groups["DW"] - 1838) <= 0.15 * 1838
    assert abs(groups["RPC"] - 2251) <= 0.15 * 2251
    assert 40 <= groups["Missing"] <= 130


def test_other_sources_scale_to_target_sizes(raw: Path) -> None:
    manifest = json.loads((raw / "synth.json").read_text(encoding="utf-8"))
    # scale 0.1: ten times these counts are the default-scale sizes.
    assert 2_000 <= manifest["rows"]["education/pupil_year"] <= 4_000
    assert 2_000 <= manifest["rows"]["health/episode"] <= 4_000
    assert 700 <= manifest["rows"]["justice/offence"] <= 1_400


def test_cli_writes_and_refuses(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    import trelink.synth.cli

    app = typer.Typer()
    trelink.synth.cli.register(app)
    app.command("noop")(lambda: None)  # keeps "synth" a sub-command, as in trelink
    out = tmp_path / "raw"
    runner = CliRunner()
    result = runner.invoke(app, ["synth", "--out", str(out), "--scale", "0.01", "--only", "nrm"])
    assert result.exit_code == 0, result.output
    assert "nrm/referral" in result.output
    assert (out / "nrm").is_dir() and (out / "truth" / "records.parquet").is_file()
    refused = runner.invoke(app, ["synth", "--out", str(out), "--scale", "-1"])
    assert isinstance(refused.exception, SynthError)
    assert "--scale must be a positive number" in str(refused.exception)
