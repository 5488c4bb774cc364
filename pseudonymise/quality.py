"""The data-quality report of ``trelink prepare``: what was read, what was not, and why.

Per table, period and canonical column it counts missing values, unparseable values
(which became null), unknown category spellings, identifiers that pseudonymisation will
treat as missing (``invalid``: a postcode that is not one, a failed check digit) and
values from which NUL characters were removed; a column where more than half of the
values present are unparseable, unknown or invalid is flagged ``mostly_invalid`` and
printed as a warning, never shown as "ok". Per file it records rows read,
headers the spec does not know and columns absent; it lists structurally unreadable
rows, and CSV rows shorter than their header (read, the absent cells blank), with file
and row. Locations are file, row and column only: the report never holds
an identifier value. Unknown *category* spellings are listed (they are what an editor
adds to the spec), but never for identifier columns.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["ColumnQuality", "FileQuality", "QualityReport", "TableQuality"]

_EXAMPLE_LIMIT = 5  # locations kept per column and problem
_LISTED_ROWS_LIMIT = 200  # unreadable rows listed per table (all are counted)
MOSTLY_INVALID = 0.5  # share of present values above which a column is flagged


@dataclass
class ColumnQuality:
    """Counts for one column in one period."""

    missing: int = 0
    present: int = 0  # cells holding a value (not blank, not a declared missing label)
    unparseable: int = 0
    unknown_categories: int = 0
    unknown_spellings: Counter[str] = field(default_factory=Counter)
    unparseable_at: list[dict[str, Any]] = field(default_factory=list)
    invalid: int = 0
    invalid_at: list[dict[str, Any]] = field(default_factory=list)
    nul_removed: int = 0
    nul_removed_at: list[dict[str, Any]] = field(default_factory=list)

    def note_unparseable(self, file: str, row: int, column_label: str) -> None:
        self.unparseable += 1
        _keep_example(self.unparseable_at, file, row, column_label)

    def note_invalid(self, file: str, row: int, column_label: str) -> None:
        self.invalid += 1
        _keep_example(self.invalid_at, file, row, column_label)

    def note_nul(self, file: str, row: int, column_label: str) -> None:
        self.nul_removed += 1
        _keep_example(self.nul_removed_at, file, row, column_label)

    @property
    def bad(self) -> int:
        """Present values that are unparseable, unknown categories or invalid."""
        return min(self.present, self.unparseable + self.unknown_categories + self.invalid)

    @property
    def mostly_invalid(self) -> bool:
        return self.present > 0 and self.bad > MOSTLY_INVALID * self.present

    def as_dict(self, rows: int) -> dict[str, Any]:
        return {
            "missing": self.missing,
            "missing_share": round(self.missing / rows, 4) if rows else 0.0,
            "present": self.present,
            "unparseable": self.unparseable,
            "unparseable_at": self.unparseable_at,
            "unknown_categories": self.unknown_categories,
            "unknown_spellings": dict(self.unknown_spellings.most_common(20)),
            "invalid": self.invalid,
            "invalid_at": self.invalid_at,
            "invalid_share": round(self.bad / self.present, 4) if self.present else 0.0,
            "mostly_invalid": self.mostly_invalid,
            "nul_removed": self.nul_removed,
            "nul_removed_at": self.nul_removed_at,
        }


def _keep_example(places: list[dict[str, Any]], file: str, row: int, label: str) -> None:
    if len(places) < _EXAMPLE_LIMIT:
        places.append({"file": file, "row": row, "column": label})


@dataclass
class FileQuality:
    """What was read from one raw file."""

    file: str
    period: str
    group: str | None
    encoding: str | None
    rows: int = 0
    unmapped_headers: list[str] = field(default_factory=list)
    absent_columns: list[str] = field(default_factory=list)


@dataclass
class TableQuality:
    """Quality of one canonical table across its periods."""

    name: str
    files: list[FileQuality] = field(default_factory=list)
    period_rows: Counter[str] = field(default_factory=Counter)
    columns: dict[str, dict[str, ColumnQuality]] = field(default_factory=dict)
    unreadable_rows: int = 0
    unreadable_at: list[dict[str, Any]] = field(default_factory=list)
    # CSV rows with fewer cells than the header: read, the absent cells taken as blank.
    # A line broken inside an unquoted field shows up here, so they are listed.
    short_rows: int = 0
    short_at: list[dict[str, Any]] = field(default_factory=list)
    blank_rows: int = 0
    generated_record_ids: int = 0
    duplicate_ids: int = 0
    periods_without_files: list[str] = field(default_factory=list)

    def column(self, period: str, name: str) -> ColumnQuality:
        return self.columns.setdefault(period, {}).setdefault(name, ColumnQuality())

    def note_unreadable(self, file: str, row: int, reason: str) -> None:
        self.unreadable_rows += 1
        if len(self.unreadable_at) < _LISTED_ROWS_LIMIT:
            self.unreadable_at.append({"file": file, "row": row, "reason": reason})

    def note_short(self, file: str, row: int, cells: int, width: int) -> None:
        self.short_rows += 1
        if len(self.short_at) < _LISTED_ROWS_LIMIT:
            self.short_at.append(
                {"file": file, "row": row, "reason": f"{cells} cells under a header of {width}"}
            )

    @property
    def rows(self) -> int:
        return sum(self.period_rows.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "unreadable_rows": self.unreadable_rows,
            "unreadable_at": self.unreadable_at,
            "short_rows": self.short_rows,
            "short_at": self.short_at,
            "blank_rows": self.blank_rows,
            "generated_record_ids": self.generated_record_ids,
            "duplicate_ids": self.duplicate_ids,
            "periods_without_files": self.periods_without_files,
            "files": [vars(item) for item in self.files],
            "periods": {
                period: {
                    "rows": self.period_rows[period],
                    "columns": {
                        name: quality.as_dict(self.period_rows[period])
                        for name, quality in columns.items()
                    },
                }
                for period, columns in self.columns.items()
            },
        }


@dataclass
class QualityReport:
    """The whole report for one prepared source."""

    dataset: str
    spec: str
    spec_version: int
    tables: dict[str, TableQuality] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "spec": self.spec,
            "spec_version": self.spec_version,
            "tables": {name: table.as_dict() for name, table in self.tables.items()},
        }

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_dict(), indent=2, sort_keys=False) + "\n", "utf-8")

    def print_summary(self, console: Console) -> None:
        """A readable summary: one table per canonical table, periods across."""
        for table in self.tables.values():
            periods = list(table.columns)
            grid = Table(
                title=(
                    f"{self.dataset}/{table.name}: {table.rows:,} rows from {len(table.files)} "
                    f"files; {table.unreadable_rows} unreadable rows; "
                    f"{table.short_rows} short rows; "
                    f"{table.blank_rows} blank rows; "
                    f"{table.generated_record_ids} ids generated"
                ),
                title_justify="left",
            )
            grid.add_column("column")
            for period in periods:
                grid.add_column(f"{period}\n{table.period_rows[period]:,} rows", justify="right")
            names = list(dict.fromkeys(n for columns in table.columns.values() for n in columns))
            for name in names:
                cells = []
                for period in periods:
                    quality = table.columns[period].get(name)
                    rows = table.period_rows[period]
                    cells.append(_cell(quality, rows))
                grid.add_row(name, *cells)
            console.print(grid)
            for period in table.periods_without_files:
                console.print(f"  [yellow]no files for period {period}[/]")
            for period, columns in table.columns.items():
                for name, quality in columns.items():
                    if quality.mostly_invalid:
                        console.print(
                            f"  [red]warning:[/] {table.name}.{name}, period {period}: "
                            f"{quality.bad:,} of {quality.present:,} values present are "
                            "unparseable, unknown or invalid; check the spec's formats, "
                            "labels and categories, or the file"
                        )


def _cell(quality: ColumnQuality | None, rows: int) -> str:
    if quality is None or rows == 0:
        return "-"
    share = quality.missing / rows
    problems = []
    if quality.mostly_invalid:
        problems.append(f"[bold red]{quality.bad / quality.present:.0%} invalid[/]")
    if quality.unparseable:
        problems.append(f"[red]{quality.unparseable} bad[/]")
    if quality.invalid and not quality.mostly_invalid:
        problems.append(f"[red]{quality.invalid} invalid[/]")
    if quality.unknown_categories:
        problems.append(f"[yellow]{quality.unknown_categories} unknown[/]")
    if quality.nul_removed:
        problems.append(f"[yellow]{quality.nul_removed} NUL removed[/]")
    text = f"{share:.0%} missing" if share >= 0.005 else ("ok" if not problems else "")
    return ", ".join(part for part in [text, *problems] if part)
