"""Read and check a canonical extract (the output of ``trelink prepare``) for tokenising.

Accepts Parquet, or CSV in UTF-8 (with or without a byte-order mark) or cp1252. In CSV,
``dob`` is ``YYYY-MM-DD`` or ``DD/MM/YYYY``; ``dob_alt`` holds dates separated by ``;``;
``aliases`` holds ``forename|surname`` pairs separated by ``;``. A column mapping
(``columns:`` in the pseudonymise spec) renames source columns to canonical ones first.

Two kinds of table are recognised:

* an **identity** table has identifier columns; ``record_id``, ``forename``,
  ``surname`` and ``dob`` are required and ``record_id`` must be unique (checked
  while tokenising, where the ids are encoded anyway);
* an **event** table (ICTG monthly and contact rows) has ``record_id`` and no
  identifier column at all; ``record_id`` repeats, and rows join back to the identity
  table through the record pid.

Problems raise ``InputError`` naming the file and, where there is one, the row (as
the line number in a CSV, counting the header as line 1) and the column; never the
value found there.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import get_args

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pseudonymise.errors import InputError
from specs.dataset import Role

__all__ = [
    "IDENTIFIER_COLUMNS",
    "REQUIRED_IDENTITY_COLUMNS",
    "CanonicalTable",
    "check_canonical",
    "duplicate_record_ids",
    "read_canonical",
]

# The identifier roles of the dataset spec (the canonical contract), except the record
# id itself and sex, which stays as a low-risk attribute.
IDENTIFIER_COLUMNS: tuple[str, ...] = tuple(
    role for role in get_args(Role) if role not in ("record_id", "sex", "attribute")
)
REQUIRED_IDENTITY_COLUMNS: tuple[str, ...] = ("record_id", "forename", "surname", "dob")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
_ALIAS_TYPE = pa.list_(pa.struct([("forename", pa.string()), ("surname", pa.string())]))


class CanonicalTable:
    """A checked canonical table, with where it came from and how it was decoded."""

    def __init__(self, table: pa.Table, *, source: str, encoding: str | None) -> None:
        self.table = table
        self.source = source
        self.encoding = encoding

    @property
    def is_events(self) -> bool:
        return not any(column in self.table.column_names for column in IDENTIFIER_COLUMNS)


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(
            f"{path}: line {line}: bytes that are neither UTF-8 nor cp1252; "
            "re-save the file as UTF-8"
        ) from None


def _read_csv(path: Path) -> tuple[pa.Table, str]:
    text, encoding = _decode(path, path.read_bytes())
    if not text.strip():
        raise InputError(f"{path}: the file is empty")
    header = next(csv.reader(io.StringIO(text.partition("\n")[0])))
    try:
        # Every column is read as text, so identifiers keep leading zeros and parsing
        # below can name a bad cell.
        table = pa_csv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header}, strings_can_be_null=True
            ),
        )
    except pa.ArrowInvalid:
        # Arrow's message quotes the offending row; find its line number instead.
        raise InputError(f"{path}: {_misshapen_line(text, len(header))}") from None
    return table, encoding


def _misshapen_line(text: str, width: int) -> str:
    reader = csv.reader(io.StringIO(text))
    for fields in reader:
        if len(fields) != width:
            return f"line {reader.line_num}: {len(fields)} fields where the header has {width}"
    return "not a well-formed CSV file"


def _parse_date(path: Path, column: str, line: int, text: str) -> dt.date:
    for date_format in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text.strip(), date_format).date()
        except ValueError:
            continue
    raise InputError(
        f"{path}: line {line}, column {column!r}: not a date (expected YYYY-MM-DD or DD/MM/YYYY)"
    )


def _date_column(path: Path, column: str, values: pa.ChunkedArray) -> pa.Array:
    distinct = pc.unique(values).to_pylist()
    parsed: dict[str, dt.date] = {}
    for text in distinct:
        if text is None or not text.strip():
            continue
        try:
            parsed[text] = _parse_date(path, column, 0, text)
        except InputError:
            first_bad = values.to_pylist().index(text)
            _parse_date(path, column, first_bad + 2, text)
    return pa.array(
        [parsed.get(text) if text else None for text in values.to_pylist()], pa.date32()
    )


def _split_list(text: str | None) -> list[str] | None:
    if text is None or not text.strip():
        return None
    return [item.strip() for item in text.split(";") if item.strip()]


def _text_lists(path: Path, table: pa.Table) -> pa.Table:
    if "dob_alt" in table.column_names and pa.types.is_string(table.schema.field("dob_alt").type):
        rows: list[list[dt.date] | None] = []
        for index, text in enumerate(table.column("dob_alt").to_pylist()):
            items = _split_list(text)
            rows.append(
                None
                if items is None
                else [_parse_date(path, "dob_alt", index + 2, item) for item in items]
            )
        table = table.set_column(
            table.column_names.index("dob_alt"), "dob_alt", pa.array(rows, pa.list_(pa.date32()))
        )
    if "aliases" in table.column_names and pa.types.is_string(table.schema.field("aliases").type):
        aliases: list[list[dict[str, str | None]] | None] = []
        for text in table.column("aliases").to_pylist():
            items = _split_list(text)
            aliases.append(
                None
                if items is None
                else [
                    {"forename": pair.partition("|")[0], "surname": pair.partition("|")[2] or None}
                    for pair in items
                ]
            )
        table = table.set_column(
            table.column_names.index("aliases"), "aliases", pa.array(aliases, _ALIAS_TYPE)
        )
    return table


def read_canonical(
    path: str | os.PathLike[str], *, columns: Mapping[str, str] | None = None
) -> CanonicalTable:
    """Read a CSV or Parquet canonical extract and check it (see the module docstring).

    ``columns`` maps canonical names to the names used in the file.
    """
    source = Path(path)
    if not source.is_file():
        raise InputError(f"{source}: file not found")
    encoding: str | None = None
    if source.suffix.lower() in (".parquet", ".pq"):
        try:
            table = pq.read_table(source)
        except (pa.ArrowException, OSError):
            raise InputError(f"{source}: not a readable Parquet file") from None
    elif source.suffix.lower() in (".csv", ".txt"):
        table, encoding = _read_csv(source)
    else:
        raise InputError(f"{source}: unknown file type; give a .csv or .parquet file")
    if columns:
        missing = sorted(name for name in columns.values() if name not in table.column_names)
        if missing:
            raise InputError(
                f"{source}: the column mapping names columns not in the file: {missing}"
            )
        renames = {original: canonical for canonical, original in columns.items()}
        table = table.rename_columns([renames.get(name, name) for name in table.column_names])
    if "dob" in table.column_names and pa.types.is_string(table.schema.field("dob").type):
        table = table.set_column(
            table.column_names.index("dob"), "dob", _date_column(source, "dob", table.column("dob"))
        )
    table = _text_lists(source, table)
    return check_canonical(table, source=str(source), encoding=encoding)


def check_canonical(
    table: pa.Table, *, source: str = "<table>", encoding: str | None = None
) -> CanonicalTable:
    """Check required columns, types and unique record ids of an in-memory table."""
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
    if record_ids.null_count:
        first = record_ids.is_null().to_pylist().index(True)
        raise InputError(f"{source}: row {first + 1}, column 'record_id': missing record id")
    if not pa.types.is_string(record_ids.type):
        position = table.column_names.index("record_id")
        table = table.set_column(position, "record_id", pc.cast(record_ids, pa.string()))
    if not canonical.is_events:
        dob_type = table.schema.field("dob").type
        if pa.types.is_timestamp(dob_type):
            table = table.set_column(
                table.column_names.index("dob"), "dob", pc.cast(table.column("dob"), pa.date32())
            )
        elif not pa.types.is_date(dob_type):
            raise InputError(f"{source}: column 'dob' must hold dates, found {dob_type}")
    return CanonicalTable(table, source=source, encoding=encoding)


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
