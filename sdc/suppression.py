"""Secondary suppression: hide as little as possible so that no hidden cell can be
worked out from what is published.

Formulation (Benders-style cut generation, after Fischetti and Salazar-González). Let
``x_i = 1`` when cell ``i`` is hidden. For a hidden cell ``p`` the attacker's range is
``max y_p - min y_p`` over the linear program of :mod:`sdc.intervals`. By LP duality,
for every vector ``lambda`` of equation multipliers, with ``r = e_p - A^T lambda``::

    max y_p - a_p  <=  sum_i (r_i^+ U_i + r_i^- L_i) x_i

where ``U_i`` / ``L_i`` are how far cell ``i`` may rise / fall when hidden, with equality
at the optimal ``lambda``. So a pattern protects ``p`` (range at least ``P_p`` wide)
exactly when it satisfies, for the optimal multipliers of both directions::

    sum_i (up_i + down_i) x_i  >=  P_p x_p                                       (cut)

The master problem minimises ``sum c_i x_i`` (information loss: each cell's value plus
one, or one per cell) over binary ``x`` with primary cells fixed to 1 and all cuts found
so far. Solve the master, solve the attacker LPs of every hidden cell, add a cut for
each cell whose range is too narrow, repeat until none is. Starting cuts: a hidden cell
cannot be the only hidden cell of any equation it is in.

* ``exact``: the master is a MILP solved to optimality by HiGHS (``scipy.optimize.milp``);
  a time limit turns it into "best found", reported as not optimal.
* ``heuristic``: the master is solved greedily (cheapest cells per unit of missing
  range first); hidden sets only grow, so a cell once proven safe stays safe and is
  not solved again. For tables beyond a few thousand cells. A clean-up pass
  (:mod:`sdc.cleanup`) then publishes again every secondary cell no longer needed,
  most informative first, within a bound on its work; it runs whenever the pattern is
  not proven optimal (the heuristic, or an exact run that ran out of time) unless
  ``clean_up=False`` (policy: ``protection.clean_up``).

Every hidden cell, primary or secondary, must reach its protection width, so the
joint audit of :mod:`sdc.audit` passes on the result by construction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from sdc.cleanup import CleanUp, clean_up_pattern
from sdc.errors import SuppressionError
from sdc.intervals import TOLERANCE, AttackerLp, Bound
from sdc.progress import progress_bar
from sdc.status import Method

__all__ = ["Method", "SuppressionProblem", "SuppressionResult", "suppress"]

# Attacker LPs the clean-up may solve: 8-16 s at the 0.4-0.8 ms per LP measured by
# ``bench/bench_sdc.py --only cleanup``, whose 20,223-cell table needs 2,322. A bound
# on work, unlike one on time, gives the same pattern on every machine.
CLEAN_UP_SOLVES = 20_000


@dataclass(frozen=True)
class SuppressionProblem:
    """Everything secondary suppression needs, for one table or several linked ones."""

    matrix: sp.csr_matrix  # equations: matrix @ values == 0
    values: np.ndarray  # true values
    lower: np.ndarray  # the attacker's lower bound on a hidden cell
    upper: np.ndarray  # the attacker's upper bound on a hidden cell (may be inf)
    required: np.ndarray  # width a cell's range must reach if it is hidden
    primary: np.ndarray  # cells that must be hidden
    eligible: np.ndarray  # cells that may be hidden to protect others
    cost: np.ndarray  # information lost by hiding each cell
    # Unknowns no table shows (atoms of the tables' common refinement, see
    # :mod:`sdc.refinement`): always hidden, never published, so they need no width of
    # their own; they are marked primary too. None: there are none.
    latent: np.ndarray | None = None

    def needed_widths(self) -> np.ndarray:
        """The width each hidden cell's range must reach (0 for latent unknowns)."""
        needed: np.ndarray = np.maximum(self.required, TOLERANCE)
        if self.latent is not None:
            needed = np.where(self.latent, 0.0, needed)
        return needed

    def latent_mask(self) -> np.ndarray:
        if self.latent is None:
            return np.zeros(self.values.size, dtype=bool)
        return np.asarray(self.latent, dtype=bool)


@dataclass(frozen=True)
class SuppressionResult:
    hidden: np.ndarray
    method: Method
    optimal: bool
    iterations: int
    information_loss: float
    intervals: dict[int, tuple[float, float]] = field(default_factory=dict)
    seconds: float = 0.0
    clean_up: CleanUp | None = None  # None: no clean-up ran


@dataclass
class _Cuts:
    """Cut rows ``coefficients @ x >= 0`` gathered so far (sparse, appended per round)."""

    size: int
    rows: list[sp.csr_matrix] = field(default_factory=list)

    def add(self, coefficients: np.ndarray, cell: int, required: float) -> None:
        row = coefficients.copy()
        row[cell] -= required
        self.rows.append(sp.csr_matrix(row[None, :]))

    def matrix(self) -> sp.csr_matrix:
        return sp.vstack(self.rows, format="csr")


def suppress(
    problem: SuppressionProblem,
    *,
    method: Method = Method.EXACT,
    time_limit: float = 60.0,
    show_progress: bool = False,
    clean_up: bool = True,
    clean_up_solves: int = CLEAN_UP_SOLVES,
) -> SuppressionResult:
    """Choose the cells to hide. Raises ``SuppressionError`` if no pattern protects.

    ``clean_up`` publishes again, after a pattern not proven optimal, the secondary
    cells it does not need, solving at most ``clean_up_solves`` attacker LPs.
    """
    started = time.perf_counter()
    size = problem.values.size
    # The attacker we optimise against may move a hidden cell up by at most the widest
    # protection any cell needs. That keeps cut coefficients finite and small, and it
    # is an extra bound the real attacker does not have: ranges can only be narrower
    # here, so whatever is proven protected here is protected in the audit too.
    reach = float(problem.required.max(initial=1.0))
    upper = np.minimum(problem.upper, problem.values + reach)
    rise = np.maximum(upper - problem.values, 0.0)
    fall = np.maximum(problem.values - problem.lower, 0.0)
    hidden = problem.primary.copy()
    latent = problem.latent_mask()
    needed_widths = problem.needed_widths()
    if not (hidden & ~latent).any():
        return SuppressionResult(hidden, method, True, 0, 0.0, {}, time.perf_counter() - started)
    cuts = _Cuts(size)
    _add_equation_cuts(problem.matrix, np.flatnonzero(problem.primary & ~latent), cuts)
    certified: set[int] = set()
    iterations = 0
    optimal = True
    exact = method is Method.EXACT
    if exact:
        hidden, optimal = _solve_master(problem, cuts, time_limit)
    with progress_bar(show=show_progress) as progress:
        task = progress.add_task("secondary suppression", total=None)
        while True:
            iterations += 1
            lp = AttackerLp(problem.matrix, problem.values, hidden, problem.lower, upper)
            if exact:
                certified = set()  # the master may drop cells between rounds: re-check all
            violated: list[int] = []
            for cell in lp.cells():
                if latent[cell]:
                    continue
                needed = needed_widths[cell]
                if cell in certified or lp.seen_width(cell) + TOLERANCE >= needed:
                    certified.add(cell)  # wide enough in tables already found
                    continue
                low, high = lp.bounds(cell)
                if high.value - low.value + TOLERANCE >= needed:
                    certified.add(cell)
                    continue
                required = float(problem.required[cell])
                coefficients = _cut_coefficients(
                    problem.matrix, cell, low, high, rise, fall, size, cap=required
                )
                cuts.add(coefficients, cell, required)
                violated.append(cell)
            progress.update(task, description=f"round {iterations}: {len(violated)} exposed")
            if not violated:
                break
            remaining = time_limit - (time.perf_counter() - started)
            if exact and remaining > 0:
                hidden, round_optimal = _solve_master(problem, cuts, remaining)
                optimal = optimal and round_optimal
            else:
                # Out of time (or asked for speed): finish greedily from this pattern;
                # the result is protected but no longer proven optimal.
                exact = False
                hidden = _greedy_master(problem, cuts.rows[-len(violated) :], hidden)
                optimal = False
    summary = None
    if clean_up and not optimal:
        greedy = hidden
        hidden, summary = clean_up_pattern(
            problem, hidden, upper, max_solves=clean_up_solves, show_progress=show_progress
        )
        try:
            intervals = _final_intervals(problem, hidden)
        except SuppressionError:  # pragma: no cover - the clean-up proves every cell
            # Keep the pattern the cut loop proved rather than return one that fails.
            hidden = greedy
            summary = replace(summary, published_again=0, value_published_again=0.0)
            intervals = _final_intervals(problem, hidden)
    else:
        intervals = _final_intervals(problem, hidden)
    loss = float(problem.cost[hidden].sum())
    return SuppressionResult(
        hidden,
        method,
        optimal,
        iterations,
        loss,
        intervals,
        time.perf_counter() - started,
        summary,
    )


def _final_intervals(
    problem: SuppressionProblem, hidden: np.ndarray
) -> dict[int, tuple[float, float]]:
    """The true attacker's ranges (no ceiling), which the decision record reports."""
    lp = AttackerLp(problem.matrix, problem.values, hidden, problem.lower, problem.upper)
    intervals = {}
    latent = problem.latent_mask()
    for cell in lp.cells():
        if latent[cell]:
            continue
        low, high = lp.interval(cell)
        if high - low + TOLERANCE < max(problem.required[cell], TOLERANCE):
            raise SuppressionError(  # pragma: no cover - guarded by the cut loop
                "internal check failed: a hidden cell is narrower than required"
            )
        intervals[cell] = (low, high)
    return intervals


def _add_equation_cuts(matrix: sp.csr_matrix, cells: np.ndarray, cuts: _Cuts) -> None:
    """A hidden cell alone in an equation is recomputed exactly: require a partner."""
    columns = matrix.tocsc()
    size = matrix.shape[1]
    for cell in cells:
        for equation in columns.indices[columns.indptr[cell] : columns.indptr[cell + 1]]:
            members = matrix.indices[matrix.indptr[equation] : matrix.indptr[equation + 1]]
            row = np.zeros(size)
            row[members] = 1.0
            row[cell] = 0.0
            cuts.add(row, int(cell), 1.0)


def _cut_coefficients(
    matrix: sp.csr_matrix,
    cell: int,
    low: Bound,
    high: Bound,
    rise: np.ndarray,
    fall: np.ndarray,
    size: int,
    cap: float,
) -> np.ndarray:
    """How much hiding each cell could widen ``cell``'s range (see module docstring).

    A cell with no lower bound (negative values are allowed) can fall without limit:
    its ``fall`` is infinite, and a zero reduced cost times it counts nothing, not NaN.
    Coefficients are capped at ``cap``, the width the cut requires: the cut's variables
    are 0 or 1, so one cell able to give the whole width gives exactly that, capped or
    not, and the solver never sees an infinite coefficient.
    """
    total = np.zeros(size)
    for bound, sign in ((high, 1.0), (low, -1.0)):
        reduced = np.zeros(size)
        reduced[cell] = 1.0
        if bound.rows.size:
            reduced -= matrix[bound.rows, :].T @ bound.duals
        reduced *= sign
        up, down = np.clip(reduced, 0.0, None), np.clip(-reduced, 0.0, None)
        total += np.multiply(up, rise, out=np.zeros(size), where=up > 0)
        total += np.multiply(down, fall, out=np.zeros(size), where=down > 0)
    return np.minimum(total, cap)


def _solve_master(
    problem: SuppressionProblem, cuts: _Cuts, time_limit: float
) -> tuple[np.ndarray, bool]:
    size = problem.values.size
    lower_bound = problem.primary.astype(float)
    upper_bound = np.where(problem.primary | problem.eligible, 1.0, 0.0)
    result = milp(
        c=problem.cost,
        integrality=np.ones(size),
        bounds=Bounds(lower_bound, upper_bound),
        constraints=LinearConstraint(cuts.matrix(), lb=0.0, ub=np.inf),
        options={"time_limit": time_limit, "disp": False},
    )
    if result.x is None:
        if result.status == 1:  # time limit before any solution: start from the primaries
            return problem.primary.copy(), False
        raise SuppressionError(
            "no suppression pattern protects every primary cell under this policy "
            f"(solver: {result.message}); coarsen categories, or drop a linked table "
            "whose published cells cannot be hidden again"
        )
    return result.x > 0.5, bool(result.status == 0)


def _greedy_master(
    problem: SuppressionProblem, new_cuts: list[sp.csr_matrix], hidden: np.ndarray
) -> np.ndarray:
    """Satisfy each new cut by adding the cells with the lowest cost per unit of range."""
    hidden = hidden.copy()
    candidates = problem.eligible
    for cut in new_cuts:
        row = cut.toarray().ravel()
        shortfall = -float(row[hidden].sum())
        if shortfall <= TOLERANCE:
            continue
        useful = np.flatnonzero(candidates & ~hidden & (row > TOLERANCE))
        if useful.size == 0:
            raise SuppressionError(
                "no further cell can protect an exposed cell under this policy; hide the "
                "table's margins or coarsen categories"
            )
        # A cell worth more than the shortfall is worth only the shortfall.
        worth = np.minimum(row[useful], shortfall)
        order = useful[np.argsort(problem.cost[useful] / worth, kind="stable")]
        gained = np.cumsum(row[order])
        take = int(np.searchsorted(gained, shortfall - TOLERANCE)) + 1
        hidden[order[:take]] = True
    return hidden
