"""The person spine: connected components of linked pairs, one ``person_id`` each.

Splink's cluster ids are record ids of one member; ``person_id`` replaces them with a
neutral sequence number (``P000001``...) in a deterministic order, so the spine does
not expose which record anchors a cluster. Repeat records of one person in a single
dataset (repeat NRM referrals of the same child) are counted here because the
research could not see them in anonymised NRM data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
from splink import DuckDBAPI
from splink.clustering import cluster_pairwise_predictions_at_threshold

__all__ = ["Spine", "build_spine"]


@dataclass(frozen=True)
class Spine:
    """Counts describing the spine table ``clusters`` (dataset, record_pid, person_id)."""

    records: int
    persons: int
    persons_in_several_datasets: int
    repeats_dataset: str | None
    repeat_persons: int | None  # persons with more than one record in ``repeats_dataset``
    repeat_records: int | None  # records beyond each such person's first


def build_spine(
    connection: duckdb.DuckDBPyConnection,
    *,
    tables: Mapping[str, str],
    threshold: float,
    repeats_dataset: str | None,
) -> Spine:
    """Cluster the work table ``scored_pairs`` into the work table ``clusters``.

    Clustering always runs on DuckDB over the scored pairs, whatever backend scored
    them: the pairs above a threshold are small beside the inputs, and Splink's
    connected components on Spark would cost one job per iteration.
    """
    nodes = " UNION ALL ".join(
        f"SELECT '{dataset}' AS dataset, record_pid FROM {table}"
        for dataset, table in tables.items()
    )
    connection.execute(
        "CREATE OR REPLACE TABLE spine_nodes AS SELECT row_number() OVER () AS node_id, "
        f"dataset, record_pid FROM ({nodes})"
    )
    connection.execute(
        "CREATE OR REPLACE TABLE spine_edges AS SELECT l.node_id AS node_id_l, "
        "r.node_id AS node_id_r, p.match_probability FROM scored_pairs p "
        "JOIN spine_nodes l ON l.dataset = p.dataset_l AND l.record_pid = p.record_pid_l "
        "JOIN spine_nodes r ON r.dataset = p.dataset_r AND r.record_pid = p.record_pid_r "
        f"WHERE p.match_probability >= {threshold}"
    )
    clustered = cluster_pairwise_predictions_at_threshold(
        "spine_nodes",
        "spine_edges",
        db_api=DuckDBAPI(connection),
        node_id_column_name="node_id",
        threshold_match_probability=threshold,
    )
    connection.execute(
        "CREATE OR REPLACE TABLE clusters AS SELECT n.dataset, n.record_pid, "
        "'P' || lpad(CAST(dense_rank() OVER (ORDER BY c.cluster_id) AS VARCHAR), 7, '0') "
        f"AS person_id FROM {clustered.physical_name} c JOIN spine_nodes n USING (node_id)"
    )
    return _count(connection, [*tables], repeats_dataset)


def _count(
    connection: duckdb.DuckDBPyConnection, datasets: list[str], repeats_dataset: str | None
) -> Spine:
    records, persons = connection.sql(
        "SELECT count(*), count(DISTINCT person_id) FROM clusters"
    ).fetchall()[0]
    several = connection.sql(
        "SELECT count(*) FROM (SELECT person_id FROM clusters GROUP BY person_id "
        "HAVING count(DISTINCT dataset) > 1)"
    ).fetchall()[0][0]
    repeat_persons = repeat_records = None
    if repeats_dataset is not None and repeats_dataset in datasets:
        repeat_persons, repeat_records = connection.execute(
            "SELECT count(*), coalesce(sum(n - 1), 0) FROM (SELECT person_id, count(*) AS n "
            "FROM clusters WHERE dataset = ? GROUP BY person_id HAVING count(*) > 1)",
            [repeats_dataset],
        ).fetchall()[0]
    return Spine(
        records=int(records),
        persons=int(persons),
        persons_in_several_datasets=int(several),
        repeats_dataset=repeats_dataset if repeat_persons is not None else None,
        repeat_persons=None if repeat_persons is None else int(repeat_persons),
        repeat_records=None if repeat_records is None else int(repeat_records),
    )
