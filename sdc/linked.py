"""Protecting a new table together with tables already published (or about to be).

Tables protected one by one can leak through each other: a cell hidden in one may be
published in, or derivable from, another. ``link_problem`` widens a table's suppression
problem with the cells and equations of linked table files, so the new pattern is
chosen against everything an attacker will hold:

* cells hidden in a linked table stay hidden (they are fixed as primary);
* cells published in a linked table cannot be hidden again (they are not eligible), and
  a new primary cell already published elsewhere is an error;
* the linked tables' true values come from their decision records, which is why joint
  protection runs inside the TRE, beside those records;
* every cell of every table is tied to the tables' common refinement
  (:mod:`sdc.refinement`: balances between tables along a join tree, atoms of the
  joint table for cyclic ones), so a table that sums another over a variable it lacks
  is seen as such; atoms no table shows join the problem as latent unknowns, valued by
  any non-negative joint table that agrees with the true cells (the cuts need one
  feasible table, not the true one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from sdc.errors import SuppressionError, TableInputError
from sdc.intervals import TOLERANCE
from sdc.refinement import common_refinement
from sdc.structure import CellKey
from sdc.suppression import SuppressionProblem
from sdc.tablefile import TableFile, as_sums

__all__ = ["link_problem"]


def link_problem(
    problem: SuppressionProblem,
    keys: list[CellKey],
    labels: Sequence[tuple[str, str]],
    linked: Sequence[TableFile],
    *,
    required_for: Callable[[float, bool], float],
) -> SuppressionProblem:
    """The problem over this table's cells (first, in order) and the linked tables'.

    ``required_for(value, primary)`` is the protection width of a linked cell.
    """
    size = len(keys)
    index = {key: position for position, key in enumerate(keys)}
    values = list(problem.values)
    lower, upper = list(problem.lower), list(problem.upper)
    required, cost = list(problem.required), list(problem.cost)
    forced = set(np.flatnonzero(problem.primary).tolist())
    fixed_published: set[int] = set()
    equations: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
    measure = keys[0][0] if keys else ""
    for table in map(as_sums, linked):
        if table.measure != measure:
            continue  # different measures share no cells
        truth = table.recorded_values()
        sensitive = table.recorded_primary()
        mapping = []
        for position, key in enumerate(table.grid.cell_keys(table.measure)):
            shown = table.published[position]
            value = truth[position] if truth is not None else shown
            if not np.isfinite(value):
                raise TableInputError(
                    f"{table.path}: its hidden cells need the decision record beside the "
                    "file (NAME.sdc.json) to protect a new table jointly with it"
                )
            glob = index.get(key)
            if glob is None:
                glob = index[key] = len(values)
                values.append(float(value))
                lower.append(problem.lower[0] if problem.lower.size else 0.0)
                upper.append(np.inf)
                primary_there = bool(sensitive is not None and sensitive[position])
                required.append(required_for(float(value), primary_there))
                cost.append(abs(float(value)) + 1.0)
            elif abs(values[glob] - float(value)) > TOLERANCE * max(1.0, abs(float(value))):
                raise TableInputError(
                    f"{table.path}: counts a different population (a shared cell differs "
                    "from this table); protect it separately"
                )
            if np.isfinite(shown):
                fixed_published.add(glob)
            else:
                forced.add(glob)
            mapping.append(glob)
        coo = table.grid.constraints.tocoo()
        equations.append((coo.data, coo.row, np.asarray(mapping)[coo.col], coo.shape[0]))
    atoms = _add_atoms(keys, linked, measure, index, values, problem)
    lower.extend([atoms.floor] * atoms.count)
    upper.extend([np.inf] * atoms.count)
    required.extend([0.0] * atoms.count)
    cost.extend([0.0] * atoms.count)
    total = len(values)
    exposed = sorted(
        int(cell) for cell in np.flatnonzero(problem.primary) if cell in fixed_published
    )
    if exposed:
        row, column = labels[exposed[0]]
        raise SuppressionError(
            f"cell ({row}, {column}) must be suppressed but a linked table already "
            f"publishes it ({len(exposed)} such cell(s)); recode or drop this table"
        )
    own = problem.matrix.tocoo()
    parts = [sp.csr_matrix((own.data, (own.row, own.col)), shape=(own.shape[0], total))]
    parts.extend(
        sp.csr_matrix((data, (rows, columns)), shape=(height, total))
        for data, rows, columns, height in equations
    )
    parts.append(atoms.equations)
    matrix = sp.vstack(parts, format="csr")
    latent = np.zeros(total, dtype=bool)
    latent[total - atoms.count :] = True
    primary = latent.copy()
    primary[sorted(forced)] = True
    eligible = np.zeros(total, dtype=bool)
    eligible[:size] = problem.eligible
    eligible[sorted(fixed_published)] = False
    return replace(
        problem,
        matrix=matrix,
        values=np.asarray(values),
        lower=np.asarray(lower),
        upper=np.asarray(upper),
        required=np.asarray(required),
        primary=primary,
        eligible=eligible | primary,
        cost=np.asarray(cost),
        latent=latent,
    )


@dataclass(frozen=True)
class _Atoms:
    count: int  # latent atoms appended to the problem's cells
    floor: float
    equations: sp.csr_matrix


def _add_atoms(
    keys: list[CellKey],
    linked: Sequence[TableFile],
    measure: str,
    index: dict[CellKey, int],
    values: list[float],
    problem: SuppressionProblem,
) -> _Atoms:
    """Append the refinement's atoms no table shows to ``index`` and ``values`` (valued
    by a feasible joint table) and return its equations over every cell and atom."""
    tables = [keys]
    tables.extend(
        table.grid.cell_keys(table.measure)
        for table in map(as_sums, linked)
        if table.measure == measure
    )
    refinement = common_refinement(tables)
    shown = len(values)
    for atom in refinement.atoms:
        index.setdefault(atom, len(index))
    count = len(index) - shown
    floor = 0.0 if measure == "count" else float(min(0.0, problem.lower.min(initial=0.0)))
    equations = refinement.equations(index, len(index))
    known = np.asarray(values, dtype=float)
    fixed = equations[:, :shown] @ known
    if count:
        result = linprog(
            np.zeros(count),
            A_eq=equations[:, shown:],
            b_eq=-fixed,
            bounds=(None if np.isinf(floor) else floor, None),
            method="highs",
        )
        if result.status != 0 or result.x is None:
            raise TableInputError(
                "the linked tables and this table cannot all count the same people (no "
                "joint table agrees with all of them); protect them separately"
            )
        values.extend(float(value) for value in result.x)
    elif np.abs(fixed).max(initial=0.0) > TOLERANCE * max(1.0, np.abs(known).max(initial=1.0)):
        raise TableInputError(
            "the linked tables and this table cannot all count the same people (a cell "
            "differs from the sum of the finer cells of another table); protect them "
            "separately"
        )
    return _Atoms(count, floor, equations)
