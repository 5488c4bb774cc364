"""An independent attacker for the tests: scipy's ``linprog`` on the published table.

It shares no code with ``sdc.intervals`` (no components, no warm starts, no duals), so
agreement between the two is evidence that both are right.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog


def attacker_ranges(
    matrix: sp.csr_matrix, values: np.ndarray, hidden: np.ndarray, *, floor: float = 0.0
) -> dict[int, tuple[float, float]]:
    """For each hidden cell, [min, max] given the published cells and the equations."""
    cells = np.flatnonzero(hidden)
    if cells.size == 0:
        return {}
    published = np.where(hidden, 0.0, values)
    rhs = -(matrix @ published)
    block = matrix[:, cells]
    ranges = {}
    for position, cell in enumerate(cells):
        objective = np.zeros(cells.size)
        objective[position] = 1.0
        low = linprog(objective, A_eq=block, b_eq=rhs, bounds=(floor, None), method="highs")
        high = linprog(-objective, A_eq=block, b_eq=rhs, bounds=(floor, None), method="highs")
        assert low.status == 0
        upper = np.inf if high.status == 3 else -high.fun
        ranges[int(cell)] = (float(low.fun), float(upper))
    return ranges
