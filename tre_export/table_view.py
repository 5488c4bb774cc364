"""A stored table file as rows of cells, with the automated check's flagged cells and
the suppressed (empty) cells marked: what a checker looks at, on the page or the CLI."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sdc.structure import LABEL_SEPARATOR, TOTAL
from trelink.spreadsheet import unescape_cell

__all__ = ["RenderedTable", "render_table"]

MAX_TABLE_ROWS = 500


@dataclass(frozen=True)
class RenderedTable:
    header: list[str]
    label_columns: int
    rows: list[list[tuple[str, str]]]  # (text, css class) per cell, row labels first
    truncated: bool


def _label_columns(header: list[str]) -> int:
    # As sdc writes tables: row-label columns, then value columns headed "var: value"
    # or "Total".
    return next(
        (i for i, name in enumerate(header) if name in (TOTAL, "All") or ": " in name),
        len(header),
    )


def render_table(path: Path, flagged: list[tuple[str, str]]) -> RenderedTable | None:
    """A wide CSV as rows of cells; flagged cells and suppressed (empty) cells marked.

    A flagged cell is named as sdc names it: the row's labels joined by " | " and the
    column header, both as read back (without the ``'`` that escapes a formula-like
    label); cells are shown as the file holds them."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not rows:
        return None
    header, body = rows[0], rows[1:]
    labels = max(_label_columns(header), 1)
    marked = set(flagged)
    rendered = []
    for row in body[:MAX_TABLE_ROWS]:
        parts = [TOTAL if part == "All" else unescape_cell(part) for part in row[:labels]]
        label = LABEL_SEPARATOR.join(parts)
        cells = [(part, "label") for part in row[:labels]]
        for column, value in zip(header[labels:], row[labels:], strict=False):
            css = "flagged" if (label, unescape_cell(column)) in marked else ""
            if value.strip() == "":
                cells.append(("suppressed", f"suppressed {css}".strip()))
            else:
                cells.append((value, css))
        rendered.append(cells)
    return RenderedTable(header, labels, rendered, len(body) > MAX_TABLE_ROWS)
