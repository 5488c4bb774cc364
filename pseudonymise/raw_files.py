"""Raw files: read one CSV, XLSX, XLS or Parquet file of a source into a header and rows.

CSV is decoded by ``pseudonymise.textfile`` (UTF-8 with or without BOM, cp1252, UTF-16,
UTF-32, any line ending); XLSX goes through ``python-calamine``; XLS through
``xlrd``; Parquet through ``pyarrow``. Cells come back as Python values (str, int, float,
datetime, date, list or None); a CSV line the csv module cannot split comes back as a
row holding one ``CsvBroken`` marker, so the caller can list it as unreadable. Nothing
here knows the dataset spec: mapping headers and converting values are
``pseudonymise.prepare`` and ``pseudonymise.convert``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pseudonymise.errors import PrepareError
from pseudonymise.textfile import CsvText, UnreadableText, decode_text, visible_label

__all__ = ["RAW_SUFFIXES", "Cell", "CsvBroken", "cell_text", "is_blank", "read_raw_file"]

_EXCEL_EPOCH_TIME = dt.datetime(1899, 12, 30)
# The file endings a period's patterns may match.
RAW_SUFFIXES = frozenset({".csv", ".xlsx", ".xls", ".parquet", ".pq"})

Cell = object  # a raw cell: str, int, float, datetime, date or None


def is_blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: Cell) -> str:
    # Workbooks store codes such as NHS numbers or sex '1' as numbers; keep them whole.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_csv(path: Path, encoding: str) -> tuple[list[Cell], Iterator[list[Cell]], str]:
    try:
        text, used = decode_text(path.read_bytes(), encoding=encoding)
        reader = CsvText(text)
    except UnreadableText as error:
        declared = f" (the period declares `encoding: {encoding}`)" if encoding != "auto" else ""
        raise PrepareError(f"{path}: {error}{declared}") from None
    if reader.header is None:
        raise PrepareError(f"{path}: the file is empty (no header row)")
    return list(reader.header), _csv_rows(path, reader), used


def _csv_rows(path: Path, reader: CsvText) -> Iterator[list[Cell]]:
    try:
        for record in reader.records():
            # A line the csv module cannot split is surfaced as unreadable, not dropped.
            yield [CsvBroken()] if record.fields is None else list(record.fields)
    except UnreadableText as error:
        raise PrepareError(f"{path}: {error}") from None


class CsvBroken:
    """Marker for a CSV line the csv module could not split."""


def _parquet_cell(value: object) -> Cell:
    if isinstance(value, list):  # a list column: its items, as a list cell would be written
        return [item for item in value if item is not None]
    if isinstance(value, dict | bytes):
        return str(value)
    return value


def _read_parquet(path: Path) -> tuple[list[Cell], Iterator[list[Cell]], None]:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError):
        raise PrepareError(f"{path}: not a readable Parquet file") from None
    if not table.column_names:
        raise PrepareError(f"{path}: the file is empty (no columns)")
    columns = [table.column(position).to_pylist() for position in range(table.num_columns)]
    rows = ([_parquet_cell(value) for value in row] for row in zip(*columns, strict=True))
    return list(table.column_names), rows, None


def _xlsx_cell(value: object) -> Cell:
    """A calamine cell as the other readers give it: empty is None, whole numbers int.

    Excel stores every number as a double; an id or code typed as a number comes back
    whole. A time without a date counts from Excel's day zero, as the serial does.
    """
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dt.time):
        return dt.datetime.combine(_EXCEL_EPOCH_TIME.date(), value)
    return value


def _read_xlsx(path: Path) -> tuple[list[Cell], Iterator[list[Cell]], None]:
    """The first worksheet, read by ``python-calamine`` (Rust).

    ``bench/bench_xlsx.py --rows 100000`` (7 columns, every row kept in a list): this
    reader 17.6 s, the zipfile + expat reader it replaced 46.7 s, openpyxl read-only
    117.0 s, at about the same peak memory (+118 MiB, +118 MiB, +75 MiB; one loaded
    2-core machine; the same cells from each). Rows are converted as they are read.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        rows = book.get_sheet_by_index(0).iter_rows()
    except (CalamineError, ValueError, IndexError, OSError) as error:
        raise PrepareError(
            f"{path}: not a readable XLSX workbook ({type(error).__name__})"
        ) from None
    converted = ([_xlsx_cell(value) for value in row] for row in rows)
    # Blank rows above the header are skipped, as before.
    header = next((row for row in converted if not all(value is None for value in row)), None)
    if header is None:
        raise PrepareError(f"{path}: the file is empty (no header row)")
    return header, converted, None


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


def read_raw_file(path: Path, encoding: str) -> tuple[list[Cell], Iterator[list[Cell]], str | None]:
    try:
        empty = path.stat().st_size == 0
    except OSError as error:
        raise PrepareError(f"{path}: cannot be read ({error.strerror})") from None
    if empty:
        raise PrepareError(f"{path}: the file is empty (0 bytes)")
    suffix = path.suffix.lower()
    used: str | None
    if suffix == ".csv":
        header, rows, used = _read_csv(path, encoding)
    elif suffix in (".parquet", ".pq"):
        header, rows, used = _read_parquet(path)
    elif suffix == ".xlsx":
        header, rows, used = _read_xlsx(path)
    else:
        header, rows, used = _read_xls(path)
    # NUL, BOM and zero-width characters in a label would keep it from matching its synonyms.
    header = [visible_label(label) if isinstance(label, str) else label for label in header]
    if all(is_blank(label) for label in header):
        raise PrepareError(f"{path}: the file is empty (its first row has no headers)")
    return header, rows, used
