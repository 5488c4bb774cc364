from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from sdc.structure import TableGrid, hierarchy
from sdc.suppression import Method, SuppressionProblem, suppress

_spec = importlib.util.spec_from_file_location("sdc_verify", Path(__file__).with_name("verify.py"))
assert _spec is not None and _spec.loader is not None
verify = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(verify)


def table_with_margins(interior: np.ndarray) -> tuple[TableGrid, np.ndarray]:
    n_rows, n_columns = interior.shape
    grid = TableGrid(
        hierarchy(["r"], [(f"r{i}",) for i in range(n_rows)]),
        hierarchy(["c"], [(f"c{j}",) for j in range(n_columns)]),
    )
    full = np.zeros(grid.shape)
    full[:n_rows, :n_columns] = interior
    full[:n_rows, n_columns] = interior.sum(axis=1)
    full[n_rows, :n_columns] = interior.sum(axis=0)
    full[n_rows, n_columns] = interior.sum()
    return grid, full.ravel()


def problem_for(grid: TableGrid, values: np.ndarray, threshold: float = 10) -> SuppressionProblem:
    primary = (values > 0) & (values < threshold)
    return SuppressionProblem(
        matrix=grid.constraints,
        values=values,
        lower=np.zeros(values.size),
        upper=np.full(values.size, np.inf),
        required=np.full(values.size, threshold),
        primary=primary,
        eligible=np.ones(values.size, dtype=bool),
        cost=values + 1,
    )


def test_exact_method_finds_the_hand_computed_optimum() -> None:
    # One small cell (2) at r0,c0. Every rectangle through it protects it (the other
    # corners are all >= 8); the cheapest is r1 x c1: 20 + 25 + 40 (+1 each), plus 3.
    interior = np.array([[2, 20, 30], [25, 40, 35], [30, 45, 50]], dtype=float)
    grid, values = table_with_margins(interior)
    result = suppress(problem_for(grid, values), method=Method.EXACT)
    hidden = {grid.cell_labels(int(cell)) for cell in np.flatnonzero(result.hidden)}
    assert hidden == {("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1")}
    assert result.optimal
    assert result.information_loss == 3 + 21 + 26 + 41
    # The 4-cycle moves by t in [-2, 20]: the small cell lies anywhere in [0, 22].
    assert result.intervals[0] == pytest.approx((0.0, 22.0))


@pytest.mark.parametrize("method", [Method.EXACT, Method.HEURISTIC])
def test_every_hidden_cell_is_protected_by_an_independent_attacker(method: Method) -> None:
    rng = np.random.default_rng(7)
    interior = rng.choice([0, 1, 3, 6, 15, 40, 90], size=(9, 7)).astype(float)
    grid, values = table_with_margins(interior)
    problem = problem_for(grid, values)
    result = suppress(problem, method=method)
    assert result.hidden[problem.primary].all()
    ranges = verify.attacker_ranges(grid.constraints, values, result.hidden)
    assert ranges
    for cell, (low, high) in ranges.items():
        assert high - low >= 10 - 1e-6, grid.cell_labels(cell)
        if method is Method.EXACT:
            assert result.intervals[cell] == pytest.approx((low, high), abs=1e-6)


def test_exact_loses_no_more_than_the_heuristic() -> None:
    rng = np.random.default_rng(11)
    interior = rng.choice([2, 5, 12, 30, 70], size=(8, 6)).astype(float)
    grid, values = table_with_margins(interior)
    exact = suppress(problem_for(grid, values), method=Method.EXACT)
    greedy = suppress(problem_for(grid, values), method=Method.HEURISTIC)
    assert exact.optimal
    assert exact.information_loss <= greedy.information_loss


def test_nothing_to_protect_hides_nothing() -> None:
    grid, values = table_with_margins(np.full((3, 3), 50.0))
    result = suppress(problem_for(grid, values), method=Method.EXACT)
    assert not result.hidden.any()
    assert result.information_loss == 0


def test_out_of_time_the_exact_method_finishes_greedily_and_still_protects() -> None:
    rng = np.random.default_rng(3)
    interior = rng.choice([1, 4, 20, 60], size=(10, 8)).astype(float)
    grid, values = table_with_margins(interior)
    result = suppress(problem_for(grid, values), method=Method.EXACT, time_limit=0.0)
    assert not result.optimal
    ranges = verify.attacker_ranges(grid.constraints, values, result.hidden)
    assert all(high - low >= 10 - 1e-6 for low, high in ranges.values())
