"""A stored table file as rows of cells, with the evidence a checker reads on each cell:
what the page and ``trelink export show`` both render.

Every layout the docs accept is read here, so flagged cells are found whatever wrote
the table:

* trelink's own (``trelink sdc protect``): row-label columns, then ``var: value``
  headers and ``Total``;
* a pandas crosstab written with ``to_csv``, with or without margins (``All`` or
  ``Total``), with one or several row variables;
* a pandas crosstab with several column variables (multi-index columns), which pandas
  writes as one header line per column variable and a line of row-variable names.

A cell is named as the automated checks name it (``cell_names``): the row's labels
joined by `` | `` (``All`` read as ``Total``, empty trailing parts dropped) and the
column's header (for multi-index columns, ``var: value`` parts joined by `` | ``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdc.structure import LABEL_SEPARATOR, TOTAL
from trelink.spreadsheet import unescape_cell

__all__ = [
    "CellEvidence",
    "RenderedCell",
    "RenderedTable",
    "TableLayout",
    "describe_cell",
    "read_layout",
    "record_evidence",
    "render_table",
]

MAX_TABLE_ROWS = 500
_MAX_HEADER_LINES = 6
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_MARGINS = (TOTAL, "All")


@dataclass(frozen=True)
class TableLayout:
    """A table file split into its header lines, row labels and value cells."""

    header_lines: list[list[str]]  # one per column variable (one line unless multi-index)
    label_columns: int
    column_names: list[str]  # the checks' name of each value column
    row_labels: list[list[str]]  # the file's label cells of each body row
    row_names: list[str]  # the checks' name of each body row
    values: list[list[str]]  # the value cells of each body row, as the file holds them


@dataclass(frozen=True)
class CellEvidence:
    """What the checks and the decision record say about one cell."""

    rules: list[str] = field(default_factory=list)  # rules that flagged it (empty: not flagged)
    status: str | None = None  # from the decision record: safe, primary, secondary, ...
    record_rules: list[str] = field(default_factory=list)
    recorded_interval: tuple[float | None, float | None] | None = None
    own_interval: tuple[float | None, float | None] | None = None  # this table's own audit
    audited_interval: tuple[float | None, float | None] | None = None  # request-wide audit


@dataclass(frozen=True)
class RenderedCell:
    text: str
    classes: str  # css classes: label, flagged, suppressed, primary, secondary
    note: str  # why it is marked (empty when it is not)


@dataclass(frozen=True)
class RenderedTable:
    header_lines: list[list[str]]
    label_columns: int
    rows: list[list[RenderedCell]]
    truncated: bool
    flagged_shown: int
    unplaced: list[str] = field(default_factory=list)  # flagged cells not found in the file
    marked: list[tuple[str, str, str]] = field(default_factory=list)  # (row, column, note)

    @property
    def header(self) -> list[str]:
        return self.header_lines[-1]


def _is_number(text: str) -> bool:
    return bool(_NUMBER.fullmatch(text.strip()))


def _row_name(parts: list[str]) -> str:
    labels = [TOTAL if part in _MARGINS else unescape_cell(part) for part in parts]
    while len(labels) > 1 and labels[-1] == "":
        labels.pop()
    return LABEL_SEPARATOR.join(labels)


def _names_line(rows: list[list[str]]) -> int | None:
    """The line of row-variable names pandas writes below multi-index column headers:
    some leading names, then nothing. Only looked for when the header has no
    ``var: value`` column (trelink's own layout never has such a line)."""
    width = len(rows[0])
    if any(": " in cell for cell in rows[0]):
        return None
    for index in range(2, min(_MAX_HEADER_LINES, len(rows) - 1) + 1):
        line = rows[index]
        named = len(line) - len(list(_trailing_empty(line)))
        if (
            len(line) == width
            and 1 <= named < width
            and all(cell.strip() for cell in line[:named])
            and all(len(rows[above]) == width for above in range(index))
        ):
            return index
    return None


def _trailing_empty(line: list[str]) -> list[str]:
    count = 0
    for cell in reversed(line):
        if cell.strip():
            break
        count += 1
    return line[len(line) - count :]


def _single_header_labels(header: list[str], body: list[list[str]]) -> int:
    # trelink's own layout: labels until the first "var: value" or Total column.
    if any(": " in name for name in header):
        return next(
            (i for i, name in enumerate(header) if name in _MARGINS or ": " in name),
            len(header),
        )
    # A crosstab: the leading columns holding the margin row's label (with margins),
    # and any further leading columns that are not all numbers (row variables).
    labels = 0
    for column in range(len(header) - 1):
        cells = [row[column] for row in body if len(row) > column]
        if any(cell in _MARGINS for cell in cells):
            labels += 1
            continue
        filled = [cell for cell in cells if cell.strip()]
        if filled and all(_is_number(cell) for cell in filled):
            break
        labels += 1
    return max(labels, 1)


def read_layout(path: Path, *, label_columns: int | None = None) -> TableLayout | None:
    """The layout of a table CSV (None if the file is not readable CSV text).

    ``label_columns`` (from a decision record's row variables) overrides the guess."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not rows or len(rows[0]) < 2:
        return None
    names_line = _names_line(rows)
    if names_line is not None:
        names = rows[names_line]
        labels = len(names) - len(_trailing_empty(names))
        header_lines = rows[: names_line + 1]
        body = rows[names_line + 1 :]
        levels = [line[0].strip() for line in rows[:names_line]]
        column_names = [
            _multi_column_name(levels, [line[column] for line in rows[:names_line]])
            for column in range(labels, len(rows[0]))
        ]
    else:
        header_lines = [rows[0]]
        body = rows[1:]
        labels = label_columns or _single_header_labels(rows[0], body)
        labels = min(max(labels, 1), len(rows[0]) - 1)
        column_names = [unescape_cell(name) for name in rows[0][labels:]]
    return TableLayout(
        header_lines=header_lines,
        label_columns=labels,
        column_names=column_names,
        row_labels=[row[:labels] for row in body],
        row_names=[_row_name(row[:labels]) for row in body],
        values=[row[labels:] for row in body],
    )


def _multi_column_name(levels: list[str], values: list[str]) -> str:
    """``sex: F | age: old`` from pandas' header lines; a margin (``All`` on the first
    line, nothing below) is ``Total``."""
    if values and values[0] in _MARGINS and not any(value.strip() for value in values[1:]):
        return TOTAL
    parts = []
    for level, value in zip(levels, values, strict=True):
        text = TOTAL if value in _MARGINS else unescape_cell(value)
        parts.append(f"{level}: {text}" if level else text)
    return LABEL_SEPARATOR.join(parts)


def _interval_text(interval: tuple[float | None, float | None]) -> str:
    def show(value: float | None, infinite: str) -> str:
        if value is None:
            return infinite
        return str(int(value)) if float(value).is_integer() else f"{value:.4g}"

    return f"[{show(interval[0], '-inf')}, {show(interval[1], 'inf')}]"


def describe_cell(evidence: CellEvidence, *, suppressed: bool) -> str:
    """A cell's evidence in a line: rules that flagged it, its decision, its intervals."""
    parts = []
    if evidence.rules:
        parts.append("flagged: " + ", ".join(evidence.rules))
    if suppressed and evidence.status in ("primary", "secondary"):
        why = ", ".join(evidence.record_rules)
        parts.append(f"{evidence.status} suppression" + (f" ({why})" if why else ""))
    elif suppressed:
        parts.append("suppressed (no decision record names it)")
    if evidence.recorded_interval is not None:
        parts.append(f"recorded interval {_interval_text(evidence.recorded_interval)}")
    if evidence.own_interval is not None:
        parts.append(f"range from this table alone {_interval_text(evidence.own_interval)}")
    if evidence.audited_interval is not None:
        parts.append(f"request-wide audited interval {_interval_text(evidence.audited_interval)}")
    return "; ".join(parts)


def render_table(
    path: Path,
    evidence: dict[tuple[str, str], CellEvidence],
    *,
    label_columns: int | None = None,
) -> RenderedTable | None:
    """The table as rows of cells, each flagged or suppressed cell marked and explained."""
    layout = read_layout(path, label_columns=label_columns)
    if layout is None:
        return None
    placed: set[tuple[str, str]] = set()
    marked: list[tuple[str, str, str]] = []
    rendered = []
    for labels, row_name, values in zip(
        layout.row_labels[:MAX_TABLE_ROWS],
        layout.row_names[:MAX_TABLE_ROWS],
        layout.values[:MAX_TABLE_ROWS],
        strict=True,
    ):
        cells = [RenderedCell(part, "label", "") for part in labels]
        for column, value in zip(layout.column_names, values, strict=False):
            found = evidence.get((row_name, column), CellEvidence())
            suppressed = value.strip() == ""
            classes = []
            if found.rules:
                classes.append("flagged")
                placed.add((row_name, column))
            if suppressed:
                classes.append("suppressed")
                if found.status in ("primary", "secondary"):
                    classes.append(found.status)
            text = value
            if suppressed:
                text = found.status if found.status in ("primary", "secondary") else "suppressed"
            note = describe_cell(found, suppressed=suppressed) if classes else ""
            if note:
                marked.append((row_name, column, note))
            cells.append(RenderedCell(text, " ".join(classes), note))
        rendered.append(cells)
    flagged = [cell for cell, found in evidence.items() if found.rules]
    shown_rows = set(layout.row_names[:MAX_TABLE_ROWS])
    hidden_rows = set(layout.row_names) - shown_rows
    unplaced = [
        f"({row}, {column})"
        for row, column in flagged
        if (row, column) not in placed and row not in hidden_rows
    ]
    return RenderedTable(
        header_lines=layout.header_lines,
        label_columns=layout.label_columns,
        rows=rendered,
        truncated=len(layout.row_names) > MAX_TABLE_ROWS,
        flagged_shown=len(placed),
        unplaced=unplaced,
        marked=marked,
    )


def record_evidence(record: dict[str, Any] | None) -> dict[tuple[str, str], CellEvidence]:
    """Each cell of a decision record as evidence: status, rules, recorded interval."""
    found: dict[tuple[str, str], CellEvidence] = {}
    if record is None:
        return found
    for cell in record.get("cells", []):
        if not isinstance(cell, dict):
            continue
        interval = cell.get("interval", cell.get("sum_interval"))
        found[(str(cell.get("row")), str(cell.get("column")))] = CellEvidence(
            status=str(cell["status"]) if "status" in cell else None,
            record_rules=[str(rule) for rule in cell.get("rules", []) if rule != "protection"]
            or (["protects other cells"] if cell.get("status") == "secondary" else []),
            recorded_interval=(
                (interval[0], interval[1])
                if isinstance(interval, list) and len(interval) == 2
                else None
            ),
        )
    return found
