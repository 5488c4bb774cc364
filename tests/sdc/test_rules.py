"""Table-driven rule checks with hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest

from sdc import Rule, TableKind, load_policy
from sdc.policy import Policy
from sdc.rules import (
    CellFacts,
    class_disclosure,
    dominance_shares,
    p_percent_margins,
    primary_rules,
)
from sdc.structure import TableGrid, hierarchy


def one_row_grid(categories: int) -> TableGrid:
    """A 1 x n table with margins: columns c0..c(n-1), Total; rows r, Total."""
    rows = hierarchy(["group"], [("r",)])
    columns = hierarchy(["category"], [(f"c{i}",) for i in range(categories)])
    return TableGrid(rows, columns)


def no_class_rule(policy: Policy) -> Policy:
    return policy.with_changes(class_disclosure=False)


@pytest.mark.parametrize(
    ("count", "zeros_disclosive", "expected"),
    [
        (0, True, [Rule.ZEROS]),
        (0, False, []),
        (1, True, [Rule.THRESHOLD]),
        (9, True, [Rule.THRESHOLD]),
        (10, True, []),
        (250, True, []),
    ],
)
def test_threshold_and_zeros(count: int, zeros_disclosive: bool, expected: list[Rule]) -> None:
    policy = no_class_rule(load_policy()).with_changes(zeros_disclosive=zeros_disclosive)
    counts = np.array([float(count)])
    facts = CellFacts(counts=counts, values=counts)
    rules = primary_rules(facts, TableKind.FREQUENCY, policy, one_row_grid(1).constraints[:0])
    assert rules[0] == expected


@pytest.mark.parametrize(
    ("contributions", "expected"),
    [
        # 12 contributors, two of them hold 950 of 1,000 (95% > 90%): dominance; the
        # others hold 50, 50/500 = exactly 10%: p% is not broken (strictly below).
        ([500, 450] + [5] * 10, [Rule.DOMINANCE]),
        # Top two hold 880 of 1,000 (88%): not dominant; rest 120 / 800 = 15%: safe.
        ([800, 80] + [12] * 10, []),
        # Top two 180 of 1,000 (18%); p%: 820/100 -> safe.
        ([100, 80] + [82] * 10, []),
        # Top two hold 89.1%: not dominant; but (1000-850-41)/850 = 12.8%: safe.
        ([850, 41] + [10.9] * 10, []),
        # p% only: x1=900, x2=20, rest 80 -> 80/900 = 8.9% < 10%; top two 92% dominant.
        ([900, 20] + [8] * 10, [Rule.DOMINANCE, Rule.P_PERCENT]),
        # Nine contributors: below the threshold, magnitude rules not even needed.
        ([10] * 9, [Rule.THRESHOLD]),
    ],
)
def test_magnitude_rules(contributions: list[float], expected: list[Rule]) -> None:
    policy = no_class_rule(load_policy())
    amounts = np.sort(np.array(contributions, dtype=float))[::-1]
    largest = np.zeros((1, 2))
    largest[0, : min(2, amounts.size)] = amounts[:2]
    facts = CellFacts(
        counts=np.array([float(amounts.size)]),
        values=np.array([amounts.sum()]),
        absolute=np.array([np.abs(amounts).sum()]),
        largest=largest,
    )
    rules = primary_rules(facts, TableKind.SUM, policy, one_row_grid(1).constraints[:0])
    assert rules[0] == expected


def test_dominance_share_and_p_margin_numbers() -> None:
    absolute = np.array([1000.0])
    largest = np.array([[500.0, 450.0]])
    assert dominance_shares(absolute, largest, 2)[0] == pytest.approx(0.95)
    assert dominance_shares(absolute, largest, 1)[0] == pytest.approx(0.5)
    assert p_percent_margins(absolute, largest)[0] == pytest.approx(50 / 500)


def test_class_disclosure_flags_a_category_holding_its_whole_group() -> None:
    grid = one_row_grid(3)
    # Row r: 0, 14, 0 | 14, and the Total row repeats it. Both rows put everyone in c1;
    # the Total row's equation over rows has a single child, which is no disclosure.
    counts = np.array([0, 14, 0, 14, 0, 14, 0, 14], dtype=float)
    flagged = class_disclosure(counts, grid.constraints)
    assert np.flatnonzero(flagged).tolist() == [1, 5]


def test_class_disclosure_ignores_spread_groups() -> None:
    grid = one_row_grid(3)
    counts = np.array([3, 14, 2, 19, 3, 14, 2, 19], dtype=float)
    assert not class_disclosure(counts, grid.constraints).any()


def test_p_percent_alone_when_dominance_is_switched_off() -> None:
    # With (2, 90) and p = 10, p% implies dominance; without dominance p% stands alone:
    # x1 = 600, x2 = 280, rest 50: 50 / 600 = 8.3% < 10%.
    policy = no_class_rule(load_policy()).with_changes(dominance=None)
    facts = CellFacts(
        counts=np.array([12.0]),
        values=np.array([930.0]),
        absolute=np.array([930.0]),
        largest=np.array([[600.0, 280.0]]),
    )
    rules = primary_rules(facts, TableKind.SUM, policy, one_row_grid(1).constraints[:0])
    assert rules[0] == [Rule.P_PERCENT]
