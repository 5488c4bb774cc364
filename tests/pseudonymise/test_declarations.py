"""Bring your own dataset: columns declared by identifier type become canonical columns."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from pseudonymise.declarations import declared_table, parse_declarations
from pseudonymise.errors import InputError
from trelink.cli import app
from trelink.trust import keys

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
    with pytest.raises(InputError, match=r"e-mail \(email\) and .*tel \(email\) would both fill"):
        declared_table(RAW, declared, source="raw.csv")


def test_repeatable_types_from_several_columns_are_combined() -> None:
    table = pa.table(
        {
            "id": ["a", "b"],
            "middle 1": ["Maria", None],
            "middle 2": ["Ewa", "Jan"],
            "alias 1": ["Ann|Smith", None],
            "alias 2": ["Anka|Kowal", None],
            "other dob 1": ["2001-04-23", None],
            "other dob 2": ["2001-04-24", "1999-01-01"],
        }
    )
    declared = parse_declarations(
        {
            "id": "record_id",
            "middle 1": "middle_name",
            "middle 2": "middle_name",
            "alias 1": "aliases",
            "alias 2": "aliases",
            "other dob 1": "other_date_of_birth",
            "other dob 2": "other_date_of_birth",
        }
    )
    built = declared_table(table, declared, source="x.csv").table
    assert built.column("middle_name").to_pylist() == ["Maria Ewa", "Jan"]
    assert built.column("aliases").to_pylist() == ["Ann|Smith;Anka|Kowal", None]
    assert built.column("dob_alt").to_pylist() == [
        [dt.date(2001, 4, 23), dt.date(2001, 4, 24)],
        [dt.date(1999, 1, 1)],
    ]


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


def test_typed_columns_from_parquet_are_read_as_their_values() -> None:
    """Floats written by a spreadsheet or another tool (9434765919.0, NaN, infinities),
    date-times and text numbers with a trailing .0 are read as the values they hold."""
    table = pa.table(
        {
            "id": ["a", "b", "c"],
            "nhs": [9434765919.0, float("nan"), float("inf")],
            "born": pa.array([dt.datetime(2001, 4, 23, 5), None, dt.datetime(1999, 1, 1)]),
            "tel": ["7700900123.0", None, "07700 900123"],
        }
    )
    declared = parse_declarations(
        {"id": "record_id", "nhs": "identifier", "born": "date_of_birth", "tel": "phone"}
    )
    built = declared_table(table, declared, source="x.parquet")
    assert built.table.column("identifier").to_pylist() == ["9434765919", None, None]
    born = [dt.date(2001, 4, 23), None, dt.date(1999, 1, 1)]
    assert built.table.column("dob").to_pylist() == born
    assert built.table.column("phone").to_pylist()[0] == "7700900123"


def test_a_list_column_is_refused_by_name() -> None:
    table = pa.table({"id": ["a"], "mail": pa.array([["x@y.org"]])})
    with pytest.raises(InputError, match="'mail' holds lists"):
        declared_table(table, parse_declarations({"mail": "email"}), source="x.parquet")


def test_a_file_without_a_header_does_not_print_its_first_record() -> None:
    """Read without a header, the first record becomes the column names: the error must
    not list them."""
    table = pa.table({"R1": ["R2"], "Zebedee": ["Ann"], "1990-01-15": ["2001-01-01"]})
    with pytest.raises(InputError) as caught:
        declared_table(table, parse_declarations({"given": "given_name"}), source="x.csv")
    assert "Zebedee" not in str(caught.value) and "1990" not in str(caught.value)


def test_dropped_and_owner_keyed_columns_match_like_headers() -> None:
    """`drop: [case notes]` drops the file's `Case Notes`; nothing named is shipped."""
    from pseudonymise.spec import PseudonymiseSpec
    from pseudonymise.tables import pseudonymise_table

    frame = pa.table(
        {
            "record_id": ["a1", "a2"],
            "forename": ["Anna", "Ben"],
            "surname": ["Smith", "Jones"],
            "dob": [dt.date(2001, 1, 1), dt.date(2002, 2, 2)],
            "Case Notes": ["lives with aunt", "none"],
            "Person Ref": ["P1", "P2"],
        }
    )
    settings = PseudonymiseSpec(version=1, drop=("case notes",), owner_ids=("person ref",))
    tables = pseudonymise_table(
        frame, linkage_key=bytes(range(32)), owner_key=bytes(range(32, 64)), options=settings
    )
    assert "Case Notes" not in tables.attributes.column_names
    assert tables.manifest["dropped_columns"] == ["Case Notes"]
    assert tables.attributes.column("Person Ref").to_pylist() != ["P1", "P2"]


def test_placeholder_contacts_make_no_tokens_and_are_counted(tmp_path: Path) -> None:
    """Two people who both gave `unknown@unknown.com` and `0000000000` must not agree on
    email or phone: the stand-ins are missing and counted per column."""
    extract = tmp_path / "contacts.csv"
    extract.write_text(
        "id,first,last,born,mail,tel\n"
        "1,Anna,Smith,2001-04-23,unknown@unknown.com,0000000000\n"
        "2,Ben,Jones,1999-01-02,Unknown@Unknown.com,07000 000000\n"
        "3,Cara,Lee,1998-05-06,cara@lee.org,07700 900123\n"
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "version: 1\nidentifiers: {id: record_id, first: given_name, last: family_name, "
        "born: date_of_birth, mail: email, tel: phone}\n"
    )
    keys.generate_secret(tmp_path / "link.key")
    keys.generate_secret(tmp_path / "owner.key")
    result = CliRunner().invoke(
        app,
        [
            "pseudonymise", "--in", str(extract), "--spec", str(spec),
            "--linkage-key", str(tmp_path / "link.key"),
            "--owner-key", str(tmp_path / "owner.key"), "--out", str(tmp_path / "out"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    identity = pq.read_table(tmp_path / "out" / "identity.parquet")
    for column in ("email", "email_local", "phone"):
        assert identity.column(column).to_pylist()[:2] == [None, None], column
        assert identity.column(column).to_pylist()[2] is not None, column
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["invalid_values"]["email"] == 2
    assert manifest["invalid_values"]["phone"] == 2
    assert "phone: 2 invalid or placeholder value(s)" in result.output


@pytest.mark.parametrize(
    ("written", "order", "parts"),
    [
        ("Dr John Smith", "given_first", ("John", None, "Smith")),
        ("Mrs. Mary Ann Jones III", "given_first", ("Mary", "Ann", "Jones")),
        ("Bob Brown Jr", "given_first", ("Bob", None, "Brown")),
        ("MR JOHN PAUL SMITH JNR.", "given_first", ("JOHN", "PAUL", "SMITH")),
        ("Smith, John", "given_first", ("John", None, "Smith")),
        ("SMITH, Dr John Paul", "given_first", ("John", "Paul", "SMITH")),
        ("van der Berg, Anna", "given_first", ("Anna", None, "van der Berg")),
        ("Smith Jr, John", "family_first", ("John", None, "Smith")),
        ("Dr NGUYEN Van An", "family_first", ("Van", "An", "NGUYEN")),
        ("Lord", "given_first", ("Lord", None, None)),
        ("Sir Lord", "given_first", ("Lord", None, None)),
        (",", "given_first", (None, None, None)),
    ],
)
def test_full_names_lose_titles_and_suffixes_before_they_are_split(
    written: str, order: str, parts: tuple[str | None, str | None, str | None]
) -> None:
    """'Dr John Smith' has forename John, not Dr; a comma ends the family name."""
    declared = parse_declarations({"name": {"type": "full_name", "order": order}})
    built = declared_table(pa.table({"name": [written]}), declared, source="x.csv").table
    found = tuple(built.column(name)[0].as_py() for name in ("forename", "middle_name", "surname"))
    assert found == parts


def test_fractions_in_numeric_identifier_columns_are_counted() -> None:
    """1234.5 is no identifier: nulled as before, and now counted for the report."""
    table = pa.table(
        {
            "id": ["a", "b", "c", "d", "e"],
            "member": [1234.5, 1234.0, float("nan"), float("inf"), None],
            "tel": pa.array([Decimal("7700900123.00"), Decimal("77.5"), None, None, None]),
            "born": [20010423.0, 20010423.5, float("nan"), None, 19990101.0],
        }
    )
    declared = parse_declarations(
        {"id": "record_id", "member": "identifier", "tel": "phone", "born": "date_of_birth"}
    )
    built = declared_table(table, declared, source="x.parquet", date_formats=("%Y%m%d",))
    assert built.table.column("identifier").to_pylist() == [None, "1234", None, None, None]
    assert built.table.column("phone").to_pylist() == ["7700900123", None, None, None, None]
    assert built.table.column("dob").to_pylist() == [
        dt.date(2001, 4, 23), None, None, None, dt.date(1999, 1, 1)
    ]  # fmt: skip
    # NaN is how pandas writes a missing value: missing, not invalid.
    assert built.invalid == {"member": 2, "tel": 1, "born": 1}


def test_a_float_identifier_column_read_without_declarations(tmp_path: Path) -> None:
    """A canonical Parquet whose `identifier` is float: NaN was the text 'nan', one token
    shared by every record without an id, and 1234.5 the id 12345."""
    from pseudonymise.canonical import read_canonical

    source = tmp_path / "canonical.parquet"
    pq.write_table(
        pa.table(
            {
                "record_id": [1.0, 2.0, 3.0],
                "forename": ["Ann", "Ben", "Cat"],
                "surname": ["Lee", "Kay", "Day"],
                "dob": [20010423.0, float("nan"), 19990101.0],
                "identifier": [1234.5, float("nan"), 4066625.0],
                "nhs_number": [9434765919.0, float("nan"), float("nan")],
            }
        ),
        source,
    )
    canonical = read_canonical(source, date_formats=("%Y%m%d",))
    table = canonical.table
    assert table.column("record_id").to_pylist() == ["1", "2", "3"]
    assert table.column("identifier").to_pylist() == [None, None, "4066625"]
    assert table.column("nhs_number").to_pylist() == ["9434765919", None, None]
    assert table.column("dob").to_pylist() == [dt.date(2001, 4, 23), None, dt.date(1999, 1, 1)]
    assert canonical.invalid == {"identifier": 1}
    problem = next(found for found in canonical.problems if found.column == "identifier")
    assert problem.first_at == "row 1"


def _run_pseudonymise(tmp_path: Path, extract: Path, spec_text: str) -> Result:
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\n" + spec_text)
    keys.generate_secret(tmp_path / "link.key")
    keys.generate_secret(tmp_path / "owner.key")
    return CliRunner().invoke(
        app,
        [
            "pseudonymise", "--in", str(extract), "--spec", str(spec),
            "--linkage-key", str(tmp_path / "link.key"),
            "--owner-key", str(tmp_path / "owner.key"), "--out", str(tmp_path / "out"),
        ],
    )  # fmt: skip


_DECLARED_PEOPLE = (
    "identifiers: {rec id: record_id, first: given_name, last: family_name, "
    "born: date_of_birth, mail: email}\n"
)


def test_a_byte_order_mark_kept_in_a_parquet_header_still_matches(tmp_path: Path) -> None:
    """A CSV read without its BOM stripped and saved as Parquet names its first column
    '\\ufeffRec ID' (and zero-width spaces hide in copied headers): refused before."""
    extract = tmp_path / "people.parquet"
    pq.write_table(
        pa.table(
            {
                "\ufeffRec ID": ["1", "2"],
                "First\u200b": ["Ann", "Bob"],
                "Last": ["Lee", "Kay"],
                "Born": ["2000-01-02", "2001-03-04"],
                "Mail": ["ann@lee.org", None],
            }
        ),
        extract,
    )
    result = _run_pseudonymise(tmp_path, extract, _DECLARED_PEOPLE)
    assert result.exit_code == 0, result.output
    identity = pq.read_table(tmp_path / "out" / "identity.parquet")
    assert identity.column("fn").null_count == 0


def test_an_identifier_column_empty_in_every_row_is_warned_of(tmp_path: Path) -> None:
    """Every date of birth blank: written as before, but said on screen and in the
    manifest, where before nothing told the owner no record could link on it."""
    extract = tmp_path / "people.csv"
    extract.write_text("Rec ID,First,Last,Born,Mail\n1,Ann,Lee,,ann@lee.org\n2,Bob,Kay,,\n")
    result = _run_pseudonymise(tmp_path, extract, _DECLARED_PEOPLE)
    assert result.exit_code == 0, result.output
    assert "identifier column 'dob' is empty in every row" in " ".join(result.output.split())
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["empty_identifier_columns"] == ["dob"]
