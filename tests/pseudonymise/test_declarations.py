"""Bring your own dataset: columns declared by identifier type become canonical columns."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pseudonymise import keys
from pseudonymise.declarations import declared_table, parse_declarations
from pseudonymise.errors import InputError
from trelink.cli import app

RAW = pa.table(
    {
        " Case Ref ": ["a1", "a2", "a3", "a4"],
        "Full Name": ["Anna Maria Kowalska", "NGUYEN Van An", None, "Zoe"],
        "Born": ["20010423", "19991302", "20000101", ""],
        "Street No": ["12", "3", None, "7"],
        "Street": ["High St.", "Elm Road", None, "Mill Lane"],
        "Suburb": ["Dapto", "Kela", "Dapto", None],
        "Zip": ["2530", "0800", None, "2530"],
        "Member No": ["4066625", "5304218", None, "x"],
        "NHS": ["9434765919", "9434765918", None, None],
        "E-mail": ["Anna@Example.org", "not an email", None, "zoe@x.org"],
        "Tel": ["+44 7700 900123", "07700900123", "12", None],
        "region": ["nsw", "vic", "nsw", "qld"],
    }
)
DECLARED = {
    "case ref": "record_id",
    "full name": "full_name",
    "born": {"type": "date_of_birth", "format": "%Y%m%d"},
    "street no": "address_line",
    "street": "address_line",
    "suburb": "locality",
    "zip": {"type": "postcode", "country": "other"},
    "member no": "identifier",
    "nhs": {"type": "identifier", "check": "nhs_number"},
    "e-mail": "email",
    "tel": "phone",
    "region": "category",
}


def test_declared_types_fill_the_canonical_columns() -> None:
    built = declared_table(RAW, parse_declarations(DECLARED), source="raw.csv")
    table = built.table
    assert table.column("record_id").to_pylist() == ["a1", "a2", "a3", "a4"]
    assert table.column("forename").to_pylist() == ["Anna", "NGUYEN", None, "Zoe"]
    assert table.column("middle_name").to_pylist() == ["Maria", "Van", None, None]
    assert table.column("surname").to_pylist() == ["Kowalska", "An", None, None]
    born = [dt.date(2001, 4, 23), None, dt.date(2000, 1, 1), None]
    assert table.column("dob").to_pylist() == born
    assert table.column("address").to_pylist() == ["12 High St.", "3 Elm Road", None, "7 Mill Lane"]
    assert table.column("postal_code").to_pylist() == ["2530", "0800", None, "2530"]
    assert table.column("identifier").to_pylist() == ["4066625", "5304218", None, "x"]
    assert table.column("nhs_number").to_pylist()[:2] == ["9434765919", "9434765918"]
    assert table.column("region").to_pylist() == ["nsw", "vic", "nsw", "qld"]
    # One bad date is nulled and counted, never a reason to refuse the file.
    assert built.invalid == {"born": 1}


def test_family_first_full_names() -> None:
    declared = parse_declarations({"name": {"type": "full_name", "order": "family_first"}})
    built = declared_table(pa.table({"name": ["NGUYEN Van An"]}), declared, source="x.csv")
    assert built.table.column("forename").to_pylist() == ["Van"]
    assert built.table.column("surname").to_pylist() == ["NGUYEN"]


def test_a_declared_column_missing_from_the_file_is_named() -> None:
    with pytest.raises(InputError, match=r"raw\.csv.*'postcode'") as caught:
        declared_table(RAW, parse_declarations({"postcode": "postcode"}), source="raw.csv")
    assert "Anna" not in str(caught.value)


def test_two_columns_cannot_fill_one_canonical_column() -> None:
    declared = parse_declarations({"e-mail": "email", "tel": "email"})
    with pytest.raises(InputError, match="fill 'email' twice"):
        declared_table(RAW, declared, source="raw.csv")


def test_pseudonymise_a_csv_by_its_declarations(tmp_path: Path) -> None:
    """The owner's whole path: a CSV, a spec of types, `trelink pseudonymise`."""
    frame = RAW.to_pandas()
    extract = tmp_path / "extract.csv"
    frame.to_csv(extract, index=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "version: 1\nidentifiers:\n"
        + "".join(f"  {column!r}: {json.dumps(value)}\n" for column, value in DECLARED.items())
    )
    keys.generate_secret(tmp_path / "link.key")
    keys.generate_secret(tmp_path / "owner.key")
    result = CliRunner().invoke(
        app,
        [
            "pseudonymise",
            "--in", str(extract),
            "--linkage-key", str(tmp_path / "link.key"),
            "--owner-key", str(tmp_path / "owner.key"),
            "--spec", str(spec),
            "--out", str(tmp_path / "out"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    identity = pq.read_table(tmp_path / "out" / "identity.parquet")
    for column in ("fn", "sn", "mn", "dob", "addr", "addr_words", "loc", "loc_del", "postal"):
        assert column in identity.column_names
    for column in ("pid", "pid_sorted", "nhs_number", "email", "email_local", "phone"):
        assert column in identity.column_names
    # The two telephone numbers are one number written two ways; "12" is no number.
    phones = identity.column("phone").to_pylist()
    assert phones[0] == phones[1] and phones[2] is None
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["invalid_values"]["born"] == 1
    attributes = pq.read_table(tmp_path / "out" / "attributes.parquet")
    assert "region" in attributes.column_names
    for leaked in ("Full Name", "full_name", "Zip", "E-mail", "Tel", "Street"):
        assert leaked not in attributes.column_names
