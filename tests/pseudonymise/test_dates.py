"""Dates in any declared format, as text, numbers or cells; and checking the formats."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pseudonymise.dates import (
    EXCEL_SERIAL,
    UnparseableDate,
    date_format_problem,
    date_parser,
)
from pseudonymise.spec import PseudonymiseSpec

APRIL_23 = dt.date(2001, 4, 23)


@pytest.mark.parametrize(
    ("formats", "value"),
    [
        (("%Y-%m-%d",), "2001-04-23"),
        (("%Y-%m-%d", "%d/%m/%Y"), " 23/04/2001 "),
        (("%Y%m%d",), "20010423"),
        (("%Y%m%d",), 20010423),  # an integer column
        (("%Y%m%d",), 20010423.0),  # Excel stores every number as a float
        (("%Y%m%d",), "20010423.0"),  # ... and writes it so into a CSV
        (("%Y%m%d",), Decimal("20010423")),  # a database's NUMERIC column
        (("%d %B %Y",), "23 April 2001"),
        (("%d/%m/%Y", EXCEL_SERIAL), 37004),
        (("%d/%m/%Y", EXCEL_SERIAL), "37004"),
        ((), dt.datetime(2001, 4, 23, 13, 5)),
        ((), APRIL_23),
    ],
)
def test_declared_formats_read(formats: tuple[str, ...], value: object) -> None:
    assert date_parser(formats)(value) == APRIL_23


@pytest.mark.parametrize(
    ("formats", "value"),
    [
        (("%Y-%m-%d",), "2001-02-30"),
        (("%Y%m%d",), 37004),  # a serial day number, but excel_serial is not declared
        (("%Y%m%d",), 20011323),
        (("%Y%m%d",), -5),
        (("%Y%m%d",), 2001.5),
        (("%Y%m%d",), True),
        (("%Y-%m-%d",), ["2001-04-23"]),
    ],
)
def test_other_values_are_unparseable(formats: tuple[str, ...], value: object) -> None:
    with pytest.raises(UnparseableDate) as caught:
        date_parser(formats)(value)
    assert str(caught.value) == ""  # never the value


@given(st.dates(min_value=dt.date(1000, 1, 1)))
def test_yyyymmdd_round_trips_as_text_and_number(date: dt.date) -> None:
    parse = date_parser(("%Y%m%d",))
    text = date.strftime("%Y%m%d")
    assert parse(text) == date
    assert parse(int(text)) == date
    assert parse(float(text)) == date


@pytest.mark.parametrize("date_format", ["%Y-%m", "%m/%d", "%Q", "%d/%m/%y %H"])
def test_formats_without_a_whole_date_are_named(date_format: str) -> None:
    problem = date_format_problem(date_format)
    if date_format == "%d/%m/%y %H":
        assert problem is None  # a time part is allowed; it is dropped
    else:
        assert problem is not None and repr(date_format) in problem


def test_pseudonymise_spec_checks_formats_and_value_mappings() -> None:
    spec = PseudonymiseSpec.model_validate(
        {"version": 1, "date_formats": ["%Y%m%d"], "values": {"sex": {"F": ["f", 2]}}}
    )
    assert spec.date_formats == ("%Y%m%d",)
    assert spec.values == {"sex": {"F": ("f", "2")}}
    assert PseudonymiseSpec(version=1).date_formats == ("%Y-%m-%d", "%d/%m/%Y")
    with pytest.raises(ValueError) as caught:
        PseudonymiseSpec.model_validate(
            {
                "version": 1,
                "date_formats": ["%Y-%m"],
                "values": {"sex": {"F": ["x"], "M": [" X"], "U": []}, "dob": {"a": []}},
            }
        )
    message = str(caught.value)
    assert "date_formats: '%Y-%m' does not hold a whole date" in message
    assert "values.sex: spelling ' X' belongs to both 'F' and 'M'" in message
    assert "values.dob: identifiers cannot be recoded" in message
    assert "values.sex: the codes are F and M" in message
