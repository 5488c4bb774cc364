"""The pseudonymise spec refuses on loading what would silently lose or misread data."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from pseudonymise.spec import load_pseudonymise_spec
from trelink.cli import app
from trelink.specs.loader import SpecError
from trelink.trust import keys


def _load(tmp_path: Path, text: str) -> None:
    spec = tmp_path / "owner.yaml"
    spec.write_text("version: 1\n" + text)
    load_pseudonymise_spec(spec)


@pytest.mark.parametrize(
    ("date_format", "reason"),
    [
        ("%Y-%m", "whole date"),
        ("%d/%m", "whole date"),
        ("%Q-%m-%d", "not a usable strftime format"),
        ("born", "whole date"),
    ],
)
def test_a_column_date_format_that_cannot_read_dates_is_refused_on_loading(
    tmp_path: Path, date_format: str, reason: str
) -> None:
    """Before, every date of the column became null at run time, one count on screen."""
    with pytest.raises(SpecError) as caught:
        _load(
            tmp_path,
            "identifiers:\n  birth: "
            f'{{type: date_of_birth, format: ["%Y%m%d", "{date_format}"]}}\n',
        )
    message = str(caught.value)
    assert "owner.yaml" in message and "identifiers.birth.format" in message
    assert reason in message and repr(date_format) in message


def test_an_option_for_another_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"identifiers\.born: .*`format` applies to"):
        _load(tmp_path, 'identifiers:\n  born: {type: given_name, format: "%Y%m%d"}\n')
    with pytest.raises(SpecError, match=r"identifiers\.zip: .*`check` applies to identifier"):
        _load(tmp_path, "identifiers:\n  zip: {type: postcode, check: nhs_number}\n")


@pytest.mark.parametrize(
    ("declared", "named"),
    [
        ("birth: date_of_birth\n  dob2: date_of_birth", ["birth", "dob2"]),
        ("first: given_name\n  other: given_name", ["first", "other"]),
        ("name: full_name\n  first: given_name", ["name", "first"]),
        ("nhs: {type: identifier, check: upn}\n  NHS2: {type: identifier, check: upn}",
         ["nhs", "NHS2"]),
        ("a: record_id\n  b: record_id", ["a", "b"]),
        ("Birth: date_of_birth\n  ' birth ': other_date_of_birth", ["Birth", " birth "]),
    ],
)  # fmt: skip
def test_two_columns_for_one_single_valued_type_are_refused_naming_both(
    tmp_path: Path, declared: str, named: list[str]
) -> None:
    """Two dates of birth: the last silently won before."""
    with pytest.raises(SpecError) as caught:
        _load(tmp_path, f"identifiers:\n  {declared}\n")
    message = str(caught.value)
    assert "owner.yaml" in message
    for column in named:
        assert repr(column) in message or f"identifiers.{column} " in message


def test_a_mapped_column_and_a_declared_one_for_the_same_identifier_are_refused(
    tmp_path: Path,
) -> None:
    with pytest.raises(SpecError, match=r"columns\.dob and identifiers\.born \(date_of_birth\)"):
        _load(tmp_path, "columns: {dob: birth_date}\nidentifiers: {born: date_of_birth}\n")


def test_repeatable_types_may_be_declared_on_several_columns(tmp_path: Path) -> None:
    _load(
        tmp_path,
        "identifiers:\n  line 1: address_line\n  line 2: address_line\n  m1: middle_name\n"
        "  m2: middle_name\n  alias a: aliases\n  alias b: aliases\n  d1: other_date_of_birth\n"
        "  d2: other_date_of_birth\n  region: category\n  site: category\n"
        "  uk: postcode\n  abroad: {type: postcode, country: other}\n"
        "  nhs: {type: identifier, check: nhs_number}\n  member: identifier\n",
    )


# --------------------------------------------------------------- columns the spec names

_EXTRACT = (
    "Case Ref,Given,Family,Born,Gender,Ethnic Group,Case Notes,Person Ref\n"
    "1,Anna,Smith,2001-04-23,female,White,lives with aunt,P1\n"
    "2,Ben,Jones,1999-01-02, MALE ,Asian,none,P2\n"
    "3,Cara,Lee,1998-05-06,F,white,,P3\n"
)
_DECLARED = (
    "identifiers: {case ref: record_id, given: given_name, family: family_name, "
    "born: date_of_birth, gender: sex}\n"
)


def _pseudonymise(
    tmp_path: Path, spec_text: str, extract_text: str = _EXTRACT
) -> tuple[Result, Path]:
    extract = tmp_path / "extract.csv"
    extract.write_text(extract_text)
    spec = tmp_path / "owner.yaml"
    spec.write_text("version: 1\n" + spec_text)
    keys.generate_secret(tmp_path / "link.key")
    keys.generate_secret(tmp_path / "owner.key")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "pseudonymise", "--in", str(extract), "--spec", str(spec),
            "--linkage-key", str(tmp_path / "link.key"),
            "--owner-key", str(tmp_path / "owner.key"), "--out", str(out),
        ],
    )  # fmt: skip
    return result, out


def test_every_column_the_spec_names_matches_as_headers_do(tmp_path: Path) -> None:
    """`values: {SEX: ...}`, `quasi_identifiers: [ethnic  group]`: before, names that
    differed from the header in case or spaces were silently ignored (sex not recoded,
    no k-anonymity on it, a dropped column shipped)."""
    result, out = _pseudonymise(
        tmp_path,
        _DECLARED
        + "values:\n  SEX: {F: [female], M: [male]}\n"
        + "  ' ethnic  group ': {W: [white], A: [asian]}\n"
        + "drop: [CASE NOTES]\nowner_ids: [person ref]\n"
        + "quasi_identifiers: [Gender, ETHNIC GROUP]\n",
    )
    assert result.exit_code == 0, result.output
    attributes = pq.read_table(out / "attributes.parquet")
    assert attributes.column("sex").to_pylist() == ["F", "M", "F"]
    assert attributes.column("Ethnic Group").to_pylist() == ["W", "A", "W"]
    assert "Case Notes" not in attributes.column_names
    assert attributes.column("Person Ref").to_pylist()[0] != "P1"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["risk"]["k_anonymity"]["quasi_identifiers"] == ["sex", "Ethnic Group"]


def test_a_mapped_canonical_name_matches_whatever_its_case(tmp_path: Path) -> None:
    result, out = _pseudonymise(
        tmp_path,
        "columns: {RECORD_ID: case ref, Forename: given, SURNAME: family, DOB: born}\n",
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"fn", "sn", "dob"} <= set(manifest["token_columns"])


@pytest.mark.parametrize(
    ("spec_text", "named"),
    [
        ("values: {gendr: {F: [female]}}\n", ["values.gendr"]),
        ("drop: [case notez]\n", ["drop: 'case notez'"]),
        ("owner_ids: [person number]\n", ["owner_ids: 'person number'"]),
        ("quasi_identifiers: [ethnicity]\n", ["quasi_identifiers: 'ethnicity'"]),
        ("drop: [notes]\nquasi_identifiers: [site]\n", ["drop: 'notes'", "quasi_identifiers"]),
    ],
)
def test_a_column_the_file_lacks_is_refused_naming_the_spec_file_and_key(
    tmp_path: Path, spec_text: str, named: list[str]
) -> None:
    result, out = _pseudonymise(tmp_path, _DECLARED + spec_text)
    assert result.exit_code != 0
    assert "Traceback" not in result.output and result.exception is not None
    message = str(result.exception)
    assert "owner.yaml" in message and "extract.csv" in message
    for key in named:
        assert key in message
    assert not out.exists()


def test_a_declared_column_the_file_lacks_names_the_spec_and_key(tmp_path: Path) -> None:
    result, _ = _pseudonymise(tmp_path, _DECLARED.replace("gender: sex", "gendre: sex"))
    assert result.exit_code != 0
    assert "owner.yaml: identifiers.gendre: no such column in" in str(result.exception)
    assert "Anna" not in str(result.exception)


def test_values_for_a_column_declared_as_an_identifier_are_refused(tmp_path: Path) -> None:
    result, _ = _pseudonymise(tmp_path, _DECLARED + "values: {Born: {X: [y]}}\n")
    assert result.exit_code != 0
    assert "values.Born: the column is the identifier 'dob'" in str(result.exception)


def test_quasi_identifiers_must_be_released_attributes(tmp_path: Path) -> None:
    result, _ = _pseudonymise(
        tmp_path, _DECLARED + "drop: [case notes]\nquasi_identifiers: [Case Notes, born]\n"
    )
    assert result.exit_code != 0
    assert "quasi_identifiers: ['Case Notes', 'dob'] are not released" in str(result.exception)


def test_a_header_decomposed_as_a_mac_writes_it_matches_its_declaration(tmp_path: Path) -> None:
    """'Prénom' in the file as 'Pre' + a combining accent: 'no such column' before."""
    result, _ = _pseudonymise(
        tmp_path,
        "identifiers: {case ref: record_id, prénom: given_name, family: family_name, "
        "born: date_of_birth}\n",
        "Case Ref,Pre\u0301nom,Family,Born\n1,Anna,Smith,2001-04-23\n",
    )
    assert result.exit_code == 0, result.output


def test_two_values_entries_for_one_column_are_refused(tmp_path: Path) -> None:
    """`sex:` and `Gender:` both name the column declared sex: one silently won before."""
    result, _ = _pseudonymise(
        tmp_path, _DECLARED + "values:\n  sex: {F: [female]}\n  Gender: {M: [male]}\n"
    )
    assert result.exit_code != 0
    assert "values.sex and values.Gender both recode the column 'sex'" in str(result.exception)


def test_every_problem_of_the_spec_with_the_file_is_reported_at_once(tmp_path: Path) -> None:
    """One problem under each key that names columns: before, the first key's problems
    were reported alone and each fix revealed the next (columns, identifiers, values,
    then drop, owner_ids and quasi_identifiers)."""
    result, out = _pseudonymise(
        tmp_path,
        _DECLARED.replace("gender: sex", "gendre: sex")
        + "columns: {nationality: nationalty}\n"
        + "values: {ethnic grp: {W: [white]}, Born: {X: [y]}}\n"
        + "drop: [case notez]\nowner_ids: [person number]\n"
        + "quasi_identifiers: [site, born]\n",
    )
    assert result.exit_code != 0 and result.exception is not None
    message = str(result.exception)
    assert "Traceback" not in result.output
    assert message.startswith(f"{tmp_path / 'owner.yaml'}: 8 problems:\n")
    expected = [
        "columns.nationality: 'nationalty': no such column in",
        "identifiers.gendre: no such column in",
        "values.ethnic grp: no such column in",
        "drop: 'case notez': no such column in",
        "owner_ids: 'person number': no such column in",
        "quasi_identifiers: 'site': no such column in",
        "values.Born: the column is the identifier 'dob'; identifiers cannot be recoded",
        "quasi_identifiers: ['dob'] are not released attributes",
    ]
    listed = [line for line in message.splitlines() if line.startswith("  - ")]
    assert len(listed) == len(expected)
    for line, problem in zip(listed, expected, strict=True):
        assert line.startswith(f"  - {problem}"), (line, problem)
    assert "Anna" not in message and not out.exists()
