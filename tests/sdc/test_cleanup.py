"""The clean-up after the heuristic: it publishes again secondary cells nobody needs,
never a primary one, and never leaves a hidden cell narrower than the policy requires."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdc import Method, Policy, audit_outputs, frequency_table, magnitude_table, write_table
from sdc.suppression import SuppressionProblem, suppress


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"sdc_{name}", Path(__file__).with_name(name))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verify = _load("verify.py")
tables = _load("test_suppression.py")  # table_with_margins, problem_for


def is_protected(problem: SuppressionProblem, hidden: np.ndarray) -> bool:
    """Every hidden cell's range, by the independent attacker, reaches its width."""
    ranges = verify.attacker_ranges(problem.matrix, problem.values, hidden)
    return all(high - low >= problem.required[cell] - 1e-6 for cell, (low, high) in ranges.items())


def test_a_constructed_table_where_greedy_choices_become_unnecessary() -> None:
    #        c0  c1  c2
    #   r0   20  20   6*     * primary (below 10)
    #   r1   20  20  20
    #   r2    3*  6* 20
    # The greedy master protects the primaries one cut at a time and ends with six
    # secondary cells; (r0, c0) and (r1, c1) are then covered by the others' cycles.
    interior = np.array([[20, 20, 6], [20, 20, 20], [3, 6, 20]], dtype=float)
    grid, values = tables.table_with_margins(interior)
    problem = tables.problem_for(grid, values)
    greedy = suppress(problem, method=Method.HEURISTIC, clean_up=False)
    cleaned = suppress(problem, method=Method.HEURISTIC)

    def secondary(hidden: np.ndarray) -> set[tuple[str, str]]:
        return {grid.cell_labels(int(cell)) for cell in np.flatnonzero(hidden & ~problem.primary)}

    assert secondary(greedy.hidden) - secondary(cleaned.hidden) == {("r0", "c0"), ("r1", "c1")}
    assert secondary(cleaned.hidden) == {("r0", "c1"), ("r1", "c0"), ("r1", "c2"), ("r2", "c2")}
    assert (greedy.information_loss, cleaned.information_loss) == (144, 102)
    assert cleaned.clean_up is not None and cleaned.clean_up.published_again == 2
    assert greedy.clean_up is None
    assert is_protected(problem, cleaned.hidden)
    # The recorded intervals are those of the cleaned pattern.
    assert set(cleaned.intervals) == set(np.flatnonzero(cleaned.hidden).tolist())


interiors = st.integers(2, 5).flatmap(
    lambda rows: st.integers(2, 5).flatmap(
        lambda columns: st.lists(
            st.lists(st.sampled_from([0, 1, 3, 6, 12, 20, 40]), min_size=columns, max_size=columns),
            min_size=rows,
            max_size=rows,
        )
    )
)


@given(interiors)
def test_the_cleaned_pattern_is_a_protected_minimal_subset_of_the_greedy_one(
    interior: list[list[int]],
) -> None:
    grid, values = tables.table_with_margins(np.array(interior, dtype=float))
    problem = tables.problem_for(grid, values)
    greedy = suppress(problem, method=Method.HEURISTIC, clean_up=False)
    cleaned = suppress(problem, method=Method.HEURISTIC)
    assert not (cleaned.hidden & ~greedy.hidden).any()  # it only publishes
    assert cleaned.hidden[problem.primary].all()  # never a primary cell
    assert cleaned.information_loss <= greedy.information_loss
    assert is_protected(problem, cleaned.hidden)
    # One pass is enough: no remaining secondary cell can be published on its own.
    for cell in np.flatnonzero(cleaned.hidden & ~problem.primary):
        fewer = cleaned.hidden.copy()
        fewer[cell] = False
        assert not is_protected(problem, fewer), grid.cell_labels(int(cell))


def test_the_work_bound_leaves_a_protected_pattern_and_says_it_stopped() -> None:
    rng = np.random.default_rng(5)
    interior = rng.choice([1, 3, 12, 20, 40, 70], size=(7, 6)).astype(float)
    grid, values = tables.table_with_margins(interior)
    problem = tables.problem_for(grid, values)
    greedy = suppress(problem, method=Method.HEURISTIC, clean_up=False)
    unbounded = suppress(problem, method=Method.HEURISTIC)
    assert unbounded.clean_up is not None and unbounded.clean_up.complete
    assert unbounded.clean_up.published_again > 0
    nothing = suppress(problem, method=Method.HEURISTIC, clean_up_solves=0)
    assert nothing.clean_up is not None and not nothing.clean_up.complete
    assert (nothing.hidden == greedy.hidden).all()
    bounded = suppress(problem, method=Method.HEURISTIC, clean_up_solves=4)
    assert bounded.clean_up is not None and bounded.clean_up.solves <= 4
    assert not (bounded.hidden & ~greedy.hidden).any()
    assert is_protected(problem, bounded.hidden)


def test_an_optimal_exact_pattern_is_left_alone() -> None:
    interior = np.array([[20, 20, 6], [20, 20, 20], [3, 6, 20]], dtype=float)
    grid, values = tables.table_with_margins(interior)
    result = suppress(tables.problem_for(grid, values), method=Method.EXACT)
    assert result.optimal and result.clean_up is None


def nested_microdata(seed: int) -> pd.DataFrame:
    """Region > district x sex x age, about a quarter of the cells small."""
    rng = np.random.default_rng(seed)
    shape = (12, 2, 5)
    counts = np.where(rng.random(shape) < 0.25, rng.integers(0, 10, shape), rng.poisson(30, shape))
    cells = np.repeat(np.arange(counts.size), counts.ravel())
    district, sex, age = np.unravel_index(cells, shape)
    return pd.DataFrame(
        {
            "region": [f"R{d // 4}" for d in district],
            "district": [f"d{d:02d}" for d in district],
            "sex": np.array(["F", "M"])[sex],
            "age": [f"a{a}" for a in age],
            "cost": rng.gamma(2.0, 100.0, cells.size),
        }
    )


@pytest.mark.parametrize("statistic", ["count", "sum"])
def test_cleaned_tables_pass_the_joint_audit(
    statistic: str, policy: Policy, tmp_path: Path
) -> None:
    data = nested_microdata(seed=8)
    rows, columns = ["region", "district"], ["sex", "age"]
    if statistic == "count":
        table = frequency_table(
            data, rows, columns, policy=policy, method=Method.HEURISTIC, nested=True
        )
    else:
        table = magnitude_table(
            data, rows, columns, "cost", policy=policy, method=Method.HEURISTIC, nested=True
        )
    summary = table.suppression.clean_up
    assert summary is not None and summary.complete and summary.published_again > 0
    path, record_path = write_table(table, tmp_path / f"{statistic}.csv")
    # The output checker sees what the clean-up did in the decision record.
    recorded = json.loads(record_path.read_text())["suppression"]["clean_up"]
    assert recorded["published_again"] == summary.published_again
    assert recorded["complete"] is True and recorded["solves"] == summary.solves
    report = audit_outputs([path], policy=policy)
    assert report.passed, report.failures
    assert len(report.cells) == int(table.suppression.hidden.sum())


def test_the_policy_switch_defaults_on_and_can_be_turned_off(policy: Policy) -> None:
    assert policy.protection.clean_up is True
    off = policy.model_validate(
        {**policy.model_dump(), "protection": {**policy.protection.model_dump(), "clean_up": False}}
    )
    assert off.protection.clean_up is False
    # The switch reaches the table: without clean-up the heuristic's pattern stands.
    data = nested_microdata(seed=8)
    rows, columns = ["region", "district"], ["sex", "age"]
    tables_by = {
        name: frequency_table(
            data, rows, columns, policy=chosen, method=Method.HEURISTIC, nested=True
        )
        for name, chosen in (("on", policy), ("off", off))
    }
    assert tables_by["off"].suppression.clean_up is None
    cleaned = tables_by["on"].suppression
    assert cleaned.clean_up is not None and cleaned.clean_up.published_again > 0
    hidden_off = int(tables_by["off"].suppression.hidden.sum())
    assert int(cleaned.hidden.sum()) == hidden_off - cleaned.clean_up.published_again
