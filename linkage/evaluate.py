"""Linkage quality against ground truth (synthetic data): precision, recall, F1.

Truth is a table of ``dataset, record_pid, person_id`` (the generator's truth mapped
through each owner's lookup; see ``docs/tre-researcher.md``). Pairs are counted in
SQL, so a million-record truth costs seconds; precision, recall and F1 follow from the
three counts (a metric whose denominator is zero is 0). A true pair that blocking never
produced counts as a false negative.

Subgroups (nationality group, sex, ...) come from the attributes tables: a person's
group is the most frequent value over their records; a pair belongs to the group of
its left record's person. Recall per group is what shows who the linkage misses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from linkage.errors import InputTableError
from linkage.job import LinkType
from trelink.atomic import atomic_file
from trelink.sql import column_types, quote_literal

__all__ = [
    "GroupMetrics",
    "LinkageMetrics",
    "QualityCounts",
    "evaluate_against_truth",
    "truth_by_record_pid",
]

SENSITIVITY_THRESHOLDS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)


@dataclass(frozen=True)
class QualityCounts:
    """Pairwise confusion counts and the metrics that follow from them."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        """Share of the links made that are true: TP / (TP + FP)."""
        return _ratio(self.true_positives, self.true_positives + self.false_positives)

    @property
    def recall(self) -> float:
        """Share of the true pairs linked: TP / (TP + FN)."""
        return _ratio(self.true_positives, self.true_positives + self.false_negatives)

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall: 2 TP / (2 TP + FP + FN)."""
        return _ratio(
            2 * self.true_positives,
            2 * self.true_positives + self.false_positives + self.false_negatives,
        )


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True)
class GroupMetrics:
    """Quality within one subgroup value."""

    subgroup: str
    value: str
    true_pairs: int
    counts: QualityCounts


@dataclass(frozen=True)
class LinkageMetrics:
    """Overall quality at the threshold, per subgroup, and across thresholds."""

    threshold: float
    overall: QualityCounts
    true_pairs: int
    by_group: tuple[GroupMetrics, ...] = ()
    by_threshold: tuple[tuple[float, QualityCounts], ...] = field(default=())


def _load_truth(
    connection: duckdb.DuckDBPyConnection, truth_path: Path, link_type: LinkType
) -> None:
    try:
        columns = {
            str(row[0])
            for row in connection.execute(
                "DESCRIBE SELECT * FROM read_parquet(?)", [str(truth_path)]
            ).fetchall()
        }
    except duckdb.Error as error:
        raise InputTableError(f"{truth_path}: cannot read the truth table") from error
    missing = sorted({"dataset", "record_pid", "person_id"} - columns)
    if missing:
        raise InputTableError(f"{truth_path}: truth table lacks columns {missing}")
    # Only records that took part in the run count.
    connection.execute(
        # DISTINCT: a record repeated in its source (an ICTG URN returned twice) is one
        # linkage record, so its truth rows count once.
        "CREATE OR REPLACE TABLE truth AS SELECT DISTINCT t.dataset, t.record_pid, "
        "CAST(t.person_id AS VARCHAR) AS true_person FROM read_parquet(?) t "
        "JOIN clusters c ON c.dataset = t.dataset AND c.record_pid = t.record_pid",
        [str(truth_path)],
    )
    allowed = {
        "link_only": "l.dataset <> r.dataset",
        "dedupe_only": "l.dataset = r.dataset",
        "link_and_dedupe": "TRUE",
    }[link_type]
    connection.execute(
        "CREATE OR REPLACE TABLE true_pairs AS SELECT l.dataset AS dataset_l, "
        "l.record_pid AS record_pid_l, r.dataset AS dataset_r, r.record_pid AS record_pid_r "
        "FROM truth l JOIN truth r ON l.true_person = r.true_person "
        "AND (l.dataset, l.record_pid) < (r.dataset, r.record_pid) "
        f"WHERE {allowed}"
    )
    # Scored pairs in the same canonical order, flagged true or not.
    connection.execute(
        "CREATE OR REPLACE TABLE judged_pairs AS WITH ordered AS ("
        "SELECT CASE WHEN (dataset_l, record_pid_l) < (dataset_r, record_pid_r) "
        "THEN dataset_l ELSE dataset_r END AS dataset_l, "
        "CASE WHEN (dataset_l, record_pid_l) < (dataset_r, record_pid_r) "
        "THEN record_pid_l ELSE record_pid_r END AS record_pid_l, "
        "CASE WHEN (dataset_l, record_pid_l) < (dataset_r, record_pid_r) "
        "THEN dataset_r ELSE dataset_l END AS dataset_r, "
        "CASE WHEN (dataset_l, record_pid_l) < (dataset_r, record_pid_r) "
        "THEN record_pid_r ELSE record_pid_l END AS record_pid_r, "
        "match_probability FROM scored_pairs) "
        "SELECT o.*, t.dataset_l IS NOT NULL AS is_true FROM ordered o LEFT JOIN true_pairs t "
        "USING (dataset_l, record_pid_l, dataset_r, record_pid_r)"
    )


def _counts(
    connection: duckdb.DuckDBPyConnection, threshold: float, where: str = "TRUE"
) -> QualityCounts:
    true_positives, false_positives = connection.sql(
        "SELECT count(*) FILTER (WHERE is_true), count(*) FILTER (WHERE NOT is_true) "
        f"FROM judged_pairs j WHERE match_probability >= {threshold} AND {where}"
    ).fetchall()[0]
    true_pairs = connection.sql(f"SELECT count(*) FROM true_pairs j WHERE {where}").fetchall()[0][0]
    return QualityCounts(
        true_positives=int(true_positives),
        false_positives=int(false_positives),
        false_negatives=int(true_pairs - true_positives),
    )


def _person_groups(
    connection: duckdb.DuckDBPyConnection,
    attributes: Mapping[str, str],
    subgroups: Sequence[str],
) -> list[str]:
    """Build ``person_groups`` (true_person, one column per subgroup); return those found."""
    found: list[str] = []
    parts: list[str] = []
    for dataset, table in attributes.items():
        columns = column_types(connection, table)
        found.extend(group for group in subgroups if group in columns and group not in found)
        selected = ", ".join(
            f"CAST({group} AS VARCHAR) AS {group}"
            if group in columns
            else f"NULL::VARCHAR AS {group}"
            for group in subgroups
        )
        parts.append(f"SELECT '{dataset}' AS dataset, record_pid, {selected} FROM {table}")
    if not found:
        return []
    modes = ", ".join(f"mode({group}) AS {group}" for group in found)
    connection.execute(
        f"CREATE OR REPLACE TABLE person_groups AS SELECT t.true_person, {modes} "
        f"FROM truth t JOIN ({' UNION ALL '.join(parts)}) a USING (dataset, record_pid) "
        "GROUP BY t.true_person"
    )
    return found


def _group_metrics(
    connection: duckdb.DuckDBPyConnection, threshold: float, groups: Sequence[str]
) -> list[GroupMetrics]:
    results: list[GroupMetrics] = []
    for group in groups:
        connection.execute(
            "CREATE OR REPLACE TEMP TABLE record_group AS SELECT t.dataset, t.record_pid, "
            f"coalesce(g.{group}, 'not recorded') AS value FROM truth t "
            "LEFT JOIN person_groups g USING (true_person)"
        )
        values = [
            str(row[0])
            for row in connection.sql(
                "SELECT DISTINCT value FROM record_group ORDER BY 1"
            ).fetchall()
        ]
        for value in values:
            where = (
                "EXISTS (SELECT 1 FROM record_group g WHERE g.dataset = j.dataset_l "
                f"AND g.record_pid = j.record_pid_l AND g.value = {quote_literal(value)})"
            )
            counts = _counts(connection, threshold, where)
            true_pairs = counts.true_positives + counts.false_negatives
            results.append(
                GroupMetrics(subgroup=group, value=value, true_pairs=true_pairs, counts=counts)
            )
    return results


def evaluate_against_truth(
    connection: duckdb.DuckDBPyConnection,
    *,
    truth_path: Path,
    link_type: LinkType,
    threshold: float,
    attributes: Mapping[str, str],
    subgroups: Sequence[str],
) -> LinkageMetrics:
    """Metrics of the work tables ``scored_pairs``/``clusters`` against ``truth_path``."""
    _load_truth(connection, truth_path, link_type)
    overall = _counts(connection, threshold)
    groups = _person_groups(connection, attributes, subgroups)
    return LinkageMetrics(
        threshold=threshold,
        overall=overall,
        true_pairs=overall.true_positives + overall.false_negatives,
        by_group=tuple(_group_metrics(connection, threshold, groups)),
        by_threshold=tuple((level, _counts(connection, level)) for level in SENSITIVITY_THRESHOLDS),
    )


def truth_by_record_pid(truth_records: Path, lookups: Mapping[str, Path], out: Path) -> Path:
    """Write the truth ``run`` needs: ``dataset, record_pid, person_id``.

    Synthetic data only. The generator's truth (``dataset, record_id, person_id``) is
    mapped through each owner's ``lookup.parquet`` (``record_id, record_pid``), keyed by
    dataset name. A real TRE never holds lookups; this exists for benchmarks, tests and
    the demo, which play every role.
    """
    if not lookups:
        raise InputTableError("no lookups given to map the truth to record pids")
    union = " UNION ALL ".join(
        f"SELECT '{dataset}' AS dataset, record_id, record_pid FROM read_parquet(?)"
        for dataset in lookups
    )
    with atomic_file(out) as temporary:
        duckdb.execute(
            f"COPY (SELECT DISTINCT t.dataset, l.record_pid, "
            f"CAST(t.person_id AS VARCHAR) AS person_id "
            f"FROM read_parquet(?) t JOIN ({union}) l USING (dataset, record_id)) "
            f"TO '{temporary}' (FORMAT parquet)",
            [str(truth_records), *(str(path) for path in lookups.values())],
        )
    return out
