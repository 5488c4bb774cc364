"""Tables of minima, maxima and medians: each cell is one person's value (or the mean
of two), so each needs enough contributors.

ACRO 1.0.2 passes a one-person maximum when the cell count reaches its threshold only
by accident of the table; here every cell, margins included, needs the policy's
``unsafe_statistics.min_contributors`` (default: the threshold), or it is suppressed.
Margins of minima and maxima leak too: a row's maximum equals its largest member's,
so a margin whose value equals a hidden member's value is hidden as well (repeated up
the hierarchy). Medians of a margin do not determine a member's; order statistics are
not linear and take no part in the LP audit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sdc.errors import RefusedStatisticError
from sdc.policy import Policy
from sdc.status import Rule, TableKind
from sdc.suppression import Method, SuppressionResult
from sdc.table import CellCodes, ProtectedTable, assemble_table, numeric_column

__all__ = ["order_statistic_table"]

_FUNCTIONS: dict[str, Callable[[np.ndarray], float]] = {
    "min": lambda pool: float(pool.min()),
    "max": lambda pool: float(pool.max()),
    "median": lambda pool: float(np.median(pool)),
}


def order_statistic_table(
    data: pd.DataFrame,
    rows: Sequence[str],
    columns: Sequence[str],
    value: str,
    *,
    statistic: str,
    policy: Policy,
    nested: bool = False,
) -> ProtectedTable:
    """Minimum, maximum or median of ``value`` per cell, with unsafe cells suppressed."""
    if statistic not in _FUNCTIONS:
        raise RefusedStatisticError(f"unknown order statistic {statistic!r}")
    kind = TableKind(statistic)
    if statistic not in policy.unsafe_statistics.statistics:
        needed = 1
    else:
        needed = policy.statistic_min_contributors
    started = time.perf_counter()
    numbers = numeric_column(data, value)
    codes = CellCodes.build(data, rows, columns, nested=nested)
    present = numbers.notna().to_numpy()
    cell = codes.cell[present]
    amounts = numbers.to_numpy(dtype=float)[present]
    order = np.argsort(cell, kind="stable")
    cell, amounts = cell[order], amounts[order]
    bounds = np.searchsorted(cell, np.arange(codes.interior_size + 1))
    n_interior_columns = codes.interior_shape[1]
    grid = codes.grid
    values = np.full(grid.size, np.nan)
    counts = np.zeros(grid.size)
    function = _FUNCTIONS[statistic]
    n_columns = grid.shape[1]
    for row, row_members in enumerate(codes.row_members):
        for column, column_members in enumerate(codes.column_members):
            interior = (row_members[:, None] * n_interior_columns + column_members).ravel()
            pool = np.concatenate([amounts[bounds[i] : bounds[i + 1]] for i in interior])
            position = row * n_columns + column
            counts[position] = pool.size
            if pool.size:
                values[position] = function(pool)
    rules: list[list[Rule]] = [[] for _ in range(grid.size)]
    for short in np.flatnonzero(counts < needed):
        empty = counts[short] == 0
        if not empty or policy.zeros_disclosive:
            rules[short].append(Rule.ZEROS if empty else Rule.THRESHOLD)
    hidden = np.array([bool(cell_rules) for cell_rules in rules])
    primary = hidden.copy()
    if kind is not TableKind.MEDIAN:
        _hide_revealing_margins(grid.constraints, values, hidden)
    result = SuppressionResult(
        hidden=hidden,
        method=Method.HEURISTIC,
        optimal=False,
        iterations=1,
        information_loss=float(hidden.sum()),
        intervals={},
        seconds=time.perf_counter() - started,
    )
    return assemble_table(
        kind,
        grid,
        values,
        counts,
        primary=primary,
        rules=rules,
        policy=policy,
        value_variable=value,
        suppression=result,
        facts={},
        published=np.where(hidden, np.nan, values),
        rounding=None,
    )


def _hide_revealing_margins(matrix: sp.csr_matrix, values: np.ndarray, hidden: np.ndarray) -> None:
    """Hide every total whose value equals a hidden part's, until nothing changes."""
    changed = True
    while changed:
        changed = False
        for equation in range(matrix.shape[0]):
            start, end = matrix.indptr[equation], matrix.indptr[equation + 1]
            members, signs = matrix.indices[start:end], matrix.data[start:end]
            total = members[signs > 0][0]
            if hidden[total]:
                continue
            parts = members[signs < 0]
            if np.any(hidden[parts] & (values[parts] == values[total])):
                hidden[total] = True
                changed = True
