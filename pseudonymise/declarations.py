"""Bring your own dataset: build the canonical identity columns from declared types.

A data owner's pseudonymise spec may say, for each column of the file, which identifier
type it holds (``trelink/specs/identifier_types.py`` lists them)::

    identifiers:
      id: record_id
      name: full_name
      born: {type: date_of_birth, format: "%d/%m/%Y"}
      house: address_line
      street: address_line
      postcode: {type: postcode, country: uk}
      email: email

``declared_table`` turns such a file into the canonical table ``pseudonymise`` reads:
headers are matched after trimming and case-folding (``column_key``), address lines
and middle names are joined in spec order, a full name loses its titles and suffixes
and is split into forename, middle name and surname (``split_full_name``), dates are
parsed with the declared format, and a value that does not parse (a date that is not
one, a fraction where an identifier belongs) is *nulled and counted* by column, never a
reason to refuse the file. Columns not declared pass through unchanged (attributes, or
canonical columns already named so). A spec that declares two columns for one
single-valued type is refused before any file is read (``declaration_clashes``).
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import ClassVar, Literal

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import field_validator, model_validator

from pseudonymise.dates import (
    DEFAULT_DATE_FORMATS,
    UnparseableDate,
    date_format_problem,
    date_parser,
)
from pseudonymise.errors import InputError
from pseudonymise.normalise import title_free_words
from trelink.specs.identifier_types import (
    REPEATABLE_OWNER_TYPES,
    IdentifierTypeSpec,
    OwnerType,
    filled_columns,
)

__all__ = [
    "DeclaredTable",
    "IdentifierDeclaration",
    "column_key",
    "declaration_clashes",
    "declared_table",
    "parse_declarations",
    "split_full_name",
    "whole_number_text",
]

DeclaredType = OwnerType | Literal["record_id"]


class IdentifierDeclaration(IdentifierTypeSpec):
    """What one column of the owner's file holds (``country`` and ``check`` as in
    ``IdentifierTypeSpec``)."""

    OPTION_TYPES: ClassVar[dict[str, frozenset[str]]] = {
        **IdentifierTypeSpec.OPTION_TYPES,
        "format": frozenset({"date_of_birth", "other_date_of_birth"}),
        "order": frozenset({"full_name"}),
    }

    type: DeclaredType
    # date_of_birth, other_date_of_birth: strftime formats tried in order (None: the
    # spec's `date_formats`).
    format: tuple[str, ...] | None = None
    # full_name: which word comes first.
    order: Literal["given_first", "family_first"] = "given_first"

    @model_validator(mode="before")
    @classmethod
    def _one_format(cls, value: object) -> object:
        if isinstance(value, dict) and isinstance(value.get("format"), str):
            return {**value, "format": (value["format"],)}
        return value

    @field_validator("format")
    @classmethod
    def _usable_formats(cls, formats: tuple[str, ...] | None) -> tuple[str, ...] | None:
        # Refused on loading: a format without a day, say, would null every date.
        if formats is not None:
            if not formats:
                raise ValueError("give at least one strftime format")
            problems = [problem for problem in map(date_format_problem, formats) if problem]
            if problems:
                raise ValueError("; ".join(problems))
        return formats

    @property
    def filled(self) -> tuple[str, ...]:
        """Every canonical column this declaration fills (none for a category)."""
        return filled_columns(self.type, country=self.country, check=self.check)


class DeclaredTable:
    """A canonical table built from declarations, and what could not be read."""

    def __init__(self, table: pa.Table, invalid: Mapping[str, int]) -> None:
        self.table = table
        self.invalid = dict(invalid)


def parse_declarations(
    identifiers: Mapping[str, object],
) -> dict[str, IdentifierDeclaration]:
    """Validate the ``identifiers`` section (column: type or {type, options})."""
    return {
        column: IdentifierDeclaration.model_validate(value) for column, value in identifiers.items()
    }


def column_key(label: str) -> str:
    """How a header and every column a spec names are compared: spaces trimmed and
    runs of them made one, case folded (``" Date  Of Birth "`` is ``date of birth``),
    and Unicode composed alike (a Mac writes ``é`` as ``e`` and an accent)."""
    return " ".join(unicodedata.normalize("NFKC", label).split()).casefold()


def declaration_clashes(
    identifiers: Mapping[str, IdentifierDeclaration], mapped: Iterable[str] = ()
) -> list[str]:
    """Why ``identifiers`` cannot all be used: a column declared twice (names compared
    trimmed and case-folded), or two columns filling one single-valued canonical column
    (two dates of birth, a full name beside a given name). ``mapped`` are canonical
    columns the spec's ``columns:`` mapping already fills."""
    problems: list[str] = []
    spelled: dict[str, str] = {}
    for column in identifiers:
        earlier = spelled.setdefault(column_key(column), column)
        if earlier != column:
            problems.append(
                f"identifiers: {earlier!r} and {column!r} name one column (compared trimmed "
                "and case-folded); declare it once"
            )
    claims: dict[str, list[str]] = {target: [f"columns.{target}"] for target in mapped}
    types: dict[str, set[str]] = {target: {"columns"} for target in mapped}
    for column, declaration in identifiers.items():
        for target in declaration.filled:
            claims.setdefault(target, []).append(f"identifiers.{column} ({declaration.type})")
            types.setdefault(target, set()).add(declaration.type)
    for target, claimants in claims.items():
        repeatable = len(types[target]) == 1 and types[target] <= REPEATABLE_OWNER_TYPES
        if len(claimants) > 1 and not repeatable:
            problems.append(
                f"{' and '.join(claimants)} would {'both' if len(claimants) == 2 else 'all'} "
                f"fill {target!r}, which holds one value per record, so only the last would "
                f"be used; declare one of them{_CLASH_HINTS.get(target, '')}"
            )
    return problems


_CLASH_HINTS = {
    "dob": " (declare another date of birth as other_date_of_birth)",
    "forename": " (declare other names as aliases)",
    "surname": " (declare other names as aliases)",
}


_WHOLE_FLOAT_TEXT = r"^([0-9]+)\.0+$"


def _whole_text(value: object) -> str | None:
    """The text of a whole number; None for a fraction or an infinity (ValueError)."""
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError
        return str(int(value))
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise ValueError
        return str(int(value))
    return None if value is None else str(value)


def whole_number_text(column: pa.ChunkedArray | pa.Array) -> tuple[pa.ChunkedArray, list[int]]:
    """A numeric column as the text of its whole numbers, and the rows that held none.

    A spreadsheet or pandas stores an id as a float: ``9434765919.0`` is the NHS number
    9434765919, and NaN is how pandas writes a missing value (null, not the text
    ``nan``, which would give every record without one the same token). A fraction
    (``1234.5``) or an infinity is no identifier: it becomes null and its row is
    returned, so the caller counts it with the column's invalid values.
    """
    kind = column.type
    if pa.types.is_floating(kind):
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, kind), column)
    if not (pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
        return pa.chunked_array([pc.cast(column, pa.string())]), []
    texts: list[str | None] = []
    bad: list[int] = []
    for row, value in enumerate(column.to_pylist()):
        try:
            texts.append(_whole_text(value))
        except ValueError:
            texts.append(None)
            bad.append(row)
    return pa.chunked_array([pa.array(texts, pa.string())]), bad


def _text(
    column: pa.ChunkedArray,
    *,
    name: str = "",
    source: str = "",
    counts: Counter[str] | None = None,
) -> pa.ChunkedArray:
    """Any column as text with blanks as null (an integer id, a YYYYMMDD number).

    Numbers are read by ``whole_number_text`` (fractions and infinities are null and
    counted in ``counts`` under ``name``); text written as a whole float
    (``9434765919.0``) loses its ``.0`` too.
    """
    kind = column.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_struct(kind):
        raise InputError(
            f"{source}: column {name!r} holds lists or records, not one value per row; "
            "declare a column of text, numbers or dates"
        )
    if not pa.types.is_string(kind) and not pa.types.is_large_string(kind):
        column, bad = whole_number_text(column)
        if bad and counts is not None:
            counts[name] += len(bad)
    trimmed = pc.utf8_trim_whitespace(column)
    trimmed = pc.replace_substring_regex(trimmed, _WHOLE_FLOAT_TEXT, r"\1")
    return pc.if_else(pc.equal(trimmed, ""), None, trimmed)


def _date_or_none(parse: Callable[[object], dt.date], value: object) -> dt.date | None:
    try:
        return parse(value)
    except UnparseableDate:
        return None


def _dates(
    values: pa.ChunkedArray, formats: tuple[str, ...], counts: Counter[str], column: str
) -> pa.Array:
    if pa.types.is_timestamp(values.type) or pa.types.is_date(values.type):
        return pc.cast(values, pa.date32())
    parse = date_parser(formats)
    if pa.types.is_floating(values.type) or pa.types.is_decimal(values.type):
        # The parser reads numbers itself: YYYYMMDD, or an Excel serial with a time of day.
        rows: list[object] = [
            None if value is None or value != value else value  # NaN: missing
            for value in values.to_pylist()
        ]
    else:
        rows = _text(values).to_pylist()
    parsed = {value: _date_or_none(parse, value) for value in set(rows) if value is not None}
    counts[column] += sum(1 for value in rows if value is not None and parsed[value] is None)
    return pa.array([parsed[value] if value is not None else None for value in rows], pa.date32())


def _joined(columns: list[tuple[str, pa.ChunkedArray]], counts: Counter[str]) -> pa.ChunkedArray:
    texts = [pc.fill_null(_text(column, name=name, counts=counts), "") for name, column in columns]
    joined = pc.binary_join_element_wise(*texts, " ")
    joined = pc.utf8_trim_whitespace(pc.replace_substring_regex(joined, r"\s+", " "))
    return pc.if_else(pc.equal(joined, ""), None, joined)


NameParts = tuple[str | None, str | None, str | None]


def split_full_name(value: str | None, order: str = "given_first") -> NameParts:
    """A whole name as (given name, middle names, family name).

    Titles and suffixes go first (``Dr John Smith Jr`` is John Smith). A comma says
    where the family name ends, whatever ``order`` says: ``Smith, John Paul`` and
    ``van der Berg, Anna``. Otherwise the first word is the given name and the last the
    family name (``order: family_first``: the first word is the family name).
    """
    if not value:
        return None, None, None
    if "," in value:
        family_part, _, given_part = value.partition(",")
        family_words = title_free_words(family_part)
        given_words = title_free_words(given_part.replace(",", " "))
        if family_words and given_words:
            return given_words[0], " ".join(given_words[1:]) or None, " ".join(family_words)
    words = title_free_words(value.replace(",", " "))
    if order == "family_first":
        words = words[1:] + words[:1]
    if not words:
        return None, None, None
    return words[0], " ".join(words[1:-1]) or None, words[-1] if len(words) > 1 else None


def _split_names(
    values: pa.ChunkedArray, order: str, counts: Counter[str], column: str
) -> tuple[list[str | None], list[str | None], list[str | None]]:
    texts = _text(values, name=column, counts=counts).to_pylist()
    parts = [split_full_name(value, order) for value in texts]
    given, middle, family = (
        (list(column) for column in zip(*parts, strict=True)) if parts else ([], [], [])
    )
    return given, middle, family


def declared_table(
    table: pa.Table,
    identifiers: Mapping[str, IdentifierDeclaration],
    *,
    source: str,
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS,
) -> DeclaredTable:
    """The canonical table for ``table`` under ``identifiers`` (see the module docstring)."""
    by_key = {column_key(name): name for name in table.column_names}
    problems: list[str] = []
    found: dict[str, str] = {}
    for column in identifiers:
        name = by_key.get(column_key(column))
        if name is None:
            problems.append(repr(column))
        else:
            found[column] = name
    if problems:
        # The header is not listed: a file without one would print its first record.
        raise InputError(
            f"{source}: the spec declares identifier column(s) {', '.join(problems)} that the "
            f"file's header ({table.num_columns} columns) does not have; check the header "
            "row and the spellings (compared trimmed and case-folded)"
        )
    clashes = declaration_clashes(identifiers)
    if clashes:
        raise InputError(f"{source}: {'; '.join(clashes)}")
    counts: Counter[str] = Counter()
    built: dict[str, pa.Array | pa.ChunkedArray] = {}
    # Repeatable types: address lines and middle names joined in spec order, the
    # items of alias and other-date columns listed together.
    word_parts: dict[str, list[tuple[str, pa.ChunkedArray]]] = {}
    list_parts: dict[str, list[list[object] | None]] = {}
    alias_parts: list[list[str | None]] = []
    for column, declaration in identifiers.items():
        values = table.column(found[column])
        target = declaration.canonical
        if declaration.type in ("address_line", "middle_name"):
            word_parts.setdefault(target, []).append((column, values))
        elif declaration.type == "full_name":
            given, middle, family = _split_names(values, declaration.order, counts, column)
            built["forename"] = pa.array(given, pa.string())
            built["middle_name"] = pa.array(middle, pa.string())
            built["surname"] = pa.array(family, pa.string())
        elif declaration.type == "date_of_birth":
            built[target] = _dates(values, declaration.format or date_formats, counts, column)
        elif declaration.type == "other_date_of_birth":
            formats = declaration.format or date_formats
            dates = _date_lists(values, formats, counts, column).to_pylist()
            earlier = list_parts.setdefault(target, [None] * table.num_rows)
            list_parts[target] = [
                [*(before or []), *(now or [])] or None
                for before, now in zip(earlier, dates, strict=True)
            ]
        elif declaration.type == "aliases":
            texts = _text(values, name=column, source=source, counts=counts)
            alias_parts.append(texts.to_pylist())
        elif declaration.type == "category":
            continue  # an attribute: the column stays as it is
        else:
            built[target] = _text(values, name=column, source=source, counts=counts)
    for target, parts in word_parts.items():
        built[target] = _joined(parts, counts)
    for target, rows in list_parts.items():
        built[target] = pa.array(rows, pa.list_(pa.date32()))
    if alias_parts:
        built["aliases"] = pa.array(
            [
                ";".join(part for part in row if part) or None
                for row in zip(*alias_parts, strict=True)
            ],
            pa.string(),
        )
    consumed = {
        found[column]
        for column, declaration in identifiers.items()
        if declaration.type != "category"
    }
    kept = [name for name in table.column_names if name not in consumed and name not in built]
    columns = {name: table.column(name) for name in kept}
    columns.update(built)
    return DeclaredTable(pa.table(columns), {name: count for name, count in counts.items()})


def _date_lists(
    values: pa.ChunkedArray, formats: tuple[str, ...], counts: Counter[str], column: str
) -> pa.Array:
    parse = date_parser(formats)
    rows: list[list[dt.date] | None] = []
    for value in _text(values, name=column, counts=counts).to_pylist():
        if value is None:
            rows.append(None)
            continue
        dates: list[dt.date] = []
        for item in (part.strip() for part in value.split(";")):
            found = _date_or_none(parse, item) if item else None
            if found is not None:
                dates.append(found)
            elif item:
                counts[column] += 1
        rows.append(dates or None)
    return pa.array(rows, pa.list_(pa.date32()))
