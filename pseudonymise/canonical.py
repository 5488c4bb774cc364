"""Read and check a canonical extract (the output of ``trelink prepare``) for tokenising.

Accepts Parquet, or CSV in UTF-8 (with or without a byte-order mark), cp1252, UTF-16 or
UTF-32 (see ``pseudonymise.textfile``), with any line ending. In CSV, ``dob_alt`` holds
dates separated by ``;`` and ``aliases`` holds ``forename|surname`` pairs separated by
``;``. Headers are compared trimmed and case-folded: ``" DOB "`` is ``dob``. A column
mapping (``columns:`` in the pseudonymise spec) renames source columns to canonical
ones first, matched the same way, and so is every other column the spec names
(``ColumnNames``): the columns the file lacks, under whichever keys, are refused in one
error naming the spec file and each key (``SpecProblems``).

Values that do not fit their column become null and are counted per column, never a
reason to refuse the file:

* ``dob`` and ``dob_alt`` are read by the spec's ``date_formats`` (default
  ``YYYY-MM-DD`` then ``DD/MM/YYYY``), as text, whole numbers (``20010423``) or dates;
* a column named in the spec's ``values`` keeps only the codes it lists (each spelling
  compared trimmed and case-folded), so ``Female``, ``f`` and ``2`` can all become ``F``;
* an identifier held as a number (a float or decimal Parquet column) is read as the
  whole number it holds; a fraction is nulled and counted, NaN is missing;
* NUL characters are removed from text and the values counted.

``CanonicalTable.problems`` lists each count with the first place it occurs.

Two kinds of table are recognised:

* an **identity** table has identifier columns; ``record_id``, ``forename``,
  ``surname`` and ``dob`` are required and ``record_id`` must be unique (checked
  while tokenising, where the ids are encoded anyway);
* an **event** table (ICTG monthly and contact rows) has ``record_id`` and no
  identifier column at all; ``record_id`` repeats, and rows join back to the identity
  table through the record pid.

What cannot be read at all (an undecodable or misshapen file, duplicated or missing
columns, a missing record id) raises ``InputError`` naming the file and, where there
is one, the place: ``line N`` in a CSV (the header is line 1), ``row N`` in Parquet
(the first row is row 1), and the column; never the value found there.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pseudonymise.dates import DEFAULT_DATE_FORMATS, UnparseableDate, date_parser
from pseudonymise.declarations import (
    IdentifierDeclaration,
    column_key,
    declared_table,
    whole_number_text,
)
from pseudonymise.errors import InputError
from pseudonymise.textfile import (
    FIELD_LIMIT,
    CsvText,
    UnreadableText,
    decode_text,
    other_separator,
    visible_label,
)
from trelink.specs.identifier_types import IDENTITY_ROLES

__all__ = [
    "IDENTIFIER_COLUMNS",
    "REQUIRED_IDENTITY_COLUMNS",
    "AttributeColumns",
    "AttributeLists",
    "CanonicalTable",
    "ColumnNames",
    "ReadProblem",
    "SpecProblems",
    "attribute_columns",
    "check_canonical",
    "duplicate_record_ids",
    "read_canonical",
]

# The identity table's columns (the registry of identifier types), except the record
# id itself and sex, which stays as a low-risk attribute.
IDENTIFIER_COLUMNS: tuple[str, ...] = tuple(
    role for role in IDENTITY_ROLES if role not in ("record_id", "sex")
)
REQUIRED_IDENTITY_COLUMNS: tuple[str, ...] = ("record_id", "forename", "surname", "dob")
# Headers matching these names (trimmed, case-folded) are given the canonical spelling.
_CANONICAL_NAMES: tuple[str, ...] = ("record_id", *IDENTIFIER_COLUMNS, "sex")
_ALIAS_TYPE = pa.list_(pa.struct([("forename", pa.string()), ("surname", pa.string())]))
_PARQUET_SUFFIXES = (".parquet", ".pq")
_CSV_SUFFIXES = (".csv", ".txt")


@dataclass(frozen=True)
class ReadProblem:
    """Values of one column that were nulled (or cleaned) on reading: never the values."""

    column: str
    problem: str
    count: int
    first_at: str | None  # "line 4" in a CSV, "row 3" in Parquet
    nulled: bool = True

    def describe(self, rows: int) -> str:
        outcome = "they became null" if self.nulled else "those characters were removed"
        text = f"column {self.column!r}: {self.count:,} value(s) {self.problem}; {outcome}"
        if self.first_at is not None:
            text += f" (first at {self.first_at})"
        if self.nulled and self.count * 2 > rows:
            text += "; that is most of the column: check date_formats, values or the file"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "column": self.column,
            "problem": self.problem,
            "count": self.count,
            "first_at": self.first_at,
            "nulled": self.nulled,
        }


class CanonicalTable:
    """A checked canonical table, with where it came from and how it was decoded."""

    def __init__(
        self,
        table: pa.Table,
        *,
        source: str,
        encoding: str | None,
        problems: tuple[ReadProblem, ...] = (),
        names: ColumnNames | None = None,
    ) -> None:
        self.table = table
        self.source = source
        self.encoding = encoding
        self.problems = problems
        # How the spec's column names find this table's columns.
        self.names = names if names is not None else ColumnNames(table.column_names)

    @property
    def is_events(self) -> bool:
        return not any(column in self.table.column_names for column in IDENTIFIER_COLUMNS)

    @property
    def empty_identifiers(self) -> list[str]:
        """Identifier columns with no value in any row: no record can link on them, which
        is almost always the wrong column declared or an export that lost it."""
        table = self.table
        return [
            name
            for name in IDENTIFIER_COLUMNS
            if name in table.column_names and table.column(name).null_count == table.num_rows
        ]

    @property
    def invalid(self) -> dict[str, int]:
        """Values that became null on reading, per column."""
        counts: dict[str, int] = {}
        for problem in self.problems:
            if problem.nulled:
                counts[problem.column] = counts.get(problem.column, 0) + problem.count
        return counts


# ----------------------------------------------------------------------------- places


class _Places:
    """How a row index is named in messages: a CSV line (header = 1) or a Parquet row.

    A CSV read by Arrow's fast reader has its record lines counted only when a message
    needs one.
    """

    def __init__(self, lines: tuple[int, ...] | None = None, *, text: str = "") -> None:
        self._lines = lines
        self._text = text

    def __call__(self, index: int) -> str:
        if self._lines is None and self._text:
            self._lines = tuple(line for line, _ in _records("", CsvText(self._text)))
        if self._lines is None:
            return f"row {index + 1}"
        return f"line {self._lines[index]}"


# ----------------------------------------------------------------------------- reading


def _records(source: str, reader: CsvText) -> Iterator[tuple[int, list[str]]]:
    """The data records of a CSV and their first lines; misshapen lines refused."""
    width = len(reader.header or [])
    for record in reader.records():
        fields = record.fields
        if fields is None:
            raise InputError(f"{source}: line {record.line}: cannot be split into fields")
        if len(fields) != width:
            if not any(field.strip() for field in fields):
                continue  # a blank line (often the last) holds no record
            raise InputError(
                f"{source}: line {record.line}: {len(fields)} fields where the header has {width}"
            )
        yield record.line, fields


def _fast_csv(text: str, width: int) -> pa.Table | None:
    """Arrow's multi-threaded reader for a well-formed file; None sends it to ``_records``.

    Every column is read as text, so identifiers keep leading zeros and parsing below
    can name a bad cell; blank cells are null, as ``_records`` makes them.
    """
    names = [f"column_{position}" for position in range(width)]
    try:
        table = pa_csv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except pa.ArrowException:
        return None
    if table.num_columns != width or any(
        (pc.max(pc.utf8_length(column)).as_py() or 0) > FIELD_LIMIT for column in table.columns
    ):
        return None  # the careful reader names the field that is too long
    blank = [pc.equal(pc.utf8_trim_whitespace(column), "") for column in table.columns]
    return pa.Table.from_arrays(
        [
            pc.if_else(is_blank, pa.scalar(None, pa.string()), column)
            for column, is_blank in zip(table.columns, blank, strict=True)
        ],
        names=names,
    )


def _read_csv(source: Path, data: bytes) -> tuple[pa.Table, str, _Places]:
    try:
        text, encoding = decode_text(data)
    except UnreadableText as error:
        raise InputError(f"{source}: {error}") from None
    if not text.strip():
        raise InputError(f"{source}: the file is empty")
    try:
        reader = CsvText(text)
        header = reader.header or []
        if not any(label.strip() for label in header):
            raise InputError(f"{source}: line 1: the header is empty; it must name the columns")
        separator = other_separator(header)
        if separator is not None:
            raise InputError(
                f"{source}: line 1: the header is one column of text separated by "
                f"{separator}; save the file with commas between columns"
            )
        names = _header_names(header)
        # A header over several lines (a quoted line break) is left to the careful reader.
        fast = _fast_csv(text, len(header)) if reader.lines_read == 1 else None
        if fast is not None:
            return fast.rename_columns(names), encoding, _Places(text=text)
        columns: list[list[str | None]] = [[] for _ in header]
        lines: list[int] = []
        for line, fields in _records(str(source), reader):
            lines.append(line)
            for values, field in zip(columns, fields, strict=True):
                values.append(field if field.strip() else None)
    except UnreadableText as error:
        raise InputError(f"{source}: {error}") from None
    table = pa.Table.from_arrays([pa.array(values, pa.string()) for values in columns], names=names)
    return table, encoding, _Places(tuple(lines))


def _header_names(labels: list[str]) -> list[str]:
    # A spreadsheet export often ends its header with empty cells: name, don't refuse.
    # NUL, byte-order marks and zero-width characters are dropped (``visible_label``).
    return [
        visible_label(label).strip() or f"column_{position + 1}"
        for position, label in enumerate(labels)
    ]


def _read_source(source: Path) -> tuple[pa.Table, str | None, _Places]:
    if source.is_dir():
        raise InputError(f"{source}: is a directory; give the .csv or .parquet file itself")
    if not source.exists():
        raise InputError(f"{source}: file not found")
    suffix = source.suffix.lower()
    if suffix not in (*_PARQUET_SUFFIXES, *_CSV_SUFFIXES):
        raise InputError(f"{source}: unknown file type; give a .csv or .parquet file")
    if suffix in _PARQUET_SUFFIXES:
        try:
            table = pq.read_table(source)
        except (pa.ArrowException, OSError):
            raise InputError(f"{source}: not a readable Parquet file") from None
        return table.rename_columns(_header_names(table.column_names)), None, _Places()
    try:
        data = source.read_bytes()
    except OSError as error:
        raise InputError(f"{source}: cannot be read ({error.strerror})") from None
    return _read_csv(source, data)


_key = column_key


class ColumnNames:
    """Which column of a canonical table a name in the pseudonymise spec refers to.

    A spec may name a column as the file's header writes it (``Gender``, ``Date of
    Birth``) or by the canonical name it became (``sex``, ``dob``); both are compared
    trimmed and case-folded, as headers are (``column_key``).
    """

    def __init__(self, columns: Iterable[str], earlier: Mapping[str, str] | None = None) -> None:
        self._by_key = {_key(name): target for name, target in (earlier or {}).items()}
        self._by_key.update({_key(name): name for name in columns})

    def find(self, reference: str) -> str | None:
        """The table's column ``reference`` names, or None."""
        return self._by_key.get(_key(reference))

    def resolve(
        self, key: str, references: Iterable[str], *, required: bool, problems: list[str]
    ) -> list[str]:
        """The columns ``references`` name (the spec's ``key``), each once; a missing
        one is added to ``problems`` when ``required``."""
        found: list[str] = []
        for reference in references:
            name = self.find(reference)
            if name is None and required:
                problems.append(f"{key}: {reference!r}")
            elif name is not None and name not in found:
                found.append(name)
        return found


class SpecProblems:
    """What the pseudonymise spec asks of a file that the file cannot give, gathered
    over every key (``columns``, ``identifiers``, ``values``, ``drop``, ``owner_ids``,
    ``quasi_identifiers``) so that one error lists them all."""

    def __init__(self) -> None:
        self.missing: list[str] = []  # "key: name" of columns the file does not have
        self.other: list[str] = []  # whole sentences, each starting with its key

    def __bool__(self) -> bool:
        return bool(self.missing or self.other)

    def error(self, spec_source: str | None, data_source: str) -> InputError:
        """One error listing every problem, naming the spec file and each key (never
        the header, which in a file without one is its first record)."""
        spec = spec_source or "the pseudonymise spec"
        items = [f"{missing}: no such column in {data_source}" for missing in self.missing]
        items.extend(self.other)
        advice = (
            "names are compared trimmed and case-folded, as the file's header or as the "
            "canonical column it became; correct the spelling or remove the entry"
        )
        if len(items) == 1:
            return InputError(f"{spec}: {items[0]}" + (f" ({advice})" if self.missing else ""))
        listing = "\n".join(f"  - {item}" for item in items)
        ending = f"\n{advice[0].upper()}{advice[1:]}." if self.missing else ""
        return InputError(f"{spec}: {len(items)} problems:\n{listing}{ending}")


# Columns that never travel in attributes.parquet: the record id and the identifiers.
_NON_ATTRIBUTES = frozenset({"record_id", *IDENTIFIER_COLUMNS})


@dataclass(frozen=True)
class AttributeLists:
    """The spec's lists of attribute columns as written: ``drop`` (never leaves the
    owner), ``owner_ids`` (keyed under the owner's key) and ``quasi_identifiers`` (the
    risk report's). A list named in ``given`` was written in the spec, so each column
    it names must exist; a default names usual columns that a file may lack."""

    drop: tuple[str, ...] = ()
    owner_ids: tuple[str, ...] = ()
    quasi_identifiers: tuple[str, ...] = ()
    given: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AttributeColumns:
    """The columns ``AttributeLists`` name, as the table calls them."""

    released: tuple[str, ...]  # every attribute that travels (not an identifier, not dropped)
    dropped: tuple[str, ...]
    owner_ids: tuple[str, ...]  # those released
    quasi_identifiers: tuple[str, ...]  # those released


def attribute_columns(
    names: ColumnNames, columns: Iterable[str], lists: AttributeLists, problems: SpecProblems
) -> AttributeColumns:
    """The columns of a table (``columns``, found by ``names``) that ``lists`` name. A
    name the table lacks is added to ``problems`` where the spec gave it (a typo in
    ``drop`` would ship the column), not where a default names a usual column; so is a
    quasi-identifier the spec gave that does not travel."""
    dropped = names.resolve("drop", lists.drop, required=True, problems=problems.missing)
    released = [name for name in columns if name not in _NON_ATTRIBUTES and name not in dropped]
    owner_ids = names.resolve(
        "owner_ids",
        lists.owner_ids,
        required="owner_ids" in lists.given,
        problems=problems.missing,
    )
    quasi = names.resolve(
        "quasi_identifiers",
        lists.quasi_identifiers,
        required="quasi_identifiers" in lists.given,
        problems=problems.missing,
    )
    withheld = [name for name in quasi if name not in released]
    if withheld and "quasi_identifiers" in lists.given:
        problems.other.append(
            f"quasi_identifiers: {withheld} are not released attributes (identifiers or "
            "dropped columns); list only columns that travel in attributes.parquet"
        )
    return AttributeColumns(
        released=tuple(released),
        dropped=tuple(dropped),
        owner_ids=tuple(name for name in owner_ids if name in released),
        quasi_identifiers=tuple(name for name in quasi if name in released),
    )


def _canonical_names(
    source: Path,
    names: list[str],
    columns: Mapping[str, str],
    *,
    parquet: bool,
    problems: SpecProblems,
) -> list[str]:
    """The names after the mapping; duplicates refused, unknown mapped columns added to
    ``problems``."""
    where = "" if parquet else "line 1: "
    first: dict[str, int] = {}
    for position, name in enumerate(names):
        earlier = first.setdefault(_key(name), position)
        if earlier != position:
            first_name, this_name = names[earlier].strip(), name.strip()
            same = (
                f"are both named {this_name!r}"
                if first_name == this_name
                else f"({first_name!r} and {this_name!r}) have the same name once trimmed "
                "and case-folded"
            )
            raise InputError(
                f"{source}: {where}columns {earlier + 1} and {position + 1} {same}; rename "
                "or remove one"
            )
    problems.missing.extend(
        f"columns.{canonical}: {original!r}"
        for canonical, original in columns.items()
        if _key(original) not in first
    )
    canonical_keys = {_key(name): name for name in _CANONICAL_NAMES}
    # `columns: {DOB: birth_date}` names the canonical dob as a header would.
    renamed = {
        _key(original): canonical_keys.get(_key(canonical), canonical)
        for canonical, original in columns.items()
    }
    result = [
        renamed.get(_key(name), canonical_keys.get(_key(name), name.strip())) for name in names
    ]
    seen: dict[str, int] = {}
    for position, name in enumerate(result):
        earlier = seen.setdefault(name, position)
        if earlier != position:
            raise InputError(
                f"{source}: {where}columns {earlier + 1} ({names[earlier].strip()!r}) and "
                f"{position + 1} ({names[position].strip()!r}) would both be {name!r}; "
                "map only one of them in `columns:`"
            )
    return result


# ----------------------------------------------------------------------------- values


class _Problems:
    """Collects ``ReadProblem``s while columns are converted."""

    def __init__(self, places: _Places) -> None:
        self.places = places
        self.found: list[ReadProblem] = []

    def note(self, column: str, problem: str, rows: list[int], *, nulled: bool = True) -> None:
        """Count ``rows`` (indices, in order) as holding ``problem`` in ``column``."""
        if rows:
            self.found.append(ReadProblem(column, problem, len(rows), self.places(rows[0]), nulled))


def _cell_text(value: object) -> str:
    # Whole numbers as Excel and typed columns store them: 2.0 is the code "2".
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _convert_distinct(
    values: pa.ChunkedArray | pa.Array,
    convert: Callable[[object], object],
    result_type: pa.DataType,
) -> tuple[pa.Array, list[int]]:
    """``convert`` each distinct value once; return the column and rows that failed."""
    distinct = pc.unique(values)
    converted: list[object] = []
    failed: set[int] = set()
    for position, value in enumerate(distinct.to_pylist()):
        if value is None or (isinstance(value, str) and not value.strip()):
            converted.append(None)
            continue
        try:
            converted.append(convert(value))
        except ValueError:
            converted.append(None)
            failed.add(position)
    indices = pc.index_in(values, value_set=distinct)
    column = pa.array(converted, result_type).take(indices)
    bad: list[int] = []
    if failed:
        codes = indices.to_numpy(zero_copy_only=False)
        bad = [row for row, code in enumerate(codes.tolist()) if code in failed]
    return column, bad


def _dates(table: pa.Table, formats: tuple[str, ...], problems: _Problems) -> pa.Table:
    if "dob" not in table.column_names:
        return table
    position = table.column_names.index("dob")
    dob = table.column("dob")
    if pa.types.is_date(dob.type):
        return table
    if pa.types.is_timestamp(dob.type):
        return table.set_column(position, "dob", pc.cast(dob, pa.date32()))
    column, bad = _convert_distinct(dob, date_parser(formats), pa.date32())
    problems.note("dob", "not a date in the formats " + ", ".join(formats), bad)
    return table.set_column(position, "dob", column)


def _items(value: object) -> list[object]:
    if isinstance(value, list):
        return value
    return [item.strip() for item in str(value).split(";") if item.strip()]


def _date_lists(table: pa.Table, formats: tuple[str, ...], problems: _Problems) -> pa.Table:
    if "dob_alt" not in table.column_names:
        return table
    column = table.column("dob_alt")
    if pa.types.is_list(column.type) and pa.types.is_date(column.type.value_type):
        return table
    parse = date_parser(formats)
    rows: list[list[dt.date] | None] = []
    bad: list[int] = []
    for index, value in enumerate(column.to_pylist()):
        dates: list[dt.date] = []
        for item in _items(value) if value is not None else []:
            try:
                dates.append(parse(item))
            except UnparseableDate:
                if not bad or bad[-1] != index:
                    bad.append(index)
        rows.append(dates or None)
    problems.note("dob_alt", "held a date not in the formats " + ", ".join(formats), bad)
    return table.set_column(
        table.column_names.index("dob_alt"), "dob_alt", pa.array(rows, pa.list_(pa.date32()))
    )


def _aliases(table: pa.Table) -> pa.Table:
    if "aliases" not in table.column_names or not pa.types.is_string(
        table.schema.field("aliases").type
    ):
        return table
    aliases: list[list[dict[str, str | None]] | None] = []
    for text in table.column("aliases").to_pylist():
        items = [] if text is None else [str(item) for item in _items(text)]
        aliases.append(
            [
                {"forename": pair.partition("|")[0], "surname": pair.partition("|")[2] or None}
                for pair in items
            ]
            or None
        )
    return table.set_column(
        table.column_names.index("aliases"), "aliases", pa.array(aliases, _ALIAS_TYPE)
    )


def _recoded(
    table: pa.Table,
    values: Mapping[str, Mapping[str, tuple[str, ...]]],
    problems: _Problems,
    source: str,
) -> pa.Table:
    for name, codes in values.items():
        if not _is_scalar(table.schema.field(name).type):
            raise InputError(
                f"{source}: column {name!r} is recoded by `values:` but holds "
                f"{table.schema.field(name).type}, not single values"
            )
        lookup = {
            _key(spelling): code
            for code, spellings in codes.items()
            for spelling in (code, *spellings)
        }

        def recode(value: object, lookup: dict[str, str] = lookup) -> str:
            code = lookup.get(_key(_cell_text(value)))
            if code is None:
                raise ValueError
            return code

        column, bad = _convert_distinct(table.column(name), recode, pa.string())
        problems.note(name, "not one of the codes or spellings in `values:`", bad)
        table = table.set_column(table.column_names.index(name), name, column)
    return table


def _without_nul(table: pa.Table, problems: _Problems) -> pa.Table:
    """Remove NUL characters, which no identifier holds and C-based tools cut text at."""
    for position, field in enumerate(table.schema):
        if not pa.types.is_string(field.type) and not pa.types.is_large_string(field.type):
            continue
        column = table.column(position)
        has_nul = pc.fill_null(pc.match_substring(column, "\x00"), False)
        if not pc.any(has_nul).as_py():
            continue
        rows = has_nul.to_numpy(zero_copy_only=False).nonzero()[0].tolist()
        problems.note(field.name, "held NUL characters", rows, nulled=False)
        table = table.set_column(position, field.name, pc.replace_substring(column, "\x00", ""))
    return table


def read_canonical(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS,
    values: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None,
    identifiers: Mapping[str, IdentifierDeclaration] | None = None,
    attribute_lists: AttributeLists | None = None,
    spec_source: str | None = None,
) -> CanonicalTable:
    """Read a CSV or Parquet canonical extract and check it (see the module docstring).

    ``columns`` maps canonical names to the names used in the file; ``date_formats``,
    ``values`` and ``identifiers`` are the pseudonymise spec's keys of those names (the
    declared identifier types build the canonical columns: ``pseudonymise.declarations``),
    and ``attribute_lists`` its ``drop``, ``owner_ids`` and ``quasi_identifiers``
    (``PseudonymiseSpec.attribute_lists``). Every column these name is found as a
    header is (``ColumnNames``); the columns the file does not have, and the spec's
    other demands it cannot meet, are refused in one error naming ``spec_source`` (the
    spec file) and each key (``SpecProblems``).
    """
    source = Path(path)
    table, encoding, places = _read_source(source)
    original = table.column_names
    problems = SpecProblems()
    names = _canonical_names(
        source,
        original,
        columns or {},
        parquet=source.suffix.lower() in _PARQUET_SUFFIXES,
        problems=problems,
    )
    early = _Problems(places)
    table = _plain_types(table.rename_columns(names), str(source), early)
    declared: tuple[ReadProblem, ...] = ()
    earlier = dict(zip(original, names, strict=True))
    # Columns a declaration of a missing header would have made: named elsewhere in the
    # spec, they are not reported again.
    unmade: list[str] = []
    if identifiers:
        headers = {_key(name) for name in names}
        present = {column: item for column, item in identifiers.items() if _key(column) in headers}
        problems.missing.extend(
            f"identifiers.{column}" for column in identifiers if column not in present
        )
        unmade = [
            name
            for column, declaration in identifiers.items()
            if column not in present
            for name in declaration.filled
        ]
        built = declared_table(table, present, source=str(source), date_formats=date_formats)
        table = built.table
        declared = tuple(
            ReadProblem(column, "not valid for the declared type", count, None)
            for column, count in built.invalid.items()
            if count
        )
        earlier.update(
            {
                column: declaration.filled[0]
                for column, declaration in identifiers.items()
                if declaration.filled
            }
        )
    column_names = ColumnNames([*table.column_names, *unmade], earlier)
    resolved_values = _resolved_values(values or {}, column_names, problems)
    if attribute_lists is not None:
        attribute_columns(column_names, table.column_names, attribute_lists, problems)
    if problems:
        raise problems.error(spec_source, str(source))
    return _harmonised(
        table,
        source=str(source),
        encoding=encoding,
        places=places,
        date_formats=date_formats,
        values=resolved_values,
        earlier=(*early.found, *declared),
        names=column_names,
    )


def _resolved_values(
    values: Mapping[str, Mapping[str, tuple[str, ...]]],
    names: ColumnNames,
    problems: SpecProblems,
) -> dict[str, Mapping[str, tuple[str, ...]]]:
    """``values`` keyed by the table's own column names; unknown columns, identifier
    columns (named by a header declared as one) and a column given twice are added to
    ``problems``."""
    resolved: dict[str, Mapping[str, tuple[str, ...]]] = {}
    by: dict[str, str] = {}
    for reference, codes in values.items():
        name = names.find(reference)
        if name is None:
            problems.missing.append(f"values.{reference}")
        elif name in by:
            problems.other.append(
                f"values.{by[name]} and values.{reference} both recode the column {name!r}; "
                "give its codes once"
            )
        elif name in IDENTIFIER_COLUMNS or name == "record_id":
            problems.other.append(
                f"values.{reference}: the column is the identifier {name!r}; identifiers "
                "cannot be recoded"
            )
        else:
            resolved[name] = codes
            by[name] = reference
    return resolved


def _is_scalar(data_type: pa.DataType) -> bool:
    return not (pa.types.is_nested(data_type) or pa.types.is_binary(data_type))


def _is_text_or_number(data_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_decimal(data_type)
        or pa.types.is_null(data_type)
    )


def _dob_type_ok(data_type: pa.DataType) -> bool:
    return (
        _is_text_or_number(data_type)
        or pa.types.is_date(data_type)
        or pa.types.is_timestamp(data_type)
    )


def _plain_types(table: pa.Table, source: str, problems: _Problems) -> pa.Table:
    """Dictionary columns decoded; identifier columns of a type they cannot hold refused.

    Text identifiers may arrive as numbers (an NHS number in an integer column): they
    become text by ``whole_number_text`` (NaN is missing; a fraction is nulled and
    counted in ``problems``). A list or struct where a name or date belongs is a
    different file, not a bad value, so it is refused with the column and the type found.
    """
    for position, field in enumerate(table.schema):
        column = table.column(position)
        if pa.types.is_dictionary(field.type):
            column = column.cast(field.type.value_type)
        name, data_type = field.name, column.type
        if name == "dob":
            allowed, wanted = _dob_type_ok(data_type), "dates, text or whole numbers"
            if pa.types.is_floating(data_type):  # NaN is how pandas writes a missing date
                column = pc.if_else(pc.is_nan(column), pa.scalar(None, data_type), column)
        elif name == "dob_alt":
            allowed = _dob_type_ok(data_type) or (
                pa.types.is_list(data_type) and _dob_type_ok(data_type.value_type)
            )
            wanted = "dates, or text of dates separated by ;"
        elif name == "aliases":
            allowed = pa.types.is_string(data_type) or data_type == _ALIAS_TYPE
            wanted = "text (forename|surname pairs separated by ;)"
        elif name in _CANONICAL_NAMES:
            allowed, wanted = _is_text_or_number(data_type), "text"
            if allowed and not pa.types.is_string(data_type):
                column, bad = whole_number_text(column)
                problems.note(name, "not a whole number (an identifier is no fraction)", bad)
        else:
            allowed, wanted = True, ""
        if not allowed:
            raise InputError(
                f"{source}: column {name!r} must hold {wanted}, found {data_type}; "
                "write it as text, or map another column with `columns:`"
            )
        if column is not table.column(position):
            table = table.set_column(position, name, column)
    return table


def _harmonised(
    table: pa.Table,
    *,
    source: str,
    encoding: str | None,
    places: _Places,
    date_formats: tuple[str, ...],
    values: Mapping[str, Mapping[str, tuple[str, ...]]],
    earlier: tuple[ReadProblem, ...] = (),
    names: ColumnNames | None = None,
) -> CanonicalTable:
    problems = _Problems(places)
    problems.found.extend(earlier)
    table = _plain_types(table, source, problems)
    table = _without_nul(table, problems)
    table = _dates(table, date_formats, problems)
    table = _date_lists(table, date_formats, problems)
    table = _aliases(table)
    table = _recoded(table, values, problems, source)
    checked = _checked(table, source=source, encoding=encoding, places=places, problems=problems)
    if names is not None:
        checked.names = names
    return checked


def check_canonical(
    table: pa.Table,
    *,
    source: str = "<table>",
    encoding: str | None = None,
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS,
) -> CanonicalTable:
    """Check required columns, types and record ids of an in-memory table.

    Dates held as text or numbers are read by ``date_formats``, as ``read_canonical``
    does; what does not parse becomes null and is counted in ``problems``.
    """
    return _harmonised(
        table,
        source=source,
        encoding=encoding,
        places=_Places(),
        date_formats=date_formats,
        values={},
    )


def _checked(
    table: pa.Table, *, source: str, encoding: str | None, places: _Places, problems: _Problems
) -> CanonicalTable:
    canonical = CanonicalTable(table, source=source, encoding=encoding)
    if table.num_rows == 0:
        raise InputError(f"{source}: the table has no rows")
    required = ("record_id",) if canonical.is_events else REQUIRED_IDENTITY_COLUMNS
    missing = [name for name in required if name not in table.column_names]
    if missing:
        raise InputError(
            f"{source}: missing required column(s) {missing}; an identity table needs "
            f"{list(REQUIRED_IDENTITY_COLUMNS)} (map other names with `columns:` in --spec)"
        )
    record_ids = table.column("record_id")
    if not pa.types.is_string(record_ids.type):
        try:
            record_ids = pc.cast(record_ids, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InputError(
                f"{source}: column 'record_id' must hold text or numbers, found {record_ids.type}"
            ) from None
        table = table.set_column(table.column_names.index("record_id"), "record_id", record_ids)
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(record_ids), ""), True)
    if pc.any(blank).as_py():
        first = blank.to_numpy(zero_copy_only=False).nonzero()[0][0]
        raise InputError(
            f"{source}: {places(int(first))}, column 'record_id': missing record id; every "
            "row needs one"
        )
    return CanonicalTable(table, source=source, encoding=encoding, problems=tuple(problems.found))


def duplicate_record_ids(source: str, record_ids: pa.ChunkedArray) -> InputError:
    """The error for an identity table whose record ids repeat (rows named, not values)."""
    counts = pc.value_counts(record_ids)
    duplicated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    first = duplicated[0]
    rows = [
        index + 1 for index, value in enumerate(record_ids.to_pylist()) if value == first.as_py()
    ]
    return InputError(
        f"{source}: column 'record_id': {len(duplicated)} record id(s) occur more than once "
        f"(first at rows {rows[:5]}); an identity table needs one row per record (or "
        "`unique_record_id: false` in the pseudonymise spec, for ICTG URNs)"
    )
