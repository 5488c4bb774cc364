"""Dates as data owners write them: any strftime format, YYYYMMDD, Excel serials, cells.

One parser serves ``trelink prepare`` (a dataset spec's per-period ``date_formats``)
and ``trelink pseudonymise`` (the pseudonymise spec's ``date_formats``), so a format
that works in one works in the other. A value may arrive as

* text in one of the declared strftime formats (``%Y-%m-%d``, ``%d/%m/%Y``,
  ``%Y%m%d``, ``%d %B %Y`` ...), tried in the order given;
* a whole number, from a typed column or a spreadsheet (``20010423``, or ``20010423.0``
  as Excel stores it, or a decimal): its digits are read with the same formats;
* a whole number of days since Excel's epoch, when ``excel_serial`` is declared;
* a date or date-time cell (the time of day is dropped).

Anything else raises ``UnparseableDate``, which never carries the value.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal

__all__ = [
    "DEFAULT_DATE_FORMATS",
    "EXCEL_SERIAL",
    "UnparseableDate",
    "date_format_problem",
    "date_parser",
]

# A date "format" meaning: a whole number of days since Excel's 1899-12-30 epoch.
EXCEL_SERIAL = "excel_serial"
DEFAULT_DATE_FORMATS: tuple[str, ...] = ("%Y-%m-%d", "%d/%m/%Y")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_LAST_SERIAL = 2_958_466  # 9999-12-31
_WHOLE = re.compile(r"\d+(?:\.0*)?")
# A date whose day, month and year differ, so a format that loses one is caught.
_PROBE = dt.date(2001, 4, 23)


class UnparseableDate(ValueError):
    """A value is not a date in any declared format (the value is never included)."""


def date_format_problem(date_format: str) -> str | None:
    """Why ``date_format`` cannot be used to read dates, or None when it can.

    A usable format writes a date that it reads back unchanged: it has a day, a month
    and a year, and no directive strptime does not know.
    """
    if date_format == EXCEL_SERIAL:
        return None
    try:
        written = _PROBE.strftime(date_format)
        read = dt.datetime.strptime(written, date_format).date()
    except ValueError as error:
        return f"{date_format!r} is not a usable strftime format ({error})"
    if read != _PROBE:
        return f"{date_format!r} does not hold a whole date (it needs a day, a month and a year)"
    return None


def date_parser(formats: tuple[str, ...]) -> Callable[[object], dt.date]:
    """A function reading one value as a date by ``formats`` (see the module docstring).

    Parsed texts are cached: a column holds few distinct dates compared with its rows.
    """
    text_formats = tuple(fmt for fmt in formats if fmt != EXCEL_SERIAL)
    serial = EXCEL_SERIAL in formats
    cache: dict[str, dt.date] = {}

    def from_serial(number: float) -> dt.date:
        if not serial or not 1 <= number < _LAST_SERIAL:
            raise UnparseableDate
        return _EXCEL_EPOCH + dt.timedelta(days=int(number))

    def from_text(text: str) -> dt.date:
        known = cache.get(text)
        if known is not None:
            return known
        digits = text.partition(".")[0] if _WHOLE.fullmatch(text) else None
        for candidate in (text, digits) if digits is not None and digits != text else (text,):
            for fmt in text_formats:
                try:
                    parsed = dt.datetime.strptime(candidate, fmt).date()
                except ValueError:
                    continue
                cache[text] = parsed
                return parsed
        if digits is not None:
            parsed = from_serial(float(digits))
            cache[text] = parsed
            return parsed
        raise UnparseableDate

    def parse(value: object) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, bool):
            raise UnparseableDate
        if isinstance(value, Decimal):  # a database's NUMERIC column, e.g. 20010423
            value = float(value)
        if isinstance(value, int):
            return from_text(str(value)) if value >= 0 else from_serial(-1)
        if isinstance(value, float):
            if not value.is_integer() or value < 0:
                # A fraction of a day: a serial date-time, never a YYYYMMDD number.
                if serial and value >= 1:
                    return from_serial(value)
                raise UnparseableDate
            return from_text(str(int(value)))
        if isinstance(value, str):
            return from_text(value.strip())
        raise UnparseableDate

    return parse
