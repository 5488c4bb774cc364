"""Writing raw extracts as owners send them: CSV (several encodings), XLSX and XLS.

Every writer produces the same bytes for the same rows: workbook properties and zip
member timestamps are fixed, so a seed reproduces the whole output byte for byte.
CSV files can be appended to, which is how large populations are written in chunks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import xlwt

__all__ = ["Cell", "append_csv", "write_workbook"]

Cell = str | int | float | dt.date | None

# Any fixed moment will do; it is what a reader sees as "created" and "modified".
_FIXED_TIME = dt.datetime(2023, 1, 1, 9, 0, 0)


def append_csv(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[Cell]], *, encoding: str
) -> None:
    """Append ``rows`` to a CSV file, writing ``header`` first if the file is new.

    Characters the encoding cannot hold become '?', as a spreadsheet's "save as CSV"
    does, so a cp1252 file can lose diacritics exactly as real exports do.
    """
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    # utf-8-sig writes its BOM only at the start of a new file.
    mode_encoding = encoding if new or encoding != "utf-8-sig" else "utf-8"
    with path.open("a", encoding=mode_encoding, errors="replace", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        if new:
            writer.writerow(header)
        writer.writerows(["" if value is None else value for value in row] for row in rows)


def write_workbook(path: Path, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    """Write one sheet to ``path`` as .xlsx (openpyxl) or .xls (xlwt), by its suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".xlsx":
        _write_xlsx(path, header, rows)
    elif path.suffix == ".xls":
        _write_xls(path, header, rows)
    else:
        raise ValueError(f"not a workbook suffix: {path.suffix}")


def _write_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    book = openpyxl.Workbook(write_only=True)
    book.properties.creator = "synthetic"
    book.properties.created = _FIXED_TIME
    book.properties.modified = _FIXED_TIME
    sheet = book.create_sheet("Data")
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(_with_fixed_member_times(buffer.getvalue()))


def _with_fixed_member_times(archive: bytes) -> bytes:
    # openpyxl stamps each zip member, and the "modified" property, with the current
    # time on save; rewrite both with a fixed moment.
    source = zipfile.ZipFile(io.BytesIO(archive))
    fixed = _FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=_FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(member.filename)
            if member.filename == "docProps/core.xml":
                content = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fixed, content)
            target.writestr(info, content)
    return output.getvalue()


def _write_xls(path: Path, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Data")
    date_style = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    for column, label in enumerate(header):
        sheet.write(0, column, label)
    for row_number, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, dt.date):
                sheet.write(row_number, column, value, date_style)
            else:
                sheet.write(row_number, column, value)
    book.save(str(path))
