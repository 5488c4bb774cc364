"""Feasible intervals of hidden cells: what an attacker can derive from what is published.

The attacker knows every published value, every equation that ties totals to their
parts (of one table or of several tables that share cells), and bounds on each hidden
cell (non-negative counts, at least one when zeros would have been published). For a
hidden cell ``i`` the attacker's interval is ``[min y_i, max y_i]`` over the linear
program ``A y = 0, y_published = published values, lower <= y_hidden <= upper``.

Speed: hidden cells are split into independent components (cells linked through
shared equations); each component is one HiGHS model kept alive while its cells'
objectives are swapped in turn, so each solve warm-starts from the previous basis.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from sdc.errors import InconsistentTableError

__all__ = ["TOLERANCE", "AttackerLp", "Bound"]

INFINITY = highspy.kHighsInf
# Slack for comparing LP results (interval widths, sums of cells): HiGHS solves to about
# 1e-9 relative, so anything within 1e-6 counts as equal in every sdc module.
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Bound:
    """One solved direction of a hidden cell: the extreme value and the row duals."""

    value: float
    rows: np.ndarray  # equation ids of the component
    duals: np.ndarray  # HiGHS row duals, same order as ``rows``


class _Component:
    """One independent block of hidden cells, as a persistent HiGHS model."""

    def __init__(
        self,
        cells: np.ndarray,
        rows: np.ndarray,
        block: sp.csc_matrix,
        rhs: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
    ) -> None:
        self.cells = cells
        self.rows = rows
        self.position = {int(cell): number for number, cell in enumerate(cells)}
        model = highspy.HighsLp()
        model.num_col_ = len(cells)
        model.num_row_ = len(rows)
        model.col_cost_ = np.zeros(len(cells))
        model.col_lower_ = lower
        model.col_upper_ = upper
        model.row_lower_ = rhs
        model.row_upper_ = rhs
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.start_ = block.indptr
        model.a_matrix_.index_ = block.indices
        model.a_matrix_.num_col_ = len(cells)
        model.a_matrix_.num_row_ = len(rows)
        model.a_matrix_.value_ = block.data
        self.highs = _silent_highs()
        self.highs.setOptionValue("presolve", "off")
        self.highs.setOptionValue("simplex_strategy", 4)  # primal: the basis stays feasible
        self.highs.passModel(model)
        self.active: int | None = None
        # Every solution is a feasible table: each cell's value in it lies inside that
        # cell's range, so the extremes seen so far bound the range from inside.
        self.seen_low = np.full(len(cells), np.inf)
        self.seen_high = np.full(len(cells), -np.inf)

    def solve(self, cell: int, *, maximise: bool) -> Bound:
        column = self.position[cell]
        if self.active != column:
            if self.active is not None:
                self.highs.changeColCost(self.active, 0.0)
            self.highs.changeColCost(column, 1.0)
            self.active = column
        sense = highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
        self.highs.changeObjectiveSense(sense)
        self.highs.run()
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            value = float(self.highs.getInfo().objective_function_value)
            solution = self.highs.getSolution()
            point = np.asarray(solution.col_value, dtype=float)
            np.minimum(self.seen_low, point, out=self.seen_low)
            np.maximum(self.seen_high, point, out=self.seen_high)
            return Bound(value, self.rows, np.asarray(solution.row_dual, dtype=float))
        if status == highspy.HighsModelStatus.kUnbounded:
            return Bound(INFINITY if maximise else -INFINITY, self.rows, np.zeros(len(self.rows)))
        if status in (
            highspy.HighsModelStatus.kInfeasible,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            raise InconsistentTableError(
                "the published values contradict each other (a total does not equal the "
                "sum of its parts, or a value breaks its bounds); fix the table before "
                "auditing it"
            )
        raise InconsistentTableError(f"the audit solver stopped: {status}")  # pragma: no cover


def _silent_highs() -> highspy.Highs:
    """A HiGHS solver that writes nothing to stdout.

    The first solver a process makes prints HiGHS's banner from C++ straight to file
    descriptor 1, before any option (``output_flag``) can be set; stdout carries a
    command's results (and ``--json`` documents), so the banner is sent to stderr.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        highs = highspy.Highs()  # type: ignore[no-untyped-call]
        ctypes.CDLL(None).fflush(None)  # C stdio may hold the banner until exit
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    highs.silent()  # output_flag off: no solver log either
    return highs


class AttackerLp:
    """The attacker's linear program for one set of hidden cells.

    ``matrix`` holds the equations (``matrix @ cells == 0``); ``values`` the published
    values (entries of hidden cells are ignored); ``hidden`` marks what is not
    published; ``lower``/``upper`` bound the hidden cells (``inf`` allowed).
    """

    def __init__(
        self,
        matrix: sp.csr_matrix,
        values: np.ndarray,
        hidden: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
    ) -> None:
        self.matrix = matrix
        hidden_cells = np.flatnonzero(hidden)
        published = np.where(hidden, 0.0, np.nan_to_num(values))
        rhs = -(matrix @ published)
        csc = matrix.tocsc()
        hidden_part = csc[:, hidden_cells]
        touched = np.flatnonzero(np.diff(hidden_part.tocsr().indptr) > 0)
        # Equations without hidden cells must already hold, or the table is inconsistent.
        untouched = np.setdiff1d(np.arange(matrix.shape[0]), touched)
        scale = 1e-7 * max(1.0, float(np.nanmax(np.abs(published))) if published.size else 1.0)
        if untouched.size and np.abs(rhs[untouched]).max() > scale:
            raise InconsistentTableError(
                f"{int((np.abs(rhs[untouched]) > scale).sum())} published total(s) do not "
                "equal the sum of their published parts; margins must be the true totals"
            )
        self.components: list[_Component] = []
        self.component_of: dict[int, _Component] = {}
        if hidden_cells.size == 0:
            return
        sub = hidden_part[touched, :]
        # Cells are linked when they share an equation: components of (cells x equations).
        adjacency = sp.bmat([[None, sub.T], [sub, None]], format="csr")
        count, labels = connected_components(adjacency, directed=False)
        cell_labels = labels[: hidden_cells.size]
        row_labels = labels[hidden_cells.size :]
        cell_order = np.argsort(cell_labels, kind="stable")
        row_order = np.argsort(row_labels, kind="stable")
        cell_bounds = np.searchsorted(cell_labels[cell_order], np.arange(count + 1))
        row_bounds = np.searchsorted(row_labels[row_order], np.arange(count + 1))
        sub_csc = sub.tocsc()
        for label in range(count):
            local_cells = cell_order[cell_bounds[label] : cell_bounds[label + 1]]
            local_rows = row_order[row_bounds[label] : row_bounds[label + 1]]
            cells = hidden_cells[local_cells]
            block = sub_csc[:, local_cells][local_rows, :].tocsc()
            component = _Component(
                cells,
                touched[local_rows],
                block,
                rhs[touched[local_rows]],
                lower[cells],
                upper[cells],
            )
            self.components.append(component)
            for cell in cells:
                self.component_of[int(cell)] = component

    def bounds(self, cell: int) -> tuple[Bound, Bound]:
        """(minimum, maximum) of a hidden cell over everything the attacker knows."""
        component = self.component_of[cell]
        return component.solve(cell, maximise=False), component.solve(cell, maximise=True)

    def seen_width(self, cell: int) -> float:
        """A width the cell's range is known to reach from solutions found so far."""
        component = self.component_of[cell]
        column = component.position[cell]
        return float(component.seen_high[column] - component.seen_low[column])

    def interval(self, cell: int) -> tuple[float, float]:
        low, high = self.bounds(cell)
        return low.value, high.value

    def cells(self) -> Iterator[int]:
        """Hidden cells, component by component (the order that reuses each model best)."""
        for component in self.components:
            yield from (int(cell) for cell in component.cells)
