"""Protecting a new table together with tables already published (or about to be).

Tables protected one by one can leak through each other: a cell hidden in one may be
published in, or derivable from, another. ``link_problem`` widens a table's suppression
problem with the cells and equations of linked table files, so the new pattern is
chosen against everything an attacker will hold:

* cells hidden in a linked table stay hidden (they are fixed as primary);
* cells published in a linked table cannot be hidden again (they are not eligible), and
  a new primary cell already published elsewhere is an error;
* the linked tables' true values come from their decision records, which is why joint
  protection runs inside the TRE, beside those records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from sdc.errors import SuppressionError, TableInputError
from sdc.intervals import TOLERANCE
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
    matrix = sp.vstack(parts, format="csr")
    primary = np.zeros(total, dtype=bool)
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
    )
