"""The pseudonymise spec refuses on loading what would silently lose or misread data."""

from __future__ import annotations

from pathlib import Path

import pytest

from pseudonymise.spec import load_pseudonymise_spec
from trelink.specs.loader import SpecError


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
