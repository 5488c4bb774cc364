"""Value conversion: one canonical column's raw cells into typed values, counting problems.

Dates (the period's strftime formats, YYYYMMDD as text or number, Excel serial day
numbers, real date cells), numbers, booleans, categories (case, stray spaces and known
misspellings), lists and aliases are harmonised by ``ColumnReader``. A value that cannot
be parsed becomes null and is counted in the column's quality record (with its file,
row and column label, never the value); NUL characters are removed and counted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from pseudonymise.dates import UnparseableDate, date_parser
from pseudonymise.quality import ColumnQuality
from pseudonymise.raw_files import Cell, cell_text, is_blank
from trelink.specs.dataset import ColumnSpec, PeriodSpec, label_key

__all__ = ["ColumnReader"]

_TRUE = frozenset({"y", "yes", "true", "1", "t"})
_FALSE = frozenset({"n", "no", "false", "0", "f"})


class _Unparseable(Exception):
    """A cell's text does not fit its column's type (never carries the value)."""


@dataclass
class ColumnReader:
    """Parses one canonical column's cells for one period, counting problems."""

    column: ColumnSpec
    period: PeriodSpec
    quality: ColumnQuality
    parse_date: Callable[[object], dt.date]
    categories: dict[str, str]
    missing_labels: frozenset[str]

    @classmethod
    def build(cls, column: ColumnSpec, period: PeriodSpec, quality: ColumnQuality) -> ColumnReader:
        return cls(
            column=column,
            period=period,
            quality=quality,
            parse_date=date_parser(period.date_formats),
            categories=column.category_lookup(),
            missing_labels=frozenset(label_key(label) for label in column.missing_values),
        )

    def read(self, value: Cell, file: str, row: int, label: str) -> object:
        if isinstance(value, str) and "\x00" in value:
            # NUL is in no real value and cuts text short in C-based tools: removed, counted.
            value = value.replace("\x00", "")
            self.quality.note_nul(file, row, label)
        if is_blank(value) or (
            self.missing_labels and label_key(cell_text(value)) in self.missing_labels
        ):
            self.quality.missing += 1
            return None
        self.quality.present += 1
        try:
            converted = self._convert(value)
        except (_Unparseable, UnparseableDate):
            self.quality.note_unparseable(file, row, label)
            self.quality.missing += 1
            return None
        return converted

    def _code(self, text: str) -> str | None:
        code = self.categories.get(label_key(text))
        if code is None:
            self.quality.unknown_categories += 1
            if self.column.role == "attribute":
                self.quality.unknown_spellings[text.strip()[:60]] += 1
        return code

    def _split(self, value: Cell) -> list[str]:
        if isinstance(value, list):
            return [cell_text(item) for item in value if not is_blank(item)]
        parts = cell_text(value).split(self.period.list_separator)
        return [part.strip() for part in parts if part.strip()]

    def _convert(self, value: Cell) -> object:
        kind = self.column.type
        if kind == "date":
            return self.parse_date(value)
        if kind == "string":
            text = cell_text(value)
            return re.sub(r"\s+", " ", text).upper() if self.column.role == "postcode" else text
        if kind == "integer":
            number = _number(value)
            if not number.is_integer():
                raise _Unparseable
            return int(number)
        if kind == "number":
            return _number(value)
        if kind == "boolean":
            text = cell_text(value).casefold()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise _Unparseable
        if kind == "category":
            code = self._code(cell_text(value))
            if code is None:
                self.quality.missing += 1
            return code
        if kind == "category_list":
            codes = [self._code(part) for part in self._split(value)]
            known = list(dict.fromkeys(code for code in codes if code is not None))
            return known or None
        if kind == "date_list":
            return [self.parse_date(part) for part in self._split(value)]
        return [_alias(part) for part in self._split(value)]  # alias_list


def _number(value: Cell) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(cell_text(value).replace(",", ""))
    except ValueError:
        raise _Unparseable from None


def _alias(text: str) -> dict[str, str | None]:
    """'SURNAME, Forename' (or 'Forename Surname') as a forename/surname pair."""
    if "," in text:
        surname, _, forename = text.partition(",")
    else:
        forename, _, surname = text.rpartition(" ")
    return {"forename": forename.strip() or None, "surname": surname.strip() or None}
