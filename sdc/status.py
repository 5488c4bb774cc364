"""What happened to a cell, and which rule decided it."""

from __future__ import annotations

import enum

__all__ = [
    "ORDER_STATISTICS",
    "PUBLISHED_STATUSES",
    "CellStatus",
    "Method",
    "Rule",
    "TableKind",
]


class Method(enum.StrEnum):
    """How secondary suppression solves its master problem (``sdc.suppression``)."""

    AUTO = "auto"  # exact up to the policy's cell limit, heuristic beyond
    EXACT = "exact"
    HEURISTIC = "heuristic"


class CellStatus(enum.Enum):
    """The fate of one cell of an output table."""

    SAFE = "safe"  # published, no rule applies
    ZERO = "zero"  # an empty cell published because the policy allows zeros
    MARGIN = "margin"  # a published true total (never recomputed from visible cells)
    PRIMARY = "primary"  # suppressed: a disclosure rule applies to the cell itself
    SECONDARY = "secondary"  # suppressed so that a primary cell cannot be recomputed


PUBLISHED_STATUSES = frozenset({CellStatus.SAFE, CellStatus.ZERO, CellStatus.MARGIN})


class Rule(enum.Enum):
    """A disclosure rule that can make a cell primary (or explain a decision)."""

    THRESHOLD = "threshold"  # fewer contributors than the policy threshold
    ZEROS = "zeros"  # an empty cell, and the policy treats zeros as disclosive
    DOMINANCE = "dominance"  # (n, k): the n largest contributors exceed k% of the total
    P_PERCENT = "p_percent"  # the second largest can estimate the largest within p%
    CLASS_DISCLOSURE = "class_disclosure"  # a whole group falls in this one category
    PROTECTION = "protection"  # suppressed to protect other cells (secondary)


class TableKind(enum.Enum):
    """What the cells of a table measure."""

    FREQUENCY = "frequency"  # counts of records
    SUM = "sum"  # totals of a numeric variable
    MEAN = "mean"  # means of a numeric variable (suppression pattern of the sums)
    MIN = "min"  # order statistics: each equals one person's value (or two's, median)
    MAX = "max"
    MEDIAN = "median"


ORDER_STATISTICS = frozenset({TableKind.MIN, TableKind.MAX, TableKind.MEDIAN})
