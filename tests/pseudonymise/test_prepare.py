from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pseudonymise.errors import PrepareError
from pseudonymise.prepare import arrow_schema, prepare_source, write_prepared
from tests.specs.toy_spec import TOY_IDENTITY_TABLE
from trelink.specs.dataset import dataset_spec_path, load_dataset_spec
from trelink.synth.generate import generate

TOY_SPEC = (
    TOY_IDENTITY_TABLE
    + """\
      - {name: forename, role: forename}
      - {name: dob, role: dob, type: date}
      - name: site
        type: category
        categories: {leeds: [Leeds]}
    periods:
      - period: "2020"
        files: ["*.csv"]
        encoding: ENCODING
        date_formats: ["%d/%m/%Y"]
        labels:
          record_id: [URN]
          forename: [First name]
          dob: [DOB]
          site: [Site]
"""
)


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prepare") / "raw"
    generate(out, seed=11, scale=0.05)
    return out


@pytest.fixture(scope="module")
def manifest(raw: Path) -> dict[str, dict[str, int]]:
    loaded: dict[str, dict[str, int]] = json.loads((raw / "synth.json").read_text("utf-8"))
    return loaded


def raw_rows(manifest: dict[str, dict[str, int]], source: str, word: str) -> int:
    return sum(
        rows
        for path, rows in manifest["files"].items()
        if path.startswith(f"{source}/") and word in path
    )


@pytest.mark.parametrize(
    ("source", "table", "word"),
    [
        ("nrm", "referral", ""),
        ("education", "pupil_year", ""),
        ("health", "episode", ""),
        ("justice", "offence", ""),
        ("ictg", "referral", "referral"),
        ("ictg", "monthly", "monthly"),
        ("ictg", "contact", "contact"),
    ],
)
def test_every_source_prepares_every_raw_row(
    raw: Path, manifest: dict[str, dict[str, int]], source: str, table: str, word: str
) -> None:
    spec = load_dataset_spec(dataset_spec_path(source))
    prepared = prepare_source(spec, raw)
    result = prepared.tables[table]
    assert result.schema.equals(arrow_schema(spec.table(table)))
    assert result.num_rows == raw_rows(manifest, source, word)
    assert prepared.report.tables[table].unreadable_rows == 0
    assert prepared.report.tables[table].short_rows == 0
    names = result.schema.names
    if spec.table(table).kind == "identity":
        assert names[:6] == ["record_id", "forename", "surname", "dob", "sex", "postcode"]
        assert result.column("record_id").to_pandas().is_unique
        assert set(result.column("sex").drop_null().to_pylist()) <= {"F", "M"}
    else:
        assert not {"forename", "surname", "dob", "postcode"} & set(names)
    if source == "ictg":
        assert names[-2:] == ["period", "group"]
        assert set(result.column("group").to_pylist()) <= {"DW", "RPC", "Missing"}


@pytest.fixture(scope="module")
def nrm(raw: Path) -> pd.DataFrame:
    prepared = prepare_source(load_dataset_spec(dataset_spec_path("nrm")), raw)
    return prepared.tables["referral"].to_pandas()


def test_values_agree_with_truth_across_formats(raw: Path, nrm: pd.DataFrame) -> None:
    truth = pd.read_parquet(raw / "truth" / "records.parquet")
    people = pd.read_parquet(raw / "truth" / "people.parquet").set_index("person_id")
    clean = truth[(truth["dataset"] == "nrm") & (truth["errors"] == "")]
    merged = nrm.merge(clean, on="record_id")
    assert len(merged) > 200
    assert set(merged["period"]) == {"2016-2019", "2020-2022"}  # XLSX dates and CSV text dates
    expected = people.loc[merged["person_id"], "dob"].to_numpy()
    assert (merged["dob"].to_numpy() == expected).all()
    assert (merged["sex"].to_numpy() == people.loc[merged["person_id"], "sex"].to_numpy()).all()


def test_categories_and_lists_harmonised(nrm: pd.DataFrame) -> None:
    codes = {code for value in nrm["exploitation_types"].dropna() for code in value}
    assert codes <= {
        "criminal",
        "sexual",
        "labour",
        "domestic_servitude",
        "organ_harvesting",
        "unknown",
    }
    assert any(len(value) > 1 for value in nrm["exploitation_types"].dropna())
    assert nrm["age_group"].isna().mean() > 0  # 'Not known' becomes null
    assert set(nrm["age_group"].dropna()) == {"child", "adult"}
    assert (
        nrm["referral_date"].min()
        < dt.date(2017, 2, 1)
        < dt.date(2022, 9, 30)
        < nrm["referral_date"].max()
    )


def test_ictg_excel_serials_months_and_bare_rows(raw: Path) -> None:
    prepared = prepare_source(load_dataset_spec(dataset_spec_path("ictg")), raw)
    referral = prepared.tables["referral"].to_pandas()
    in_2020 = referral[referral["period"] == "2020"]
    assert in_2020["referral_date"].between(dt.date(2020, 1, 1), dt.date(2020, 12, 31)).all()
    bare = in_2020[in_2020["referral_date"] < dt.date(2020, 5, 1)]
    assert bare["record_id"].str.contains("#row").all()  # kept with a generated id
    truth = pd.read_parquet(raw / "truth" / "records.parquet")
    truth_ids = truth["source_file"] + "#row" + truth["source_row"].astype(str)
    assert set(bare["record_id"]) <= set(truth_ids)
    assert prepared.report.tables["referral"].generated_record_ids == len(bare)
    monthly = prepared.tables["monthly"].to_pandas()
    assert monthly["month"].map(lambda day: day.day).eq(1).all()
    assert (
        monthly["month"].min() < dt.date(2019, 1, 1) < dt.date(2022, 1, 1) < monthly["month"].max()
    )
    justice = prepare_source(load_dataset_spec(dataset_spec_path("justice")), raw).tables["offence"]
    aliases = [a for a in justice.column("aliases").to_pylist() if a]
    assert aliases and all(set(alias[0]) == {"forename", "surname"} for alias in aliases)
    assert any(dates for dates in justice.column("dob_alt").to_pylist())


def test_write_outputs_and_report(raw: Path, tmp_path: Path) -> None:
    spec = load_dataset_spec(dataset_spec_path("ictg"))
    written = write_prepared(prepare_source(spec, raw), tmp_path / "ictg")
    assert sorted(p.name for p in (tmp_path / "ictg").iterdir()) == [
        "contact.parquet",
        "monthly.parquet",
        "quality.json",
        "referral.parquet",
    ]
    assert all(path.exists() for path in written)
    report = json.loads((tmp_path / "ictg" / "quality.json").read_text("utf-8"))
    periods = report["tables"]["referral"]["periods"]
    assert set(periods) == {"2017-2019", "2020", "2021", "2022"}
    # Jan-Apr 2020 returns held only site and date: a third of that year's names are missing.
    assert periods["2020"]["columns"]["forename"]["missing_share"] > 0.1
    assert periods["2020"]["columns"]["site"]["missing_share"] < 0.1
    single = write_prepared(
        prepare_source(load_dataset_spec(dataset_spec_path("justice")), raw),
        tmp_path / "justice.parquet",
    )
    assert [p.name for p in single] == ["justice.parquet", "justice.quality.json"]
    assert pq.read_table(tmp_path / "justice.parquet").num_rows > 0


# ------------------------------------------------------------------ bad input


def toy(tmp_path: Path, body: bytes, *, encoding: str = "auto", name: str = "a.csv") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    spec_path = tmp_path / "toy.yaml"
    spec_path.write_text(TOY_SPEC.replace("ENCODING", encoding), encoding="utf-8")
    folder = tmp_path / "raw"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(body)
    return spec_path


def run_toy(tmp_path: Path, spec_path: Path) -> pd.DataFrame:
    prepared = prepare_source(load_dataset_spec(spec_path), tmp_path / "raw")
    return prepared.tables["referral"].to_pandas()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_encodings_read(tmp_path: Path, encoding: str) -> None:
    body = "URN,First name,DOB,Site\r\nA1,Zoë,01/02/2010,Leeds\r\n".encode(encoding)
    frame = run_toy(tmp_path, toy(tmp_path, body))
    assert frame["forename"].tolist() == ["Zoë"]
    assert frame["record_id"].tolist() == ["A1"]


def test_undecodable_file_refused(tmp_path: Path) -> None:
    spec = toy(
        tmp_path,
        "URN,First name,DOB,Site\r\nA1,Zoë,01/02/2010,Leeds\r\n".encode("cp1252"),
        encoding="utf-8",
    )
    with pytest.raises(PrepareError, match=r"a\.csv: line 2: bytes that are not utf-8 \(byte"):
        run_toy(tmp_path, spec)


def test_missing_required_column_named(tmp_path: Path) -> None:
    spec = toy(tmp_path, b"First name,DOB\r\nAyaan,01/02/2010\r\n")
    with pytest.raises(PrepareError) as caught:
        run_toy(tmp_path, spec)
    assert "a.csv" in str(caught.value) and "record_id" in str(caught.value)
    assert "Ayaan" not in str(caught.value)


@pytest.mark.parametrize("body", [b"", b"\r\n"])
def test_empty_file_refused(tmp_path: Path, body: bytes) -> None:
    with pytest.raises(PrepareError, match="the file is empty"):
        run_toy(tmp_path, toy(tmp_path, body))


def test_duplicate_ids_refused_without_values(tmp_path: Path) -> None:
    body = b"URN,First name,DOB,Site\r\nQ7,Ayaan,01/02/2010,Leeds\r\nQ7,Ayaan,01/02/2010,Leeds\r\n"
    with pytest.raises(PrepareError) as caught:
        run_toy(tmp_path, toy(tmp_path, body))
    message = str(caught.value)
    assert "a.csv row 1 and a.csv row 2" in message
    assert "Q7" not in message and "Ayaan" not in message


def test_bad_cells_counted_and_rows_listed_never_dropped_silently(tmp_path: Path) -> None:
    body = (
        b"URN,First name,DOB,Site\r\n"
        b"A1,Ayaan,31/02/2010,Leeds \r\n"  # impossible date, stray space in the category
        b"A2,Sara,01/02/2010,Leeds,extra\r\n"  # more cells than the header: unreadable
        b",,,\r\n"  # an empty row: counted, not read
        b"A3,,01/03/2011,Yorke\r\n"  # unknown category spelling
        b"A4,Lina\r\n"  # fewer cells than the header: read, counted and listed
    )
    spec = toy(tmp_path, body)
    prepared = prepare_source(load_dataset_spec(spec), tmp_path / "raw")
    frame = prepared.tables["referral"].to_pandas()
    assert frame["record_id"].tolist() == ["A1", "A3", "A4"]
    assert frame["dob"].isna().tolist() == [True, False, True]
    assert frame["site"].tolist() == ["leeds", None, None]
    quality = prepared.report.tables["referral"]
    assert quality.unreadable_at == [
        {"file": "a.csv", "row": 2, "reason": "5 cells under a header of 4"}
    ]
    assert quality.short_rows == 1
    assert quality.short_at == [
        {"file": "a.csv", "row": 5, "reason": "2 cells under a header of 4"}
    ]
    assert quality.blank_rows == 1
    dob = quality.columns["2020"]["dob"]
    assert dob.unparseable == 1
    assert dob.unparseable_at == [{"file": "a.csv", "row": 1, "column": "DOB"}]
    assert quality.columns["2020"]["site"].unknown_spellings == {"Yorke": 1}
    assert quality.columns["2020"]["forename"].missing == 1
    report = json.dumps(prepared.report.as_dict())
    assert "31/02/2010" not in report and "Ayaan" not in report and "Lina" not in report


def test_cli_writes_outputs_and_refuses_bad_input(raw: Path, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    import pseudonymise.prepare_cli

    app = typer.Typer()
    pseudonymise.prepare_cli.register(app)
    app.command("noop")(lambda: None)  # keeps "prepare" a sub-command, as in trelink
    runner = CliRunner()
    out = tmp_path / "justice.parquet"
    spec = dataset_spec_path("justice")
    result = runner.invoke(app, ["prepare", "--spec", spec, "--in", str(raw), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and (tmp_path / "justice.quality.json").is_file()
    bad_spec = toy(tmp_path / "bad", b"First name,DOB\r\nAyaan,01/02/2010\r\n")
    bad_out = tmp_path / "bad" / "out.parquet"
    refused = runner.invoke(
        app,
        [
            "prepare",
            "--spec",
            str(bad_spec),
            "--in",
            str(tmp_path / "bad" / "raw"),
            "--out",
            str(bad_out),
        ],
    )
    assert isinstance(refused.exception, PrepareError)
    assert "required columns missing" in str(refused.exception)
    assert not bad_out.exists() and not any((tmp_path / "bad").glob("*.quality.json"))


def test_xlsx_with_shared_strings_and_date_cells(tmp_path: Path) -> None:
    import openpyxl

    spec = toy(tmp_path, b"")
    (tmp_path / "raw" / "a.csv").unlink()
    book = openpyxl.Workbook()  # not write-only: strings go to the shared-string table
    sheet = book.active
    sheet.append(["URN", "First name", "DOB", "Site"])
    sheet.append(["A1", "Zoë", dt.datetime(2010, 2, 1), "leeds"])
    sheet.append([1234, None, 40210, " LEEDS "])  # a numeric id; an Excel serial as a number
    book.save(tmp_path / "raw" / "a.xlsx")
    spec.write_text(
        spec.read_text("utf-8")
        .replace('"*.csv"', '"*.xlsx"')
        .replace('date_formats: ["%d/%m/%Y"]', 'date_formats: ["%d/%m/%Y", excel_serial]'),
        encoding="utf-8",
    )
    frame = run_toy(tmp_path, spec)
    assert frame["record_id"].tolist() == ["A1", "1234"]
    assert frame["forename"].tolist() == ["Zoë", None]
    assert frame["dob"].tolist() == [dt.date(2010, 2, 1), dt.date(2010, 2, 1)]
    assert frame["site"].tolist() == ["leeds", "leeds"]


def test_damaged_workbook_refused(tmp_path: Path) -> None:
    spec = toy(tmp_path, b"not a zip", name="a.csv")
    (tmp_path / "raw" / "a.csv").rename(tmp_path / "raw" / "b.xlsx")
    spec.write_text(spec.read_text("utf-8").replace('"*.csv"', '"*.xlsx"'), encoding="utf-8")
    with pytest.raises(PrepareError, match=r"b\.xlsx: not a readable XLSX workbook"):
        run_toy(tmp_path, spec)
