"""The additive structure of a table: cells, hierarchical margins, and the equations
that tie every total to its parts.

A table with row variables ``r1..rk`` and column variables ``c1..cm`` has one row per
observed combination of the row variables plus one subtotal row per observed prefix
(``(a, Total)`` sums ``(a, x)`` over ``x``) and a grand-total row ``(Total, ...)``;
columns likewise. Every cell is ``(row key, column key)``; its index is
``row * n_columns + column``. Each parent row (or column) gives one equation per
column (row): ``parent = sum of children``. Rows list only observed combinations, so
nested hierarchies (district within region) have no structural zeros.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

__all__ = ["TOTAL", "Axis", "CellKey", "TableGrid", "hierarchy"]

TOTAL = "Total"
LABEL_SEPARATOR = " | "

Key = tuple[str, ...]
CellKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Axis:
    """One side of a table: variables, keys in display order, and each key's parent."""

    variables: tuple[str, ...]
    keys: tuple[Key, ...]
    parents: tuple[int, ...]  # index of the parent key, -1 for the grand total

    @cached_property
    def index(self) -> dict[Key, int]:
        return {key: position for position, key in enumerate(self.keys)}

    @cached_property
    def is_margin(self) -> np.ndarray:
        return np.array([key[-1] == TOTAL for key in self.keys], dtype=bool)

    def label(self, position: int) -> str:
        """Display label: the key's parts joined by `` | `` (a single part alone)."""
        return LABEL_SEPARATOR.join(self.keys[position])


def hierarchy(variables: Sequence[str], interior: Sequence[Key]) -> Axis:
    """Build an axis from its observed interior keys (each a tuple, one part per variable).

    Keys come in sorted order; every subtotal follows its group; the grand total is last.
    """
    depth = len(variables)
    ordered: list[Key] = []
    parents: list[int] = []

    def emit(prefix: Key, members: list[Key]) -> int:
        level = len(prefix)
        if level == depth:
            ordered.append(prefix)
            parents.append(-2)
            return len(ordered) - 1
        children: list[int] = []
        groups: dict[str, list[Key]] = {}
        for key in members:
            groups.setdefault(key[level], []).append(key)
        for value in sorted(groups):
            children.append(emit((*prefix, value), groups[value]))
        ordered.append(prefix + (TOTAL,) * (depth - level))
        parents.append(-2)
        own = len(ordered) - 1
        for child in children:
            parents[child] = own
        return own

    root = emit((), sorted(set(interior)))
    parents[root] = -1
    return Axis(tuple(variables), tuple(ordered), tuple(parents))


@dataclass(frozen=True)
class TableGrid:
    """Row and column axes of one table and the equations between its cells."""

    rows: Axis
    columns: Axis

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows.keys), len(self.columns.keys)

    @property
    def size(self) -> int:
        return len(self.rows.keys) * len(self.columns.keys)

    @cached_property
    def is_margin(self) -> np.ndarray:
        """Flat boolean mask: the cell is a total over at least one variable."""
        mask = self.rows.is_margin[:, None] | self.columns.is_margin[None, :]
        return np.asarray(mask, dtype=bool).ravel()

    @cached_property
    def constraints(self) -> sp.csr_matrix:
        """Sparse matrix ``A`` with ``A @ cells == 0`` for every consistent table.

        Row equations come first (for every column, a parent row equals the sum of its
        children), then column equations (for every row, likewise).
        """
        n_rows, n_cols = self.shape
        columns, rows = np.arange(n_cols), np.arange(n_rows)
        row_blocks, row_count = _equations(
            self.rows.parents, n_cols, lambda key: key * n_cols + columns, offset=0
        )
        column_blocks, column_count = _equations(
            self.columns.parents, n_rows, lambda key: rows * n_cols + key, offset=row_count
        )
        blocks = row_blocks + column_blocks
        if not blocks:
            return sp.csr_matrix((0, self.size))
        equation = np.concatenate([block[0] for block in blocks])
        cell = np.concatenate([block[1] for block in blocks])
        coefficient = np.concatenate([block[2] for block in blocks])
        shape = (row_count + column_count, self.size)
        return sp.csr_matrix((coefficient, (equation, cell)), shape=shape)

    def cell_labels(self, index: int) -> tuple[str, str]:
        """(row label, column label) of a flat cell index."""
        row, column = divmod(index, self.shape[1])
        return self.rows.label(row), self.columns.label(column)

    def cell_keys(self, measure: str) -> list[CellKey]:
        """Every cell's identity across tables: ``(measure, coordinates)``."""
        return [(measure, self.coordinates(index)) for index in range(self.size)]

    def coordinates(self, index: int) -> tuple[tuple[str, str], ...]:
        """The cell as ``((variable, value), ...)`` over its non-total parts, sorted.

        Two cells of different tables with equal coordinates (and the same measure)
        count the same people, which is how the joint audit links tables.
        """
        row, column = divmod(index, self.shape[1])
        pairs = zip(
            self.rows.variables + self.columns.variables,
            self.rows.keys[row] + self.columns.keys[column],
            strict=True,
        )
        return tuple(sorted((variable, value) for variable, value in pairs if value != TOTAL))


Block = tuple[np.ndarray, np.ndarray, np.ndarray]


def _equations(
    parents: tuple[int, ...],
    across: int,
    cells_of: Callable[[int], np.ndarray],
    *,
    offset: int,
) -> tuple[list[Block], int]:
    """One equation per (parent key, position across): parent minus its children.

    ``cells_of(key)`` gives the flat cells of one key of this axis, one per position of
    the other axis; returns the (equation, cell, coefficient) blocks and their count.
    """
    parent_of = np.array(parents)
    parent_ids = np.unique(parent_of[parent_of >= 0])
    number_of = {int(parent): number for number, parent in enumerate(parent_ids)}
    positions = np.arange(across)
    blocks: list[Block] = []
    for parent in parent_ids:
        equations = offset + number_of[int(parent)] * across + positions
        blocks.append((equations, cells_of(int(parent)), np.ones(across)))
    for child in np.flatnonzero(parent_of >= 0):
        equations = offset + number_of[int(parent_of[child])] * across + positions
        blocks.append((equations, cells_of(int(child)), -np.ones(across)))
    return blocks, len(parent_ids) * across
