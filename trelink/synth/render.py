"""Turning canonical records into the cells of a raw file, the way that period wrote them.

The header labels and category spellings come from the dataset spec
(``specs/datasets/*.yaml``): the first label of each column in the record's period is
the header, and category codes are written with the spellings the spec lists. Date
style, booleans and how messy practitioners' typing is are the file's ``RawStyle``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trelink.specs.dataset import EXCEL_SERIAL, ColumnSpec, PeriodSpec, TableSpec
from trelink.synth.corrupt import typo
from trelink.synth.rawfiles import Cell

__all__ = ["BARE", "NATIVE", "RawBatch", "RawStyle", "render_rows"]

NATIVE = "native"  # a real date cell in a workbook
BARE = "bare_row"  # optional boolean record column: missing values written as empty cells
_EXCEL_EPOCH = dt.date(1899, 12, 30)


@dataclass(frozen=True, kw_only=True)
class RawStyle:
    """How one raw file writes values."""

    date_style: str  # NATIVE, EXCEL_SERIAL or a strftime format
    booleans: tuple[str, str] = ("Y", "N")
    # Practitioners' free text: variant spellings, stray spaces, case slips, typos.
    free_text: bool = False
    # Chance that a missing coded value is written as the spec's "not known" label.
    missing_label_share: float = 0.7


@dataclass(frozen=True)
class RawBatch:
    """Records of one table bound for one raw file (relative to the source folder)."""

    table: str
    period: str
    path: str
    style: RawStyle
    records: pd.DataFrame
    encoding: str = "utf-8"


def _date_text(style: str, fallback: str) -> Callable[[dt.date], Cell]:
    if style == EXCEL_SERIAL:
        return lambda value: (value - _EXCEL_EPOCH).days
    if style == NATIVE:
        return lambda value: value
    return lambda value: value.strftime(style)


def _as_date(value: object) -> dt.date | None:
    if value is None or (not isinstance(value, tuple | list) and pd.isna(value)):  # type: ignore[call-overload]
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date()
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    if isinstance(value, dt.date):
        return value
    raise TypeError(f"not a date: {type(value).__name__}")


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, tuple | list | str):
        return False
    return bool(pd.isna(value))  # type: ignore[call-overload]


class _Speller:
    """Writes category codes as a person or system would."""

    def __init__(self, column: ColumnSpec, style: RawStyle, rng: np.random.Generator) -> None:
        self.column = column
        self.style = style
        self.rng = rng

    def spell(self, code: str) -> str:
        spellings = self.column.categories[code] or (code,)
        draw = self.rng.random(4)
        variant_share = 0.25 if self.style.free_text else 0.03
        text = spellings[0]
        if len(spellings) > 1 and draw[0] < variant_share:
            text = spellings[1 + int(draw[1] * (len(spellings) - 1))]
        if self.style.free_text:
            if draw[2] < 0.05:
                text = f"{text} " if draw[3] < 0.5 else f" {text}"
            elif draw[2] < 0.08:
                text = text.lower() if draw[3] < 0.5 else text.upper()
            elif draw[2] < 0.09:
                text = typo(text, self.rng.random(3).tolist())
        return text

    def missing(self) -> str | None:
        labels = self.column.missing_values
        if labels and self.rng.random() < self.style.missing_label_share:
            return labels[0]
        return None


def _renderer(
    column: ColumnSpec,
    period: PeriodSpec,
    style: RawStyle,
    rng: np.random.Generator,
    fallback_date: str,
) -> Callable[[object], Cell]:
    date_text = _date_text(style.date_style, fallback_date)
    list_date_text = _date_text(
        style.date_style if style.date_style not in (NATIVE, EXCEL_SERIAL) else fallback_date,
        fallback_date,
    )
    separator = (
        f"{period.list_separator} " if period.list_separator in ";," else period.list_separator
    )
    speller = _Speller(column, style, rng)

    def render(value: object) -> Cell:
        if _missing(value):
            return speller.missing() if column.type in ("category", "category_list") else None
        match column.type:
            case "date":
                date = _as_date(value)
                return None if date is None else date_text(date)
            case "integer":
                return int(str(value))
            case "number":
                return round(float(str(value)), 1)
            case "boolean":
                return style.booleans[0] if value else style.booleans[1]
            case "category":
                return speller.spell(str(value))
            case "category_list":
                return separator.join(speller.spell(code) for code in value)  # type: ignore[attr-defined]
            case "alias_list":
                return separator.join(f"{sur.upper()}, {fore}" for fore, sur in value)  # type: ignore[attr-defined]
            case "date_list":
                return separator.join(str(list_date_text(date)) for date in value)  # type: ignore[attr-defined]
            case _:
                return str(value)

    return render


def render_rows(
    batch: RawBatch, table: TableSpec, rng: np.random.Generator, *, force_text_dates: bool
) -> tuple[list[str], list[list[Cell]]]:
    """The header and cells of ``batch`` as its period's raw file writes them.

    ``force_text_dates`` turns native date cells into text (for CSV written in chunks).
    """
    period = next(p for p in table.periods if p.period == batch.period)
    fallback = next((fmt for fmt in period.date_formats if fmt != EXCEL_SERIAL), "%d/%m/%Y")
    style = batch.style
    if force_text_dates and style.date_style == NATIVE:
        style = RawStyle(
            date_style=fallback,
            booleans=style.booleans,
            free_text=style.free_text,
            missing_label_share=style.missing_label_share,
        )
    header: list[str] = []
    columns: list[Sequence[Cell]] = []
    for column in table.columns:
        labels = period.labels.get(column.name)
        if not labels or column.name not in batch.records:
            continue
        header.append(labels[0])
        render = _renderer(column, period, style, rng, fallback)
        cells = [render(value) for value in batch.records[column.name].tolist()]
        if BARE in batch.records:
            # Rows from a return that held only some fields: absent fields stay empty.
            cells = [
                None if bare and _missing(value) else cell
                for cell, value, bare in zip(
                    cells, batch.records[column.name].tolist(), batch.records[BARE], strict=True
                )
            ]
        columns.append(cells)
    rows = [list(cells) for cells in zip(*columns, strict=True)] if columns else []
    return header, rows
