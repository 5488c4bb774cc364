"""CSV cells a spreadsheet would run as formulas, and how trelink makes them safe.

A checker (or anyone after release) opens a CSV in a spreadsheet, which runs a cell
beginning with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return before one) as
a formula: ``=HYPERLINK("http://x","y")`` becomes a live link, and worse is possible.
Every CSV trelink writes for release prefixes such *text* with ``'`` (which a
spreadsheet shows as written and does not evaluate); numbers such as ``-3`` or ``+1.5``
are left alone. Text that already starts with ``'`` gets a second one, so
``unescape_cell`` restores every label exactly. ``formula_cells`` finds cells that are
not escaped, for the export checks and the release gate.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

__all__ = [
    "describe_formula_cells",
    "escape_cell",
    "formula_cells",
    "needs_escape",
    "unescape_cell",
]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPE = "'"
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_MAX_FIELD = 1 << 30
_PLACES_SHOWN = 5


def needs_escape(text: str) -> bool:
    """Whether a spreadsheet would read ``text`` as a formula (numbers are not)."""
    return text.startswith(_FORMULA_STARTS) and not _NUMBER.fullmatch(text.strip())


def escape_cell(text: str) -> str:
    """``text`` as it must be written to a released CSV."""
    if needs_escape(text) or text.startswith(_ESCAPE):
        return _ESCAPE + text
    return text


def unescape_cell(text: str) -> str:
    """The label ``escape_cell`` was given."""
    return text[len(_ESCAPE) :] if text.startswith(_ESCAPE) else text


def formula_cells(path: str | os.PathLike[str]) -> list[tuple[int, int]]:
    """(line, column), both counted from 1, of every unescaped formula-like cell of a
    CSV file (header included). Bytes that are not UTF-8 are read as replacement
    characters, so they cannot hide a formula from this scan."""
    text = Path(path).read_bytes().decode("utf-8", errors="replace")
    found: list[tuple[int, int]] = []
    previous_limit = csv.field_size_limit(_MAX_FIELD)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        for row in reader:
            found.extend(
                (reader.line_num, column)
                for column, cell in enumerate(row, start=1)
                if needs_escape(cell)
            )
    finally:
        csv.field_size_limit(previous_limit)
    return found


def describe_formula_cells(cells: list[tuple[int, int]]) -> str:
    """One reason naming where ``formula_cells`` found cells (never their text)."""
    places = ", ".join(f"line {line} column {column}" for line, column in cells[:_PLACES_SHOWN])
    more = f" and {len(cells) - _PLACES_SHOWN} more" if len(cells) > _PLACES_SHOWN else ""
    return (
        f"{len(cells)} cell(s) hold text a spreadsheet would run as a formula (starting "
        f"with =, +, - or @): {places}{more}; escape them with a leading ' (as `trelink "
        "sdc protect` writes labels)"
    )
