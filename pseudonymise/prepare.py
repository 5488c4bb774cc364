"""Prepare: read a source's messy multi-period raw files into canonical tables, by spec.

For every table of a ``DatasetSpec`` and every period, the files the period names
(CSV in UTF-8, UTF-8 with BOM or cp1252; XLSX; XLS) are read; headers are mapped to
canonical columns through the period's labels; dates (several formats, Excel serial
day numbers, real date cells), numbers, booleans and categories (case, stray spaces
and known misspellings) are harmonised. A value that cannot be parsed becomes null and
is counted; a row that cannot be read at all is listed with its file and row. Nothing
is dropped silently. Names are not normalised here: that is pseudonymisation's job.

Public entry points: ``prepare_source`` (tables + quality report in memory) and
``write_prepared`` (atomic Parquet output plus the JSON report).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pseudonymise.errors import PrepareError
from pseudonymise.quality import ColumnQuality, FileQuality, QualityReport, TableQuality
from specs.dataset import EXCEL_SERIAL, ColumnSpec, DatasetSpec, PeriodSpec, TableSpec, label_key
from trelink.atomic import atomic_directory, atomic_file

__all__ = [
    "IDENTIFIER_ORDER",
    "PreparedSource",
    "arrow_schema",
    "prepare_source",
    "source_directory",
    "write_prepared",
]

# Canonical identifier columns come first, in this order, then attributes.
IDENTIFIER_ORDER = (
    "record_id", "forename", "surname", "dob", "sex", "postcode",
    "nhs_number", "upn", "pnc_id", "aliases", "dob_alt",
)  # fmt: skip
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_TRUE = frozenset({"y", "yes", "true", "1", "t"})
_FALSE = frozenset({"n", "no", "false", "0", "f"})
_SUFFIXES = frozenset({".csv", ".xlsx", ".xls"})
_ALIAS_TYPE = pa.struct([("forename", pa.string()), ("surname", pa.string())])
_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "category": pa.string(),
    "category_list": pa.list_(pa.string()),
    "alias_list": pa.list_(_ALIAS_TYPE),
    "date_list": pa.list_(pa.date32()),
}

Cell = object  # a raw cell: str, int, float, datetime, date or None


class _Unparseable(Exception):
    """A cell's text does not fit its column's type (never carries the value)."""


@dataclass(frozen=True)
class PreparedSource:
    """Canonical tables of one source and their quality report."""

    tables: dict[str, pa.Table]
    report: QualityReport


def ordered_columns(table: TableSpec) -> list[ColumnSpec]:
    """Identifier columns in canonical order, then attributes in spec order."""
    rank = {name: index for index, name in enumerate(IDENTIFIER_ORDER)}
    identifiers = sorted(
        (c for c in table.columns if c.name in rank), key=lambda column: rank[column.name]
    )
    return identifiers + [c for c in table.columns if c.name not in rank]


def arrow_schema(table: TableSpec) -> pa.Schema:
    """The Parquet schema prepare writes for ``table``."""
    fields = [pa.field(c.name, _ARROW_TYPES[c.type]) for c in ordered_columns(table)]
    fields.append(pa.field("period", pa.string()))
    if table.groups:
        fields.append(pa.field("group", pa.string()))
    return pa.schema(fields)


# ----------------------------------------------------------------------------- reading


def _decode(path: Path, data: bytes, encoding: str) -> tuple[str, str]:
    candidates = ("utf-8-sig", "cp1252") if encoding == "auto" else (encoding,)
    for candidate in candidates:
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError as error:
            last = error
            continue
        return text.removeprefix("\ufeff"), candidate
    raise PrepareError(
        f"{path}: cannot be decoded as {' or '.join(candidates)} (byte {last.start}); "
        "save it as UTF-8 or set `encoding` for this period in the spec"
    )


def _read_csv(path: Path, encoding: str) -> tuple[list[Cell], Iterator[list[Cell]], str]:
    text, used = _decode(path, path.read_bytes(), encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header: list[Cell] = list(next(reader))
    except StopIteration:
        raise PrepareError(f"{path}: the file is empty (no header row)") from None
    except csv.Error as error:
        raise PrepareError(f"{path}: row 1: the header cannot be read ({error})") from None
    return header, _csv_rows(path, reader), used


def _csv_rows(path: Path, reader: Any) -> Iterator[list[Cell]]:
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            # A malformed line (e.g. an unterminated quote): surfaced as unreadable.
            yield [_CsvBroken()]
            continue
        yield list(row)


class _CsvBroken:
    """Marker for a CSV line the csv module could not split."""


def _read_xlsx(path: Path) -> tuple[list[Cell], Iterator[list[Cell]], None]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged file
        raise PrepareError(
            f"{path}: not a readable XLSX workbook ({type(error).__name__})"
        ) from None
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = next(rows, None)
    if header is None or all(cell is None for cell in header):
        book.close()
        raise PrepareError(f"{path}: the file is empty (no header row)")
    return list(header), (list(row) for row in rows), None


def _read_xls(path: Path) -> tuple[list[Cell], Iterator[list[Cell]], None]:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path))
    except Exception as error:  # xlrd raises its own and struct errors for damaged files
        raise PrepareError(
            f"{path}: not a readable XLS workbook ({type(error).__name__})"
        ) from None
    sheet = book.sheet_by_index(0)
    if sheet.nrows == 0:
        raise PrepareError(f"{path}: the file is empty (no header row)")

    def cell(row: int, column: int) -> Cell:
        kind = sheet.cell_type(row, column)
        value = sheet.cell_value(row, column)
        if kind == xlrd.XL_CELL_DATE:
            return xlrd.xldate_as_datetime(value, book.datemode)
        if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
            return None
        return value

    header = [cell(0, column) for column in range(sheet.ncols)]
    rows = ([cell(row, column) for column in range(sheet.ncols)] for row in range(1, sheet.nrows))
    return header, rows, None


def _read_file(path: Path, encoding: str) -> tuple[list[Cell], Iterator[list[Cell]], str | None]:
    if path.stat().st_size == 0:
        raise PrepareError(f"{path}: the file is empty (0 bytes)")
    if path.suffix.lower() == ".csv":
        return _read_csv(path, encoding)
    if path.suffix.lower() == ".xlsx":
        return _read_xlsx(path)
    return _read_xls(path)


# ----------------------------------------------------------------------------- parsing


def _is_blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Cell) -> str:
    # Workbooks store codes such as NHS numbers or sex '1' as numbers; keep them whole.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _date_parser(formats: tuple[str, ...]) -> Callable[[Cell], dt.date]:
    text_formats = [fmt for fmt in formats if fmt != EXCEL_SERIAL]
    serial = EXCEL_SERIAL in formats
    cache: dict[str, dt.date] = {}

    def from_serial(number: float) -> dt.date:
        if not serial or not 1 <= number < 2_958_466:
            raise _Unparseable
        return _EXCEL_EPOCH + dt.timedelta(days=int(number))

    def parse(value: Cell) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return from_serial(float(value))
        text = str(value).strip()
        if text in cache:
            return cache[text]
        for fmt in text_formats:
            try:
                parsed = dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
            cache[text] = parsed
            return parsed
        if serial and re.fullmatch(r"\d+(\.0+)?", text):
            return from_serial(float(text))
        raise _Unparseable

    return parse


@dataclass
class _ColumnReader:
    """Parses one canonical column's cells for one period, counting problems."""

    column: ColumnSpec
    period: PeriodSpec
    quality: ColumnQuality
    parse_date: Callable[[Cell], dt.date]
    categories: dict[str, str]
    missing_labels: frozenset[str]

    @classmethod
    def build(cls, column: ColumnSpec, period: PeriodSpec, quality: ColumnQuality) -> _ColumnReader:
        return cls(
            column=column,
            period=period,
            quality=quality,
            parse_date=_date_parser(period.date_formats),
            categories=column.category_lookup(),
            missing_labels=frozenset(label_key(label) for label in column.missing_values),
        )

    def read(self, value: Cell, file: str, row: int, label: str) -> object:
        if _is_blank(value) or (
            self.missing_labels and label_key(_text(value)) in self.missing_labels
        ):
            self.quality.missing += 1
            return None
        try:
            return self._convert(value)
        except _Unparseable:
            self.quality.note_unparseable(file, row, label)
            self.quality.missing += 1
            return None

    def _code(self, text: str) -> str | None:
        code = self.categories.get(label_key(text))
        if code is None:
            self.quality.unknown_categories += 1
            if self.column.role == "attribute":
                self.quality.unknown_spellings[text.strip()[:60]] += 1
        return code

    def _split(self, value: Cell) -> list[str]:
        parts = _text(value).split(self.period.list_separator)
        return [part.strip() for part in parts if part.strip()]

    def _convert(self, value: Cell) -> object:
        kind = self.column.type
        if kind == "date":
            return self.parse_date(value)
        if kind == "string":
            text = _text(value)
            return re.sub(r"\s+", " ", text).upper() if self.column.role == "postcode" else text
        if kind == "integer":
            number = _number(value)
            if not number.is_integer():
                raise _Unparseable
            return int(number)
        if kind == "number":
            return _number(value)
        if kind == "boolean":
            text = _text(value).casefold()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise _Unparseable
        if kind == "category":
            code = self._code(_text(value))
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
        return float(_text(value).replace(",", ""))
    except ValueError:
        raise _Unparseable from None


def _alias(text: str) -> dict[str, str | None]:
    """'SURNAME, Forename' (or 'Forename Surname') as a forename/surname pair."""
    if "," in text:
        surname, _, forename = text.partition(",")
    else:
        forename, _, surname = text.rpartition(" ")
    return {"forename": forename.strip() or None, "surname": surname.strip() or None}


# ----------------------------------------------------------------------------- tables


def source_directory(raw: Path, dataset: str) -> Path:
    """``raw/<dataset>`` when it exists (the generator's layout), else ``raw`` itself."""
    nested = raw / dataset
    return nested if nested.is_dir() else raw


def _period_files(root: Path, period: PeriodSpec) -> list[Path]:
    found: dict[Path, None] = {}
    for pattern in period.files:
        for path in sorted(root.glob(pattern)):
            if path.is_file() and not path.name.startswith((".", "~$")):
                found[path] = None
    for path in found:
        if path.suffix.lower() not in _SUFFIXES:
            raise PrepareError(
                f"{path}: matched period {period.period!r} but is not .csv, .xlsx or .xls"
            )
    return list(found)


@dataclass
class _TableBuilder:
    spec: TableSpec
    root: Path
    quality: TableQuality

    def __post_init__(self) -> None:
        self.columns = ordered_columns(self.spec)
        self.values: dict[str, list[object]] = {c.name: [] for c in self.columns}
        self.values["period"] = []
        if self.spec.groups:
            self.values["group"] = []
        self.origins: list[tuple[str, int]] = []  # (file, row) of each output row

    def read_period(self, period: PeriodSpec) -> None:
        files = _period_files(self.root, period)
        if not files:
            self.quality.periods_without_files.append(period.period)
        for path in files:
            self._read_file(path, period)

    def _group(self, path: Path) -> str | None:
        if not self.spec.groups:
            return None
        group = path.parent.name
        if group not in self.spec.groups:
            raise PrepareError(
                f"{path}: is in folder {group!r}, which is not one of the groups "
                f"{list(self.spec.groups)}; move it or add the group to the spec"
            )
        return group

    def _header_map(
        self, path: Path, header: list[Cell], period: PeriodSpec, record: FileQuality
    ) -> dict[str, int]:
        synonyms = {
            label_key(label): name for name, labels in period.labels.items() for label in labels
        }
        positions: dict[str, int] = {}
        for position, label in enumerate(header):
            if _is_blank(label):
                continue
            name = synonyms.get(label_key(_text(label)))
            if name is None:
                record.unmapped_headers.append(_text(label)[:60])
            elif name in positions:
                raise PrepareError(
                    f"{path}: columns {positions[name] + 1} and {position + 1} both map to "
                    f"{name!r}; remove one or fix the labels of period {period.period!r}"
                )
            else:
                positions[name] = position
        required = [c.name for c in self.columns if c.required and c.name not in positions]
        if required:
            expected = "; ".join(
                f"{name}: {list(period.labels.get(name, ()))}" for name in required
            )
            raise PrepareError(f"{path}: required columns missing from the header: {expected}")
        record.absent_columns = [c.name for c in self.columns if c.name not in positions]
        return positions

    def _read_file(self, path: Path, period: PeriodSpec) -> None:
        relative = str(path.relative_to(self.root))
        header, rows, encoding = _read_file(path, period.encoding)
        group = self._group(path)
        record = FileQuality(file=relative, period=period.period, group=group, encoding=encoding)
        self.quality.files.append(record)
        positions = self._header_map(path, header, period, record)
        readers = {
            name: _ColumnReader.build(
                self.spec.column(name), period, self.quality.column(period.period, name)
            )
            for name in positions
        }
        labels = {name: _text(header[position]) for name, position in positions.items()}
        absent = [c.name for c in self.columns if c.name not in positions]
        width = len(header)
        for number, row in enumerate(rows, start=1):
            if any(isinstance(cell, _CsvBroken) for cell in row):
                self.quality.note_unreadable(relative, number, "malformed CSV line")
                continue
            if len(row) > width and any(not _is_blank(cell) for cell in row[width:]):
                self.quality.note_unreadable(
                    relative, number, f"{len(row)} cells under a header of {width}"
                )
                continue
            if all(_is_blank(cell) for cell in row):
                continue  # trailing empty rows that spreadsheets keep
            for name, position in positions.items():
                value = row[position] if position < len(row) else None
                self.values[name].append(readers[name].read(value, relative, number, labels[name]))
            for name in absent:
                self.values[name].append(None)
                self.quality.column(period.period, name).missing += 1
            self.values["period"].append(period.period)
            if group is not None:
                self.values["group"].append(group)
            self.origins.append((relative, number))
            record.rows += 1
            self.quality.period_rows[period.period] += 1

    def finish(self) -> pa.Table:
        self._fill_record_ids()
        schema = arrow_schema(self.spec)
        try:
            return pa.table(self.values, schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise PrepareError(f"table {self.spec.name!r}: cannot be assembled ({error})") from None

    def _fill_record_ids(self) -> None:
        ids = self.values["record_id"]
        first_seen: dict[object, int] = {}
        duplicates: list[tuple[int, int]] = []
        for index, value in enumerate(ids):
            if value is None:
                file, row = self.origins[index]
                ids[index] = f"{file}#row{row}"  # a row without an id is kept, not dropped
                self.quality.generated_record_ids += 1
                continue
            if value in first_seen:
                self.quality.duplicate_ids += 1
                duplicates.append((first_seen[value], index))
            else:
                first_seen[value] = index
        if duplicates and self.spec.unique_record_id:
            shown = "; ".join(
                f"{self.origins[a][0]} row {self.origins[a][1]} and "
                f"{self.origins[b][0]} row {self.origins[b][1]}"
                for a, b in duplicates[:5]
            )
            raise PrepareError(
                f"table {self.spec.name!r}: {len(duplicates)} record ids occur more than once "
                f"(record ids must be unique here), e.g. {shown}"
            )


def prepare_source(
    spec: DatasetSpec, raw: str | os.PathLike[str], *, spec_source: str = ""
) -> PreparedSource:
    """Read every period (and group) of every table of ``spec`` from ``raw``."""
    root = source_directory(Path(raw), spec.dataset)
    if not root.is_dir():
        raise PrepareError(f"{raw}: no such directory; point --in at the raw extract folder")
    report = QualityReport(dataset=spec.dataset, spec=spec_source, spec_version=spec.version)
    tables: dict[str, pa.Table] = {}
    for table in spec.tables:
        quality = TableQuality(name=table.name)
        report.tables[table.name] = quality
        builder = _TableBuilder(table, root, quality)
        for period in table.periods:
            builder.read_period(period)
        if not quality.files:
            patterns = sorted({p for period in table.periods for p in period.files})
            raise PrepareError(f"{root}: no files for table {table.name!r} (looked for {patterns})")
        tables[table.name] = builder.finish()
    return PreparedSource(tables=tables, report=report)


def write_prepared(
    prepared: PreparedSource, out: str | os.PathLike[str], *, overwrite: bool = True
) -> list[Path]:
    """Write the tables (and ``quality.json``) atomically; return the paths written.

    One table: ``out`` is the Parquet file and the report is ``<stem>.quality.json``
    beside it. Several tables (ICTG): ``out`` is a directory receiving
    ``<table>.parquet`` for each and ``quality.json``.
    """
    target = Path(out)
    if len(prepared.tables) == 1:
        (table,) = prepared.tables.values()
        report_path = target.with_name(f"{target.stem}.quality.json")
        with atomic_file(target) as temporary_table, atomic_file(report_path) as temporary_report:
            pq.write_table(table, temporary_table)
            prepared.report.write_json(temporary_report)
        return [target, report_path]
    try:
        with atomic_directory(target, overwrite=overwrite) as work:
            for name, table in prepared.tables.items():
                pq.write_table(table, work / f"{name}.parquet")
            prepared.report.write_json(work / "quality.json")
    except FileExistsError as error:
        raise PrepareError(str(error)) from None
    return [target / f"{name}.parquet" for name in prepared.tables] + [target / "quality.json"]
