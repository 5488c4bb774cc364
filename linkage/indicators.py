"""Quality and bias indicators per subgroup that need no ground truth.

A researcher in a TRE has no truth, but the model gives every candidate pair a match
probability, and each dataset's attributes say who its records are. Per dataset and
subgroup value (nationality group, sex, age group, unaccompanied ...) this module
reports, over the records of that group and the candidate pairs touching them:

* expected precision and recall at the run's threshold (``linkage.threshold`` gives the
  estimators and their caveats: calibration, and blocking's loss);
* the share of records whose best candidate falls in the uncertain band
  ``[low, high)``: pairs the model cannot call either way;
* the share of records in a held-back pair (clerical review);
* the share with no candidate pair at all (nothing scored above the floor).

Where truth exists (the demo, benchmarks) the same groups get measured precision and
recall from the truth tables ``linkage.evaluate`` builds, so the gap between the
expected and the measured figures shows how far the estimates can be trusted.

``covered_link_rates`` gives linkage rates to a dataset whose spec declares who it can
hold (``coverage:`` in ``specs/datasets/*.yaml``): the denominator is the records that
could be in it (for the school census, children), so absence from a dataset is not
mistaken for a missed link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from linkage.threshold import candidate_pairs_sql
from trelink.specs.dataset import CoverageSpec, dataset_spec_path, load_dataset_spec
from trelink.sql import column_types, quote_literal

__all__ = [
    "DEFAULT_UNCERTAIN_BAND",
    "CoveredLinkRate",
    "SubgroupIndicators",
    "covered_link_rates",
    "dataset_coverage",
    "subgroup_indicators",
    "uncertain_band",
]

# Probabilities the model cannot call either way; widened to take in the threshold.
DEFAULT_UNCERTAIN_BAND = (0.2, 0.8)


def uncertain_band(
    threshold: float, band: tuple[float, float] = DEFAULT_UNCERTAIN_BAND
) -> tuple[float, float]:
    """``band``, widened where needed so that the threshold falls inside it with room on
    both sides: a pair just below or just above the cut is uncertain by definition."""
    low, high = band
    return min(low, threshold / 2), max(high, (1 + threshold) / 2)


@dataclass(frozen=True)
class SubgroupIndicators:
    """Indicators of one subgroup value in one dataset (``None``: nothing to measure)."""

    dataset: str
    subgroup: str
    value: str
    records: int
    candidate_pairs: int  # pairs touching the group's records
    expected_precision: float | None
    expected_recall: float | None
    uncertain_share: float  # records whose best candidate is in the uncertain band
    held_back_share: float  # records in a held-back pair
    no_candidate_share: float  # records with no candidate pair scored
    measured_precision: float | None = None
    measured_recall: float | None = None


@dataclass(frozen=True)
class CoveredLinkRate:
    """Linkage of one dataset's records to a dataset with a declared coverage."""

    dataset: str
    target: str
    subgroup: str  # "all" for the dataset as a whole
    value: str
    records: int
    eligible: int  # records the coverage says could be in the target
    unknown: int  # records whose coverage attribute is not recorded
    linked_share: float  # of all records
    linked_share_eligible: float | None  # of the eligible records


def _tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    return {str(row[0]) for row in connection.sql("SHOW TABLES").fetchall()}


def _record_subgroups(
    connection: duckdb.DuckDBPyConnection,
    attributes: Mapping[str, str],
    subgroups: Sequence[str],
) -> bool:
    """Build ``indicator_groups`` (dataset, record_pid, subgroup, value); False if none."""
    parts = []
    for dataset, table in attributes.items():
        present = column_types(connection, table)
        for group in (name for name in subgroups if name in present):
            parts.append(
                f"SELECT {quote_literal(dataset)} AS dataset, "
                "CAST(record_pid AS VARCHAR) AS record_pid, "
                f"{quote_literal(group)} AS subgroup, "
                f"coalesce(CAST({group} AS VARCHAR), 'not recorded') AS value FROM {table}"
            )
    if not parts:
        return False
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE indicator_groups AS " + " UNION ALL ".join(parts)
    )
    return True


def subgroup_indicators(
    connection: duckdb.DuckDBPyConnection,
    *,
    attributes: Mapping[str, str],
    subgroups: Sequence[str],
    threshold: float,
    band: tuple[float, float],
    with_truth: bool,
) -> list[SubgroupIndicators]:
    """Indicators per dataset, subgroup and value, from the run's work tables.

    Needs ``scored_pairs`` and ``held_back``; with ``with_truth``, also ``judged_pairs``
    and ``true_pairs`` (``linkage.evaluate``). A pair counts for a group when either of
    its records belongs to it.
    """
    if not _record_subgroups(connection, attributes, subgroups):
        return []
    low, high = band
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE indicator_pairs AS SELECT row_number() OVER () AS pair, "
        f"* FROM ({candidate_pairs_sql()})"
    )
    # Two equi-joins, not one join on "left OR right": a join condition with OR cannot
    # be hashed, and at 1M x 1M it compared every pair with every record. A pair
    # touches a group once even where both its records belong to it; that can only
    # happen within one dataset, so only those pairs' second side is checked against
    # the first (a UNION deduplicating every row cost seconds at 1M x 1M).
    side = (
        "SELECT p.pair, g.dataset, g.subgroup, g.value FROM {{pairs}} p "
        "JOIN indicator_groups g ON g.dataset = p.dataset_{side} "
        "AND g.record_pid = p.record_pid_{side}"
    )
    touching = " UNION ALL ".join(
        [
            side.format(side="l"),
            side.format(side="r") + " WHERE p.dataset_l <> p.dataset_r",
            side.format(side="r") + " WHERE p.dataset_l = p.dataset_r AND NOT EXISTS ("
            "SELECT 1 FROM indicator_groups o WHERE o.dataset = p.dataset_l "
            "AND o.record_pid = p.record_pid_l AND o.subgroup = g.subgroup "
            "AND o.value = g.value)",
        ]
    )
    # Expected figures per group, from the candidate pairs touching its records.
    expected = {
        (str(row[0]), str(row[1]), str(row[2])): row[3:]
        for row in connection.sql(
            f"WITH touch AS ({touching.format(pairs='indicator_pairs')}) "
            "SELECT t.dataset, t.subgroup, t.value, count(*), "
            f"count(*) FILTER (WHERE p.match_probability >= {threshold} AND NOT p.held), "
            f"sum(p.match_probability) FILTER (WHERE p.match_probability >= {threshold} "
            "AND NOT p.held), sum(p.match_probability) "
            "FROM touch t JOIN indicator_pairs p USING (pair) GROUP BY ALL"
        ).fetchall()
    }
    per_record = connection.sql(
        "WITH ends AS (SELECT dataset_l AS dataset, record_pid_l AS record_pid, "
        "match_probability, held FROM indicator_pairs UNION ALL SELECT dataset_r, "
        "record_pid_r, match_probability, held FROM indicator_pairs), "
        "best AS (SELECT dataset, CAST(record_pid AS VARCHAR) AS record_pid, "
        "max(match_probability) AS best, bool_or(held) AS held FROM ends GROUP BY ALL) "
        "SELECT g.dataset, g.subgroup, g.value, count(*), "
        f"avg(CASE WHEN b.best >= {low} AND b.best < {high} THEN 1 ELSE 0 END), "
        "avg(CASE WHEN b.held THEN 1 ELSE 0 END), "
        "avg(CASE WHEN b.best IS NULL THEN 1 ELSE 0 END) "
        "FROM indicator_groups g LEFT JOIN best b USING (dataset, record_pid) "
        "GROUP BY ALL ORDER BY g.dataset, g.subgroup, g.value"
    ).fetchall()
    measured = _measured(connection, threshold, touching) if with_truth else {}
    results = []
    for dataset, subgroup, value, records, uncertain, held, none in per_record:
        key = (str(dataset), str(subgroup), str(value))
        pairs, links, linked_sum, total = expected.get(key, (0, 0, None, None))
        precision, recall = measured.get(key, (None, None))
        results.append(
            SubgroupIndicators(
                dataset=key[0],
                subgroup=key[1],
                value=key[2],
                records=int(records),
                candidate_pairs=int(pairs),
                expected_precision=float(linked_sum) / links if links else None,
                expected_recall=(float(linked_sum or 0) / float(total) if total else None),
                uncertain_share=float(uncertain),
                held_back_share=float(held),
                no_candidate_share=float(none),
                measured_precision=precision,
                measured_recall=recall,
            )
        )
    return results


def _measured(
    connection: duckdb.DuckDBPyConnection, threshold: float, touching: str
) -> dict[tuple[str, str, str], tuple[float | None, float | None]]:
    """Measured precision and recall per group from the truth work tables."""
    if not {"judged_pairs", "true_pairs"} <= _tables(connection):
        return {}
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE indicator_judged AS SELECT row_number() OVER () AS pair, "
        f"* FROM judged_pairs WHERE match_probability >= {threshold}"
    )
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE indicator_true AS SELECT row_number() OVER () AS pair, "
        "* FROM true_pairs"
    )
    linked = {
        (str(row[0]), str(row[1]), str(row[2])): (int(row[3]), int(row[4]))
        for row in connection.sql(
            f"WITH touch AS ({touching.format(pairs='indicator_judged')}) "
            "SELECT t.dataset, t.subgroup, t.value, count(*), count(*) FILTER (WHERE j.is_true) "
            "FROM touch t JOIN indicator_judged j USING (pair) GROUP BY ALL"
        ).fetchall()
    }
    true_counts = {
        (str(row[0]), str(row[1]), str(row[2])): int(row[3])
        for row in connection.sql(
            f"WITH touch AS ({touching.format(pairs='indicator_true')}) "
            "SELECT dataset, subgroup, value, count(*) FROM touch GROUP BY ALL"
        ).fetchall()
    }
    results: dict[tuple[str, str, str], tuple[float | None, float | None]] = {}
    for key in set(linked) | set(true_counts):
        links, true_links = linked.get(key, (0, 0))
        true_pairs = true_counts.get(key, 0)
        results[key] = (
            true_links / links if links else None,
            true_links / true_pairs if true_pairs else None,
        )
    return results


def dataset_coverage(datasets: Sequence[str]) -> dict[str, CoverageSpec]:
    """The declared coverage of each dataset with a shipped spec of its name that has one.

    Datasets are named as imported (``trelink import --dataset education``); a name with
    no spec in ``specs/datasets/`` (a quick-mode folder) has no coverage.
    """
    found: dict[str, CoverageSpec] = {}
    for dataset in datasets:
        path = Path(dataset_spec_path(dataset))
        if not path.is_file():
            continue
        coverage = load_dataset_spec(path).coverage
        if coverage is not None:
            found[dataset] = coverage
    return found


def covered_link_rates(
    connection: duckdb.DuckDBPyConnection,
    *,
    attributes: Mapping[str, str],
    subgroups: Sequence[str],
    coverage: Mapping[str, CoverageSpec],
) -> list[CoveredLinkRate]:
    """Share of each dataset's records whose person has a record in a covered dataset,
    of all records and of those the coverage says could be there (work table
    ``clusters``). Records whose coverage attribute is not recorded are left out of the
    eligible denominator and counted as ``unknown``."""
    rows: list[CoveredLinkRate] = []
    for target, spec in coverage.items():
        allowed = ", ".join(quote_literal(value) for value in spec.values)
        for dataset, table in attributes.items():
            present = column_types(connection, table)
            if dataset == target or spec.attribute not in present:
                continue
            groups = [name for name in subgroups if name in present]
            selects = ["SELECT 'all' AS subgroup, 'all' AS value, * FROM records"]
            selects.extend(
                f"SELECT {quote_literal(group)} AS subgroup, "
                f"coalesce(CAST({group} AS VARCHAR), 'not recorded') AS value, * FROM records"
                for group in groups
            )
            group_columns = "".join(f", a.{group}" for group in groups)
            found = connection.sql(
                "WITH target AS (SELECT DISTINCT person_id FROM clusters "
                f"WHERE dataset = {quote_literal(target)}), records AS (SELECT "
                f"CAST(a.{spec.attribute} AS VARCHAR) IN ({allowed}) AS eligible, "
                f"a.{spec.attribute} IS NULL AS unknown, "
                f"t.person_id IS NOT NULL AS linked{group_columns} "
                f"FROM clusters c JOIN {table} a ON c.dataset = {quote_literal(dataset)} "
                "AND CAST(a.record_pid AS VARCHAR) = CAST(c.record_pid AS VARCHAR) "
                "LEFT JOIN target t USING (person_id)), "
                f"grouped AS ({' UNION ALL '.join(selects)}) "
                "SELECT subgroup, value, count(*), count(*) FILTER (WHERE eligible), "
                "count(*) FILTER (WHERE unknown), avg(CASE WHEN linked THEN 1 ELSE 0 END), "
                "avg(CASE WHEN linked THEN 1 ELSE 0 END) FILTER (WHERE eligible) "
                "FROM grouped GROUP BY subgroup, value "
                "ORDER BY subgroup <> 'all', subgroup, value"
            ).fetchall()
            rows.extend(
                CoveredLinkRate(
                    dataset=dataset,
                    target=target,
                    subgroup=str(subgroup),
                    value=str(value),
                    records=int(records),
                    eligible=int(eligible),
                    unknown=int(unknown),
                    linked_share=float(share),
                    linked_share_eligible=None if share_eligible is None else float(share_eligible),
                )
                for subgroup, value, records, eligible, unknown, share, share_eligible in found
            )
    return rows
