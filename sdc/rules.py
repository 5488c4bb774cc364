"""Primary disclosure rules, evaluated for every cell of a table at once.

Each rule returns a boolean mask over the flat cells; ``primary_rules`` combines them
into the list of rules that make each cell unsafe. Counts are contributors (one row
of microdata per person); magnitude rules use each cell's largest contributions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sdc.policy import Policy
from sdc.status import Rule, TableKind

__all__ = [
    "CellFacts",
    "below_threshold",
    "class_disclosure",
    "dominance_shares",
    "dominated",
    "p_percent_margins",
    "primary_rules",
    "too_close_to_estimate",
]


@dataclass(frozen=True)
class CellFacts:
    """The numbers every rule looks at, one entry per flat cell."""

    counts: np.ndarray  # contributors
    values: np.ndarray  # counts for frequency tables, sums for magnitude tables
    # Magnitude tables only: the sum of absolute contributions (equal to the total for
    # non-negative data) and the largest absolute contributions, descending.
    absolute: np.ndarray | None = None
    largest: np.ndarray | None = None  # shape (cells, n)


def below_threshold(counts: np.ndarray, threshold: int) -> np.ndarray:
    """Cells with contributors, but fewer than ``threshold`` of them."""
    return (counts > 0) & (counts < threshold)


def dominated(shares: np.ndarray, policy: Policy) -> np.ndarray:
    """Cells whose ``n`` largest contributors hold more than ``k`` per cent (n-k rule);
    none when the policy has no dominance rule."""
    if policy.dominance is None:
        return np.zeros(shares.shape, dtype=bool)
    return shares > policy.dominance.k / 100


def too_close_to_estimate(margins: np.ndarray, policy: Policy) -> np.ndarray:
    """Cells whose second-largest contributor could estimate the largest to within
    ``p`` per cent (p% rule); none when the policy has no p% rule."""
    if policy.p_percent is None:
        return np.zeros(margins.shape, dtype=bool)
    return margins < policy.p_percent / 100


def dominance_shares(absolute: np.ndarray, largest: np.ndarray, n: int) -> np.ndarray:
    """Share (0..1) of each cell's total held by its ``n`` largest contributors."""
    top = largest[:, :n].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(absolute > 0, top / absolute, 0.0)


def p_percent_margins(absolute: np.ndarray, largest: np.ndarray) -> np.ndarray:
    """How far the second-largest contributor is from estimating the largest, as a
    share of the largest: ``(total - x1 - x2) / x1`` (infinite when ``x1`` is zero)."""
    first = largest[:, 0]
    second = largest[:, 1] if largest.shape[1] > 1 else np.zeros_like(first)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(first > 0, (absolute - first - second) / first, np.inf)


def class_disclosure(counts: np.ndarray, matrix: sp.csr_matrix) -> np.ndarray:
    """Cells holding every member of a group: a part equal to its non-empty total,
    in an equation with at least two parts."""
    flagged = np.zeros(counts.size, dtype=bool)
    for equation in range(matrix.shape[0]):
        start, end = matrix.indptr[equation], matrix.indptr[equation + 1]
        members = matrix.indices[start:end]
        signs = matrix.data[start:end]
        parts = members[signs < 0]
        total = counts[members[signs > 0][0]]
        if parts.size >= 2 and total > 0:
            flagged[parts[counts[parts] == total]] = True
    return flagged


def primary_rules(
    facts: CellFacts, kind: TableKind, policy: Policy, matrix: sp.csr_matrix
) -> list[list[Rule]]:
    """For every flat cell, the rules it breaks (an empty list: none)."""
    size = facts.counts.size
    masks: list[tuple[Rule, np.ndarray]] = []
    empty = facts.counts == 0
    if policy.zeros_disclosive:
        masks.append((Rule.ZEROS, empty))
    masks.append((Rule.THRESHOLD, below_threshold(facts.counts, policy.threshold)))
    if kind is not TableKind.FREQUENCY and facts.largest is not None:
        assert facts.absolute is not None
        enough = ~empty & (facts.counts >= policy.threshold)
        if policy.dominance is not None:
            shares = dominance_shares(facts.absolute, facts.largest, policy.dominance.n)
            masks.append((Rule.DOMINANCE, enough & dominated(shares, policy)))
        if policy.p_percent is not None:
            margins = p_percent_margins(facts.absolute, facts.largest)
            masks.append((Rule.P_PERCENT, enough & too_close_to_estimate(margins, policy)))
    if policy.class_disclosure:
        masks.append((Rule.CLASS_DISCLOSURE, class_disclosure(facts.counts, matrix)))
    rules: list[list[Rule]] = [[] for _ in range(size)]
    for rule, mask in masks:
        for cell in np.flatnonzero(mask):
            rules[cell].append(rule)
    return rules
