"""Expected precision, recall and F1 across thresholds, from the model's own probabilities.

Without ground truth a researcher can still ask the model what it expects. Each scored
pair's ``match_probability`` p is the model's probability that the pair is a true
match, so over the candidate pairs (every pair the blocking rules produced and scoring
kept, p >= the sensitivity floor):

* expected true pairs among the candidates: ``T = sum(p)``;
* at a threshold t, with L the pairs linked (p >= t and not held back):
  expected true links ``S = sum(p over L)``;
* expected precision ``S / |L|`` (the mean probability of the links);
* expected recall ``S / T``;
* expected F1 ``2 S / (|L| + T)``.

Caveats, repeated in the report and the guide: the estimates are only as good as the
model's calibration (EM on tokens tends to be over-confident: probabilities near 0 and 1
pile up), and recall is relative to the candidates: true pairs that blocking never
produced, or that scored below the floor, are missing from ``T``, so expected recall
over-states true recall by the blocking's loss.

Recommendation rule (``recommend_threshold``): with no precision target, the threshold
on the grid with the highest expected F1 (ties to the higher threshold). Adding a pair of
probability p raises ``S`` by p and ``|L|`` by 1, which raises F1 only if p > F1 / 2,
so the best threshold is about half the best expected F1 (near 0.5 for a good model).
With a precision target, the lowest threshold whose expected precision reaches it
(the most links the target allows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from linkage.errors import LinkageError

__all__ = [
    "THRESHOLD_GRID",
    "ExpectedQuality",
    "auto_threshold",
    "candidate_pairs_sql",
    "expected_quality",
    "expected_quality_curve",
    "recommend_threshold",
    "run_expectation",
]

# 0.01 to 0.99 in steps of 0.01, then the high end the sensitivity table also shows.
THRESHOLD_GRID: tuple[float, ...] = (
    *(round(step / 100, 2) for step in range(1, 100)),
    0.995,
    0.999,
)


@dataclass(frozen=True)
class ExpectedQuality:
    """What the model expects at one threshold (see the module docstring)."""

    threshold: float
    links: int  # candidate pairs at or above the threshold, not held back
    expected_true_links: float  # S
    expected_true_pairs: float  # T
    expected_precision: float
    expected_recall: float
    expected_f1: float


def candidate_pairs_sql(*, with_held_back: bool = True, held_as_links: bool = False) -> str:
    """Every scored pair of the run's work tables, with a ``held`` flag.

    ``scored_pairs`` lost the held-back pairs (``held_back``), which still count among
    the candidates: they are pairs the model scored, only not linked. With
    ``held_as_links`` they are flagged as linkable, as scoring left them (what
    ``--threshold auto`` sees before the hold-back rules run).
    """
    scored = (
        "SELECT dataset_l, record_pid_l, dataset_r, record_pid_r, match_probability, "
        "false AS held FROM scored_pairs"
    )
    if not with_held_back:
        return scored
    return (
        f"{scored} UNION ALL SELECT dataset_l, record_pid_l, dataset_r, record_pid_r, "
        f"match_probability, {'false' if held_as_links else 'true'} AS held FROM held_back"
    )


def _quality(threshold: float, links: int, linked_sum: float, total: float) -> ExpectedQuality:
    precision = linked_sum / links if links else 0.0
    recall = linked_sum / total if total else 0.0
    f1 = 2 * linked_sum / (links + total) if links + total else 0.0
    return ExpectedQuality(
        threshold=threshold,
        links=links,
        expected_true_links=linked_sum,
        expected_true_pairs=total,
        expected_precision=precision,
        expected_recall=recall,
        expected_f1=f1,
    )


def expected_quality_curve(
    connection: duckdb.DuckDBPyConnection,
    pairs_sql: str,
    thresholds: Sequence[float] = THRESHOLD_GRID,
) -> list[ExpectedQuality]:
    """Expected quality at each threshold over the pairs ``pairs_sql`` selects.

    ``pairs_sql`` yields ``match_probability`` and a boolean ``held`` (a held-back pair
    is a candidate but never a link); one pass in SQL whatever the number of pairs.
    """
    if not thresholds:
        return []
    values = ", ".join(f"({float(threshold)!r})" for threshold in thresholds)
    rows = connection.sql(
        f"WITH pairs AS ({pairs_sql}), grid(threshold) AS (VALUES {values}), "
        "total AS (SELECT coalesce(sum(match_probability), 0) AS total FROM pairs) "
        "SELECT g.threshold, count(p.match_probability), "
        "coalesce(sum(p.match_probability), 0), any_value(t.total) "
        "FROM grid g CROSS JOIN total t LEFT JOIN pairs p "
        "ON p.match_probability >= g.threshold AND NOT p.held "
        "GROUP BY g.threshold ORDER BY g.threshold"
    ).fetchall()
    return [
        _quality(float(threshold), int(links), float(linked), float(total))
        for threshold, links, linked, total in rows
    ]


def expected_quality(
    connection: duckdb.DuckDBPyConnection, pairs_sql: str, threshold: float
) -> ExpectedQuality:
    """Expected quality at one threshold (``expected_quality_curve`` of one point)."""
    (point,) = expected_quality_curve(connection, pairs_sql, (threshold,))
    return point


def recommend_threshold(
    curve: Sequence[ExpectedQuality], *, min_precision: float | None = None
) -> ExpectedQuality:
    """The recommended point of ``curve`` (the rule is in the module docstring).

    Raises ``LinkageError`` when the curve is empty, no pair was scored, or no
    threshold reaches ``min_precision``.
    """
    if not curve or curve[0].expected_true_pairs <= 0:
        raise LinkageError("no candidate pairs were scored, so no threshold can be recommended")
    if min_precision is None:
        return max(curve, key=lambda point: (round(point.expected_f1, 12), point.threshold))
    reaching = [
        point for point in curve if point.links and point.expected_precision >= min_precision
    ]
    if not reaching:
        best = max(point.expected_precision for point in curve)
        raise LinkageError(
            f"no threshold reaches an expected precision of {min_precision}; "
            f"the highest on the grid is {best:.4f}"
        )
    return min(reaching, key=lambda point: point.threshold)


def run_expectation(
    connection: duckdb.DuckDBPyConnection, threshold: float
) -> tuple[ExpectedQuality, ExpectedQuality | None]:
    """A finished run's expected quality at ``threshold`` and the recommended point
    (``None`` when no pair was scored), over its work tables ``scored_pairs`` and
    ``held_back``. The recommended point is the one ``--threshold auto`` links at: it
    counts the held-back pairs as scoring left them, since which pairs a rule holds back
    depends on the threshold chosen."""
    at_threshold = expected_quality(connection, candidate_pairs_sql(), threshold)
    try:
        recommended: ExpectedQuality | None = recommend_threshold(
            expected_quality_curve(connection, candidate_pairs_sql(held_as_links=True))
        )
    except LinkageError:
        recommended = None
    return at_threshold, recommended


def auto_threshold(connection: duckdb.DuckDBPyConnection) -> ExpectedQuality:
    """The recommended point over the work table ``scored_pairs`` as scoring left it
    (before hold-back rules and clerical labels): what ``--threshold auto`` links at."""
    curve = expected_quality_curve(connection, candidate_pairs_sql(with_held_back=False))
    return recommend_threshold(curve)
