"""Table files: the wide CSV a researcher releases and the decision record beside it.

CSV layout (what ``trelink sdc protect`` writes and ``check``/``audit`` read):

* one leading column per row variable, headed by the variable's name, holding the
  category (``Total`` on margin rows);
* one column per column key, headed ``var: value`` (parts of several column variables
  joined by `` | ``, e.g. ``sex: F | age: Total``); the grand-total column is ``Total``;
* suppressed cells are empty;
* labels and headers a spreadsheet would run as formulas (text starting with ``=``,
  ``+``, ``-`` or ``@``) are written escaped with a leading ``'`` and read back as
  they were (``trelink.spreadsheet``).

The decision record sits beside the CSV as ``NAME.sdc.json`` for ``NAME.csv``. It holds
true values of suppressed cells: evidence for checkers inside the TRE, never released.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sdc.errors import TableInputError
from sdc.status import TableKind
from sdc.structure import LABEL_SEPARATOR, TOTAL, Axis, TableGrid, hierarchy
from trelink.atomic import atomic_file
from trelink.spreadsheet import escape_cell, unescape_cell

if TYPE_CHECKING:
    from sdc.table import ProtectedTable

UNNAMED_COLUMN_VARIABLE = "column"

__all__ = ["TableFile", "as_sums", "decision_record_path", "read_table_file", "write_table"]


def decision_record_path(path: str | os.PathLike[str]) -> Path:
    """``out/table.csv`` -> ``out/table.sdc.json``."""
    target = Path(path)
    return target.with_name(f"{target.stem}.sdc.json")


def write_table(table: ProtectedTable, path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write the published CSV and its decision record; both appear or neither does."""
    frame = table.to_frame()
    label_count = len(table.grid.rows.variables)
    value_columns = frame.columns[label_count:]
    for column in value_columns:
        frame[column] = [_format(value, table.kind) for value in frame[column]]
    for column in frame.columns[:label_count]:
        frame[column] = [escape_cell(str(label)) for label in frame[column]]
    frame.columns = [escape_cell(str(header)) for header in frame.columns]
    target = Path(path)
    if target.is_dir():
        raise TableInputError(f"{target}: is a directory; give a file name such as OUT.csv")
    record_path = decision_record_path(target)
    with atomic_file(target) as csv_temporary, atomic_file(record_path) as record_temporary:
        frame.to_csv(csv_temporary, index=False)
        record_temporary.write_text(
            json.dumps(table.decision_record(), indent=1, allow_nan=False), encoding="utf-8"
        )
    return target, record_path


def _format(value: float, kind: TableKind) -> str:
    if not np.isfinite(value):
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}" if kind is TableKind.MEAN else repr(float(value))


@dataclass(frozen=True)
class TableFile:
    """A table read back from its CSV (and decision record, when one is beside it)."""

    path: Path
    grid: TableGrid
    published: np.ndarray  # flat, NaN where suppressed
    kind: TableKind
    measure: str
    record: dict[str, Any] | None
    column_headers: tuple[str, ...]  # the file's header of each grid column

    @property
    def hidden(self) -> np.ndarray:
        return np.asarray(np.isnan(self.published), dtype=bool)

    def label(self, index: int) -> tuple[str, str]:
        row, column = divmod(index, self.grid.shape[1])
        return self.grid.rows.label(row), self.column_headers[column]

    def recorded_values(self) -> np.ndarray | None:
        """True values from the decision record, in grid order (None without one)."""
        if self.record is None:
            return None
        values = np.full(self.grid.size, np.nan)
        position = {self.label(index): index for index in range(self.grid.size)}
        for cell in self.record.get("cells", []):
            index = position.get((cell.get("row"), cell.get("column")))
            if index is not None and cell.get("value") is not None:
                values[index] = float(cell["value"])
        return values

    def recorded_primary(self) -> np.ndarray | None:
        """Cells the decision record marks primary, in grid order (None without one)."""
        if self.record is None:
            return None
        primary = np.zeros(self.grid.size, dtype=bool)
        position = {self.label(index): index for index in range(self.grid.size)}
        for cell in self.record.get("cells", []):
            index = position.get((cell.get("row"), cell.get("column")))
            if index is not None and cell.get("status") == "primary":
                primary[index] = True
        return primary


def as_sums(table: TableFile) -> TableFile:
    """A table of means seen as the table of sums an attacker holds once the counts are
    known: value x count per cell, same suppression pattern (needs the record)."""
    if table.kind is not TableKind.MEAN or table.record is None:
        return table
    record = dict(table.record)
    cells = []
    for cell in record.get("cells", []):
        mean = cell.get("value")
        total = 0.0 if mean is None else float(mean) * int(cell.get("count", 0))
        cells.append({**cell, "value": total})
    record["cells"] = cells
    measure = table.measure.replace("mean:", "sum:", 1)
    record.update(kind=TableKind.SUM.value, measure=measure)
    converted = replace(table, kind=TableKind.SUM, measure=measure, record=record)
    sums = converted.recorded_values()
    assert sums is not None
    published = np.where(np.isnan(table.published), np.nan, sums)
    return replace(converted, published=published)


def read_table_file(path: str | os.PathLike[str]) -> TableFile:
    """Parse a wide table CSV; raise ``TableInputError`` naming file, row and column."""
    source = Path(path)
    if source.is_dir():
        raise TableInputError(f"{source}: is a directory, not a table CSV")
    record = _read_record(source)
    try:
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise TableInputError(f"{source}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise TableInputError(
            f"{source}: not a readable CSV table ({error.__class__.__name__})"
        ) from None
    headers = [unescape_cell(str(name)) for name in frame.columns]
    frame.columns = pd.Index(headers)
    if record is not None:
        label_count = len(record.get("row_variables", []))
    else:
        # Row-label columns are the leading ones holding a margin label: the grand
        # total row reads Total in each of them, and value columns never do.
        label_count = 0
        for name in headers:
            if not frame[name].isin([TOTAL, "All"]).any():
                break
            label_count += 1
    if label_count == 0:
        raise TableInputError(
            f"{source}: the table has no margins (no row labelled {TOTAL!r}); sdc needs "
            "every total, as `trelink sdc protect` writes them"
        )
    if label_count >= len(headers):
        raise TableInputError(f"{source}: no value columns after the row labels")
    row_variables = headers[:label_count]
    column_variables, column_keys = _parse_headers(source, headers[label_count:])
    row_keys = [
        tuple(TOTAL if value == "All" else unescape_cell(value) for value in row)
        for row in frame.iloc[:, :label_count].itertuples(index=False, name=None)
    ]
    rows = _axis(source, "row", row_variables, row_keys)
    columns = _axis(source, "column", column_variables, column_keys)
    grid = TableGrid(rows, columns)
    body = np.full(grid.shape, np.nan)
    row_position = [rows.index[key] for key in row_keys]
    column_position = [columns.index[key] for key in column_keys]
    for file_row, values in enumerate(frame.iloc[:, label_count:].itertuples(index=False)):
        for file_column, text in enumerate(values):
            body[row_position[file_row], column_position[file_column]] = _parse_number(
                source, file_row, headers[label_count + file_column], text
            )
    kind = TableKind(record["kind"]) if record is not None else TableKind.FREQUENCY
    measure = str(record["measure"]) if record is not None else "count"
    if kind is TableKind.FREQUENCY and (body < 0).any():
        row, column = np.argwhere(body < 0)[0]
        raise TableInputError(
            f"{source}: row {row_keys[row_position.index(int(row))]} column "
            f"{headers[label_count + column_position.index(int(column))]!r}: negative count"
        )
    headers_in_grid_order = [""] * len(columns.keys)
    for file_column, position in enumerate(column_position):
        headers_in_grid_order[position] = headers[label_count + file_column]
    return TableFile(
        source, grid, body.ravel(), kind, measure, record, tuple(headers_in_grid_order)
    )


def _read_record(source: Path) -> dict[str, Any] | None:
    record_path = decision_record_path(source)
    if not record_path.exists():
        return None
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise TableInputError(f"{record_path}: not a readable decision record ({error})") from None
    if not isinstance(record, dict) or record.get("format") != "trelink-sdc-decision-record":
        raise TableInputError(f"{record_path}: not a trelink decision record")
    return record


def _parse_headers(source: Path, headers: list[str]) -> tuple[list[str], list[tuple[str, ...]]]:
    variables: list[str] | None = None
    parsed: list[list[tuple[str, str]] | None] = []
    for header in headers:
        if header in (TOTAL, "All"):
            parsed.append(None)
            continue
        parts = []
        for part in header.split(LABEL_SEPARATOR):
            name, separator, value = part.partition(": ")
            if not separator:
                # A plain header (as pandas writes a one-variable crosstab) names a
                # category of an unnamed column variable.
                name, value = UNNAMED_COLUMN_VARIABLE, part
            parts.append((name, value))
        names = [name for name, _ in parts]
        if variables is None:
            variables = names
        elif names != variables:
            raise TableInputError(
                f"{source}: column {header!r}: variables {names} differ from {variables}"
            )
        parsed.append(parts)
    if variables is None:
        raise TableInputError(f"{source}: no value columns besides 'Total'")
    keys = [
        (TOTAL,) * len(variables) if parts is None else tuple(value for _, value in parts)
        for parts in parsed
    ]
    return variables, keys


def _axis(source: Path, side: str, variables: list[str], keys: list[tuple[str, ...]]) -> Axis:
    if len(set(keys)) != len(keys):
        duplicate = next(key for key in keys if keys.count(key) > 1)
        raise TableInputError(f"{source}: {side} {LABEL_SEPARATOR.join(duplicate)!r} appears twice")
    interior = [key for key in keys if TOTAL not in key]
    for key in keys:
        depth = sum(part != TOTAL for part in key)
        if any(part == TOTAL for part in key[:depth]) or (
            depth < len(key) and any(part != TOTAL for part in key[depth:])
        ):
            raise TableInputError(
                f"{source}: {side} {LABEL_SEPARATOR.join(key)!r}: 'Total' may only fill the "
                "trailing parts of a label"
            )
    if not interior:
        raise TableInputError(f"{source}: the table has no {side}s besides margins")
    axis = hierarchy(variables, interior)
    missing = [key for key in axis.keys if key not in set(keys)]
    if missing:
        raise TableInputError(
            f"{source}: the table has no margins for {side} {LABEL_SEPARATOR.join(missing[0])!r} "
            f"({len(missing)} margin {side}(s) missing); sdc needs every total, as "
            "`trelink sdc protect` writes them"
        )
    return axis


def _parse_number(source: Path, file_row: int, header: str, text: str) -> float:
    text = text.strip()
    if text == "":
        return float("nan")
    try:
        number = float(text)
    except ValueError:
        raise TableInputError(
            f"{source}: row {file_row + 2} column {header!r}: not a number"
        ) from None
    if not np.isfinite(number):
        raise TableInputError(f"{source}: row {file_row + 2} column {header!r}: not finite")
    return number
