"""XLSX cells come back as the other raw readers give them (python-calamine beneath)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from pseudonymise.errors import PrepareError
from pseudonymise.raw_files import read_raw_file


def test_cells_keep_their_kind(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])  # a blank row above the header is skipped
    sheet.append(["id", "count", "score", "dob", "seen", "at", "flag", "note"])
    sheet.append(
        [
            "A1",
            7,
            2.5,
            dt.date(2010, 2, 1),
            dt.datetime(2021, 3, 4, 5, 6),
            dt.time(9, 30),
            True,
            None,
        ]
    )
    sheet.append([1234, 9434765919.0, None, None, None, None, False, "x"])  # fmt: skip
    path = tmp_path / "a.xlsx"
    book.save(path)
    header, rows, encoding = read_raw_file(path, "auto")
    assert header == ["id", "count", "score", "dob", "seen", "at", "flag", "note"]
    first, second = list(rows)
    assert first[:5] == ["A1", 7, 2.5, dt.date(2010, 2, 1), dt.datetime(2021, 3, 4, 5, 6)]
    assert first[5] == dt.datetime(1899, 12, 30, 9, 30)  # a time counts from Excel's day 0
    assert first[6] is True and first[7] is None
    assert second[:2] == [1234, 9434765919] and all(isinstance(v, int) for v in second[:2])
    assert second[2:6] == [None] * 4 and second[7] == "x"
    assert encoding is None


def test_a_sheet_without_rows_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(PrepareError, match=r"empty\.xlsx: the file is empty \(no header row\)"):
        read_raw_file(path, "auto")
