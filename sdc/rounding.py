"""Rounding of published counts: to the nearest multiple of a base, or controlled so
that every total still equals the sum of its parts.

Controlled rounding is a small MILP solved with HiGHS: each cell goes to the multiple
just below or just above its value (a value already on a multiple stays), totals must
add up, and the summed absolute change is minimised. When no additive rounding exists
the caller falls back to nearest rounding and records that the table is not additive.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from sdc.policy import RoundingMethod

__all__ = ["base_round", "controlled_round", "rounding_bounds"]


def base_round(values: np.ndarray, base: int) -> np.ndarray:
    """Each value to the nearest multiple of ``base`` (halves go up)."""
    return np.floor(values / base + 0.5) * base


def controlled_round(
    values: np.ndarray, matrix: sp.csr_matrix, base: int, *, time_limit: float = 30.0
) -> np.ndarray | None:
    """Additive rounding of ``values`` (``matrix @ values == 0``), or None if impossible."""
    floor = np.floor(values / base) * base
    remainder = values - floor
    on_multiple = np.isclose(remainder, 0.0)
    # Rounding up costs (base - r), down costs r: the objective is linear in "up".
    cost = base - 2 * remainder
    equations = LinearConstraint(matrix * base, lb=-(matrix @ floor), ub=-(matrix @ floor))
    result = milp(
        c=cost,
        integrality=np.ones(values.size),
        bounds=Bounds(np.zeros(values.size), np.where(on_multiple, 0.0, 1.0)),
        constraints=equations,
        options={"time_limit": time_limit, "disp": False},
    )
    if result.x is None:
        return None
    return np.asarray(floor + base * np.round(result.x), dtype=float)


def rounding_bounds(
    published: np.ndarray, base: int, method: RoundingMethod
) -> tuple[np.ndarray, np.ndarray]:
    """What a reader knows of a true count from its rounded published value."""
    if method is RoundingMethod.NEAREST:
        # Halves go up: v came from [v - floor(b/2), v + ceil(b/2) - 1].
        return published - base // 2, published + (base + 1) // 2 - 1
    return published - (base - 1), published + (base - 1)
