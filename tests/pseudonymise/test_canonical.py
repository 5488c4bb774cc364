"""Reading the owner's extract: any reasonable file read, bad values nulled and counted.

Each case here was a traceback, a misleading message or a refused file before
(issues 13 and 14); the command must now read the file, or refuse it with a message
naming file, line or row, and column, exit non-zero, and leave nothing behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from pseudonymise import owner_cli
from pseudonymise.canonical import read_canonical
from pseudonymise.errors import InputError
from pseudonymise.tables import pseudonymise_table

from .conftest import OwnerSetup

HEADER = "record_id,forename,surname,dob"
ROWS = ["A1,Amira,Haile,2006-01-02", "A2,Tesfay,Okafor,2007-03-04", "A3,Grace,Hoxha,2005-12-31"]
GOOD = "\n".join([HEADER, *ROWS]) + "\n"
NAMES = ("Amira", "Haile", "Tesfay", "Okafor", "Grace", "Hoxha", "A1", "A2", "A3")


def _app() -> typer.Typer:
    app = typer.Typer()
    owner_cli.register(app)
    return app


def _pseudonymise(owner: OwnerSetup, source: Path, out: Path, *extra: str) -> Result:
    return CliRunner().invoke(
        _app(),
        [
            "pseudonymise", "--in", str(source), "--linkage-key", str(owner.linkage_key),
            "--owner-key", str(owner.owner_key), "--out", str(out), *extra,
        ],
    )  # fmt: skip


def _spec(owner: OwnerSetup, text: str) -> Path:
    path = owner.root / "spec.yaml"
    path.write_text("version: 1\n" + text, encoding="utf-8")
    return path


def _tokens(out: Path) -> pa.Table:
    return pq.read_table(out / "identity.parquet")


def _reference(owner: OwnerSetup) -> pa.Table:
    source = owner.root / "reference.csv"
    source.write_text(GOOD, encoding="utf-8")
    result = _pseudonymise(owner, source, owner.root / "reference")
    assert result.exit_code == 0, result.output
    return _tokens(owner.root / "reference")


def _no_values(text: str) -> None:
    for value in NAMES:
        assert value not in text


# ------------------------------------------------------------------ values nulled, counted


def test_one_invalid_date_is_nulled_and_counted_not_the_file_refused(owner: OwnerSetup) -> None:
    source = owner.root / "extract.csv"
    source.write_text(GOOD.replace("2007-03-04", "31/02/2007"), encoding="utf-8")
    result = _pseudonymise(owner, source, owner.root / "out")
    assert result.exit_code == 0, result.output
    assert "column 'dob': 1 value(s) not a date in the formats %Y-%m-%d, %d/%m/%Y" in (
        result.output
    )
    assert "(first at line 3)" in result.output
    _no_values(result.output)
    manifest = json.loads((owner.root / "out" / "manifest.json").read_text())
    assert manifest["invalid_values"]["dob"] == 1
    assert _tokens(owner.root / "out").column("dob").null_count == 1


def test_parquet_positions_are_rows_not_lines(owner: OwnerSetup) -> None:
    source = owner.root / "extract.parquet"
    pq.write_table(
        pa.table(
            {
                "record_id": ["A1", "A2", "A3"],
                "forename": ["Amira", "Tesfay", "Grace"],
                "surname": ["Haile", "Okafor", "Hoxha"],
                "dob": ["2006-01-02", "not a date", "2005-12-31"],
            }
        ),
        source,
    )
    canonical = read_canonical(source)
    assert [problem.first_at for problem in canonical.problems] == ["row 2"]
    assert canonical.invalid == {"dob": 1}
    assert canonical.table.column("dob").to_pylist()[1] is None


def test_headers_match_trimmed_and_case_folded(owner: OwnerSetup) -> None:
    source = owner.root / "extract.csv"
    source.write_text(
        GOOD.replace(HEADER, " Case Ref ,First_Name,  SURNAME , DOB "), encoding="utf-8"
    )
    spec = _spec(owner, "columns: {record_id: case ref, forename: first_name}\n")
    result = _pseudonymise(owner, source, owner.root / "out", "--spec", str(spec))
    assert result.exit_code == 0, result.output
    assert _tokens(owner.root / "out").equals(_reference(owner))


def test_yyyymmdd_dates_as_text_integers_and_excel_floats(owner: OwnerSetup) -> None:
    spec = _spec(owner, 'date_formats: ["%Y%m%d"]\n')
    source = owner.root / "extract.csv"
    source.write_text(GOOD.replace("-", ""), encoding="utf-8")
    result = _pseudonymise(owner, source, owner.root / "csv", "--spec", str(spec))
    assert result.exit_code == 0, result.output
    reference = _reference(owner)
    assert _tokens(owner.root / "csv").equals(reference)
    for name, numbers in (("int", pa.array([20060102, 20070304, 20051231])),
                          ("float", pa.array([20060102.0, 20070304.0, 20051231.0]))):  # fmt: skip
        typed = owner.root / f"{name}.parquet"
        pq.write_table(
            pa.table(
                {
                    "record_id": ["A1", "A2", "A3"],
                    "forename": ["Amira", "Tesfay", "Grace"],
                    "surname": ["Haile", "Okafor", "Hoxha"],
                    "dob": numbers,
                }
            ),
            typed,
        )
        result = _pseudonymise(owner, typed, owner.root / name, "--spec", str(spec))
        assert result.exit_code == 0, result.output
        assert _tokens(owner.root / name).equals(reference)


def test_sex_and_category_value_mapping(owner: OwnerSetup) -> None:
    source = owner.root / "extract.csv"
    source.write_text(
        "record_id,forename,surname,dob,sex,status\n"
        "A1,Amira,Haile,2006-01-02,Female,Open\n"
        "A2,Tesfay,Okafor,2007-03-04, 1 ,closed\n"
        "A3,Grace,Hoxha,2005-12-31,x,Pending\n",
        encoding="utf-8",
    )
    spec = _spec(
        owner,
        "values:\n  sex: {F: [female, f, 2], M: [male, m, 1]}\n"
        "  status: {open: [Open], closed: [CLOSED]}\n",
    )
    result = _pseudonymise(owner, source, owner.root / "out", "--spec", str(spec))
    assert result.exit_code == 0, result.output
    attributes = pq.read_table(owner.root / "out" / "attributes.parquet")
    assert attributes.column("sex").to_pylist() == ["F", "M", None]
    assert attributes.column("status").to_pylist() == ["open", "closed", None]
    assert "column 'sex': 1 value(s) not one of the codes" in result.output
    assert "column 'status': 1 value(s)" in result.output and "(first at line 4)" in result.output
    manifest = json.loads((owner.root / "out" / "manifest.json").read_text())
    assert manifest["invalid_values"]["sex"] == 1 and manifest["invalid_values"]["status"] == 1


def test_nul_byte_in_a_name_is_removed_and_counted(owner: OwnerSetup) -> None:
    source = owner.root / "extract.csv"
    source.write_text(GOOD.replace("Tesfay", "Tes\x00fay"), encoding="utf-8")
    result = _pseudonymise(owner, source, owner.root / "out")
    assert result.exit_code == 0, result.output
    assert "column 'forename': 1 value(s) held NUL characters" in result.output
    assert "(first at line 3)" in result.output
    assert _tokens(owner.root / "out").equals(_reference(owner))
    (owner.root / "named.csv").write_text(GOOD.replace("surname", "sur\x00name"), "utf-8")
    assert read_canonical(owner.root / "named.csv").table.column_names == HEADER.split(",")


# ------------------------------------------------------------------ files read as they come


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("cr-only", lambda text: text.replace("\n", "\r").encode("utf-8")),
        ("crlf", lambda text: text.replace("\n", "\r\n").encode("utf-8")),
        ("utf-16", lambda text: text.encode("utf-16")),
        ("utf-16-be", lambda text: ("\ufeff" + text).encode("utf-16-be")),
        ("utf-16-no-bom", lambda text: text.encode("utf-16-le")),
        ("blank last lines", lambda text: (text + "\n\n").encode("utf-8")),
    ],
)
def test_line_endings_and_unicode_encodings_read(
    owner: OwnerSetup, name: str, encode: Callable[[str], bytes]
) -> None:
    source = owner.root / f"{name}.csv"
    source.write_bytes(encode(GOOD))
    result = _pseudonymise(owner, source, owner.root / "out")
    assert result.exit_code == 0, result.output
    assert _tokens(owner.root / "out").equals(_reference(owner))


# ------------------------------------------------------------------ refused, clearly


def _refused(owner: OwnerSetup, source: Path) -> InputError:
    out = owner.root / "refused"
    result = _pseudonymise(owner, source, out)
    assert result.exit_code != 0
    assert not out.exists() and not list(owner.root.glob(".refused*"))  # nothing half-written
    assert isinstance(result.exception, InputError), result.exception
    _no_values(str(result.exception))
    return result.exception


def test_duplicated_column_name_named_with_both_positions(owner: OwnerSetup) -> None:
    source = owner.root / "extract.csv"
    lines = [HEADER + ",Surname ", *(row + ",x" for row in ROWS)]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    error = _refused(owner, source)
    assert (
        "extract.csv: line 1: columns 3 and 5 ('surname' and 'Surname') have the same name "
        "once trimmed and case-folded; rename or remove one"
    ) in str(error)


def test_mapping_onto_a_column_that_exists_is_refused(owner: OwnerSetup) -> None:
    source = owner.root / "extract.csv"
    lines = [HEADER + ",given", *(row + ",x" for row in ROWS)]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = _spec(owner, "columns: {forename: given}\n")
    result = _pseudonymise(owner, source, owner.root / "out", "--spec", str(spec))
    assert isinstance(result.exception, InputError)
    assert "columns 2 ('forename') and 5 ('given') would both be 'forename'" in str(
        result.exception
    )


def test_an_enormous_field_is_refused_with_line_and_column(owner: OwnerSetup) -> None:
    source = owner.root / "extract.csv"
    source.write_text(GOOD.replace("Okafor", "O" * 50_000_000), encoding="utf-8")
    error = _refused(owner, source)
    assert "extract.csv: line 3, column 3 ('surname'): a field longer than" in str(error)


def test_an_unclosed_quote_is_refused_not_read_into_one_field(owner: OwnerSetup) -> None:
    rows = [f"B{index},Amira,Haile,2006-01-02" for index in range(20_000)]
    source = owner.root / "extract.csv"
    source.write_text("\n".join([HEADER, 'A1,"Amira,Haile,2006-01-02', *rows]), encoding="utf-8")
    error = _refused(owner, source)
    assert "line 2, column 2 ('forename'): a field longer than" in str(error)
    assert "never closed" in str(error)


def test_damaged_utf16_names_the_encoding(owner: OwnerSetup) -> None:
    source = owner.root / "extract.csv"
    source.write_bytes(GOOD.encode("utf-16") + b"\x00\xdc")  # a lone low surrogate
    error = _refused(owner, source)
    assert "looks like UTF-16 (little-endian)" in str(error)
    assert "fields where the header" not in str(error)


def test_a_directory_is_named_as_one(owner: OwnerSetup) -> None:
    (owner.root / "folder.csv").mkdir()
    error = _refused(owner, owner.root / "folder.csv")
    assert "folder.csv: is a directory; give the .csv or .parquet file itself" in str(error)


def test_a_missing_record_id_names_the_line(owner: OwnerSetup) -> None:
    source = owner.root / "extract.csv"
    source.write_text(GOOD.replace("A2,", " ,"), encoding="utf-8")
    error = _refused(owner, source)
    assert "extract.csv: line 3, column 'record_id': missing record id" in str(error)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("duplicate", (HEADER + ",dob\n1,Amira,Haile,2006-01-02,x\n").encode(), "both named"),
        ("enormous", GOOD.replace("Okafor", "O" * 200_000).encode(), "a field longer than"),
        ("damaged-utf16", GOOD.encode("utf-16") + b"\x00\xdc", "UTF-16"),
        ("folder", b"", "is a directory"),
    ],
)
def test_the_command_gives_a_message_and_no_traceback(
    owner: OwnerSetup, name: str, data: bytes, message: str
) -> None:
    source = owner.root / f"{name}.csv"
    if name == "folder":
        source.mkdir()
    else:
        source.write_bytes(data)
    completed = subprocess.run(
        [
            sys.executable, "-m", "trelink", "pseudonymise", "--in", str(source),
            "--linkage-key", str(owner.linkage_key), "--owner-key", str(owner.owner_key),
            "--out", str(owner.root / "out"),
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert completed.returncode == 3
    assert "Traceback" not in completed.stderr + completed.stdout
    assert message in completed.stderr and f"{name}.csv" in completed.stderr
    assert not (owner.root / "out").exists()


def test_read_canonical_of_an_in_memory_style_date_column() -> None:
    # Dates given as Python dates stay dates; nothing is counted.
    table = pa.table(
        {
            "record_id": ["A1"],
            "forename": ["Amira"],
            "surname": ["Haile"],
            "dob": pa.array([dt.date(2006, 1, 2)]),
        }
    )
    from pseudonymise.canonical import check_canonical

    checked = check_canonical(table)
    assert checked.problems == () and checked.table.column("dob").type == pa.date32()


# ------------------------------------------------------------------ never a traceback

_PIECES = ["a", "b", ",", '"', "\n", "\r", "\x00", "é", "1", "/", " ", ";", "|", "2006-01-02"]
_HEADERS = [
    "record_id,forename,surname,dob",
    "record_id,forename,surname,dob,dob_alt,aliases,sex",
    "record_id,notes",
    "",
]


@settings(max_examples=150, deadline=None)
@given(
    header=st.sampled_from(_HEADERS),
    body=st.lists(st.sampled_from(_PIECES), max_size=40).map("".join),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    damage=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=3),
)
def test_any_csv_is_read_or_refused_with_an_input_error(
    tmp_path_factory: pytest.TempPathFactory,
    header: str,
    body: str,
    encoding: str,
    damage: list[tuple[int, int]],
) -> None:
    text = f"{header}\n{body}"
    data = bytearray(text.encode(encoding, errors="replace"))
    for position, byte in damage:
        if data:
            data[position % len(data)] = byte
    source = tmp_path_factory.mktemp("fuzz") / "extract.csv"
    source.write_bytes(bytes(data))
    with contextlib.suppress(InputError):  # a refusal is fine; any other error is not
        read_canonical(source, values={"sex": {"F": ("f",)}})


_TYPED = {
    "bool": pa.array([True, None]),
    "list": pa.array([["2001-01-01"], None]),
    "struct": pa.array([{"a": 1}, None]),
    "binary": pa.array([b"2001-01-01", None]),
    "dictionary": pa.array(["2001-01-01", None]).dictionary_encode(),
    "large_string": pa.array(["2001-01-01", None], pa.large_string()),
    "null": pa.nulls(2),
    "decimal": pa.array([Decimal("20010101"), None]),
    "time": pa.array([dt.time(1, 2), None]),
    "timestamp_tz": pa.array([dt.datetime(2001, 1, 1), None], pa.timestamp("s", tz="UTC")),
    "integer": pa.array([20010101, None]),
    "float": pa.array([1.5, float("nan")]),
}


@pytest.mark.parametrize("column", ["record_id", "forename", "dob", "dob_alt", "aliases", "sex"])
@pytest.mark.parametrize("kind", sorted(_TYPED))
def test_parquet_of_any_column_type_is_read_or_refused_by_name(
    tmp_path: Path, column: str, kind: str
) -> None:
    columns = {
        "record_id": pa.array(["A1", "A2"]),
        "forename": pa.array(["Amira", "Tesfay"]),
        "surname": pa.array(["Haile", "Okafor"]),
        "dob": pa.array(["2006-01-02", None]),
        column: _TYPED[kind],
    }
    source = tmp_path / "typed.parquet"
    pq.write_table(pa.table(columns), source)
    try:
        # `values:` naming a column the file lacks is refused: recode sex where it is.
        recode = {"sex": {"F": ("f",)}} if column == "sex" else None
        canonical = read_canonical(source, values=recode)
    except InputError as error:
        assert f"column {column!r} must hold" in str(error) or "record id" in str(error)
        return
    pseudonymise_table(canonical, linkage_key=b"l" * 32, owner_key=b"o" * 32, workers=1)


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_file_separated_otherwise_is_named_so(
    owner: OwnerSetup, separator: str, name: str
) -> None:
    source = owner.root / "extract.csv"
    source.write_text(GOOD.replace(",", separator), encoding="utf-8")
    error = _refused(owner, source)
    assert f"line 1: the header is one column of text separated by {name}" in str(error)


@settings(max_examples=300, deadline=None)
@given(
    width=st.integers(1, 3),
    body=st.lists(
        st.sampled_from(["a", "b", ",", '"', '""', "\n", "\r", "\r\n", " ", "é", "\x00", "\t"]),
        max_size=30,
    ).map("".join),
)
def test_fast_and_careful_csv_readers_agree(width: int, body: str) -> None:
    from pseudonymise.canonical import _fast_csv, _records
    from pseudonymise.textfile import CsvText

    text = ",".join(f"h{index}" for index in range(width)) + "\n" + body
    fast = _fast_csv(text, width)
    if fast is None:
        return  # the careful reader decides alone
    careful = [
        [field if field.strip() else None for field in fields]
        for _, fields in _records("x.csv", CsvText(text))
    ]
    assert [list(row.values()) for row in fast.to_pylist()] == careful
