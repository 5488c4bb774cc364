"""Clean-up after greedy secondary suppression: publish again every secondary cell that
no hidden cell needs.

The greedy master of :mod:`sdc.suppression` only ever adds cells, so a cell hidden early
can become unnecessary once cells chosen later protect the same primaries. The clean-up
tries each secondary cell in turn, most informative first (highest information loss,
then largest value), publishes it tentatively, and keeps it published when every cell
that stays hidden still reaches its protection width against the attacker of the cut
loop (whose rises are capped; whatever is protected against it is protected in the
audit). Primary cells are never candidates.

One pass is enough. Publishing a cell adds an equation to the attacker's program, so
every range can only narrow: a cell that could not be published at some step cannot be
published later either. After a complete pass no single secondary cell can be published
again (the pattern is minimal, though not necessarily the cheapest).

It stays fast because each trial re-checks only what it can have changed:

* publishing cell ``s`` only narrows cells linked to ``s`` through equations (its
  component of the attacker's program), whose HiGHS model is kept and warm-started;
  ``s`` is published by fixing its bounds to its true value;
* an equation left with exactly one hidden cell makes that cell exact: rejected at once;
* every solution the LPs return is a feasible table for the current pattern, and it
  stays feasible after publishing ``s`` exactly when it holds ``s`` at its true value.
  The extremes of the feasible tables found so far (the true table is one) bound each
  cell's range from inside, so a cell is solved again only when the tables that vouched
  for its width moved ``s``.

Work bound: at most ``max_solves`` attacker LPs. When they are spent the remaining
candidates stay hidden: the pattern is still protected, only not minimal, and the result
says so (``complete`` is false).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sdc.intervals import TOLERANCE, AttackerLp
from sdc.progress import progress_bar

if TYPE_CHECKING:
    from sdc.suppression import SuppressionProblem

__all__ = ["CleanUp", "clean_up_pattern"]

# A feasible table "holds a cell at its true value" when it is this close (relative).
SAME_VALUE = 1e-9


@dataclass(frozen=True)
class CleanUp:
    """What the clean-up did: candidates tried, cells published again, LPs solved."""

    tried: int
    published_again: int
    value_published_again: float  # sum of the absolute values of those cells
    solves: int
    complete: bool  # every candidate was tried within the work bound
    seconds: float = 0.0


@dataclass
class _Witnesses:
    """Feasible tables of the current pattern, kept as sparse moves from the true table.

    ``moves[cell]`` maps a table's number to how far that table moves ``cell``;
    ``low`` and ``high`` are, per cell, the smallest and largest move over the tables
    still valid (zero included: the true table is always feasible), so ``high - low`` is
    a width the cell's range is known to reach.
    """

    low: np.ndarray
    high: np.ndarray
    moves: dict[int, dict[int, float]] = field(default_factory=dict)
    moved_cells: list[np.ndarray] = field(default_factory=list)  # per table
    valid: list[bool] = field(default_factory=list)  # per table

    def moving(self, cell: int) -> set[int]:
        """Valid tables that move ``cell`` (they become infeasible once it is published)."""
        return {table for table in self.moves.get(cell, {}) if self.valid[table]}

    def cells_moved_by(self, tables: set[int]) -> set[int]:
        return {int(cell) for table in tables for cell in self.moved_cells[table]}

    def span_without(self, cell: int, dropped: set[int]) -> tuple[float, float]:
        """(low, high) move of ``cell`` over valid tables not in ``dropped``."""
        kept = [
            move
            for table, move in self.moves.get(cell, {}).items()
            if self.valid[table] and table not in dropped
        ]
        return min([0.0, *kept]), max([0.0, *kept])

    def add(self, cells: np.ndarray, moves: np.ndarray) -> None:
        """Record a feasible table by the cells it moves and how far."""
        table = len(self.valid)
        self.valid.append(True)
        self.moved_cells.append(cells)
        for cell, move in zip(cells.tolist(), moves.tolist(), strict=True):
            self.moves.setdefault(cell, {})[table] = move
        np.minimum.at(self.low, cells, moves)
        np.maximum.at(self.high, cells, moves)

    def drop(self, tables: set[int]) -> None:
        """Forget ``tables``: they are no longer feasible."""
        touched = self.cells_moved_by(tables)
        for table in tables:
            self.valid[table] = False
        for cell in touched:
            kept = {table: move for table, move in self.moves[cell].items() if self.valid[table]}
            self.moves[cell] = kept
            self.low[cell] = min([0.0, *kept.values()])
            self.high[cell] = max([0.0, *kept.values()])


def clean_up_pattern(
    problem: SuppressionProblem,
    hidden: np.ndarray,
    upper: np.ndarray,
    *,
    max_solves: int,
    show_progress: bool = False,
) -> tuple[np.ndarray, CleanUp]:
    """Publish again every secondary cell of ``hidden`` that protection does not need.

    ``hidden`` must protect every hidden cell against the attacker with upper bounds
    ``upper`` (the capped attacker of the cut loop); the returned pattern does too, and
    hides a subset of ``hidden`` that still contains every primary cell.
    """
    started = time.perf_counter()
    values = problem.values
    candidates = np.flatnonzero(hidden & ~problem.primary)
    order = np.lexsort((candidates, -np.abs(values[candidates]), -problem.cost[candidates]))
    if candidates.size == 0:
        return hidden.copy(), CleanUp(0, 0, 0.0, 0, True, time.perf_counter() - started)
    run = _Run(problem, hidden, upper, max_solves)
    tried = published = 0
    with progress_bar(show=show_progress) as progress:
        task = progress.add_task("clean-up", total=int(candidates.size))
        for cell in candidates[order].tolist():
            if not run.can_solve():
                run.exhausted = True
                break
            tried += 1
            if run.try_publishing(cell):
                published += 1
            progress.update(task, advance=1, description=f"clean-up: {published} published")
    regained = float(np.abs(values[hidden & ~run.hidden]).sum())
    seconds = time.perf_counter() - started
    summary = CleanUp(tried, published, regained, run.solves, not run.exhausted, seconds)
    return run.hidden, summary


class _Run:
    """The state of one clean-up: the pattern, the attacker's models, the witnesses."""

    def __init__(
        self, problem: SuppressionProblem, hidden: np.ndarray, upper: np.ndarray, max_solves: int
    ) -> None:
        self.problem = problem
        self.hidden = hidden.copy()
        self.upper = upper
        self.max_solves = max_solves
        self.solves = 0
        self.exhausted = False  # a cell was left hidden because the work bound ran out
        self.needed = problem.needed_widths()
        self.lp = AttackerLp(problem.matrix, problem.values, hidden, problem.lower, upper)
        self.rows = abs(problem.matrix).tocsr()  # equation -> cells
        self.columns = self.rows.tocsc()  # cell -> equations
        self.hidden_per_equation = np.asarray(self.rows @ hidden.astype(float)).ravel()
        self.witnesses = _Witnesses(np.zeros(hidden.size), np.zeros(hidden.size))

    def can_solve(self) -> bool:
        """Whether the work bound leaves room for one more cell's two LPs."""
        return self.solves + 2 <= self.max_solves

    def _equations(self, cell: int) -> np.ndarray:
        equations: np.ndarray = self.columns.indices[
            self.columns.indptr[cell] : self.columns.indptr[cell + 1]
        ]
        return equations

    def try_publishing(self, cell: int) -> bool:
        """Publish ``cell`` if every cell still hidden keeps its width; say whether."""
        equations = self._equations(cell)
        # Left alone in an equation, the other hidden cell would be recomputed exactly.
        if np.any(self.hidden_per_equation[equations] == 2):
            return False
        component = self.lp.component_of[cell]
        column = component.position[cell]
        value = float(self.problem.values[cell])
        component.highs.changeColBounds(column, value, value)
        if self._still_protected(cell):
            self.hidden[cell] = False
            self.hidden_per_equation[equations] -= 1.0
            return True
        component.highs.changeColBounds(column, self.problem.lower[cell], self.upper[cell])
        return False

    def _still_protected(self, cell: int) -> bool:
        """With ``cell`` fixed in its model: does every other hidden cell keep its width?

        Tables found meanwhile are kept whatever the answer: each is feasible with the
        cell fixed, hence feasible without the fix too.
        """
        witnesses = self.witnesses
        dropped = witnesses.moving(cell)
        low, high = witnesses.low.copy(), witnesses.high.copy()
        for other in witnesses.cells_moved_by(dropped):
            low[other], high[other] = witnesses.span_without(other, dropped)
        component = self.lp.component_of[cell]
        others = component.cells[self.hidden[component.cells] & (component.cells != cell)]
        # Cells sharing an equation with ``cell`` are the likeliest to lose their range.
        equations = self._equations(cell)
        near = np.zeros(self.hidden.size, dtype=bool)
        near[self.rows[equations, :].indices] = True
        others = others[np.lexsort((high[others] - low[others], ~near[others]))]
        true_values = self.problem.values[component.cells]
        same = SAME_VALUE * np.maximum(1.0, np.abs(true_values))
        for other in others.tolist():
            if high[other] - low[other] + TOLERANCE >= self.needed[other]:
                continue
            if not self.can_solve():
                self.exhausted = True
                return False
            extremes = []
            for maximise in (False, True):
                bound = component.solve(other, maximise=maximise)
                self.solves += 1
                extremes.append(bound.value)
                if np.isfinite(bound.value):
                    point = np.asarray(component.highs.getSolution().col_value, dtype=float)
                    moves = point - true_values
                    moved = np.flatnonzero(np.abs(moves) > same)
                    cells, amounts = component.cells[moved], moves[moved]
                    witnesses.add(cells, amounts)
                    np.minimum.at(low, cells, amounts)
                    np.maximum.at(high, cells, amounts)
            if extremes[1] - extremes[0] + TOLERANCE < self.needed[other]:
                return False
        witnesses.drop(dropped)
        return True
