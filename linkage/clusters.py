"""The person spine: connected components of linked pairs, one ``person_id`` each.

Splink's cluster ids are record ids of one member; ``person_id`` replaces them with a
neutral sequence number (``P000001``...) in a deterministic order, so the spine does
not expose which record anchors a cluster. Repeat records of one person in a single
dataset (repeat NRM referrals of the same child) are counted here because the
research could not see them in anonymised NRM data.
"""

from __future__ import annotations

from dataclasses import dataclass

from splink.internals.splink_dataframe import SplinkDataFrame

from linkage.backends import Backend, column_names

__all__ = ["Spine", "assign_persons"]


@dataclass(frozen=True)
class Spine:
    """Counts describing the spine table ``clusters`` (dataset, record_pid, person_id)."""

    records: int
    persons: int
    persons_in_several_datasets: int
    repeats_dataset: str | None
    repeat_persons: int | None  # persons with more than one record in ``repeats_dataset``
    repeat_records: int | None  # records beyond each such person's first


def assign_persons(
    backend: Backend,
    clustered: SplinkDataFrame,
    *,
    datasets: list[str],
    repeats_dataset: str | None,
) -> Spine:
    """Write the work table ``clusters`` from Splink's clustering and count the spine."""
    columns = column_names(clustered)
    dataset = "source_dataset" if "source_dataset" in columns else "'" + datasets[0] + "'"
    backend.to_work(
        clustered,
        "raw_clusters",
        select=f"{dataset} AS dataset, record_pid, cluster_id",
    )
    connection = backend.connection
    connection.execute(
        "CREATE OR REPLACE TABLE clusters AS SELECT dataset, record_pid, "
        "'P' || lpad(CAST(dense_rank() OVER (ORDER BY cluster_id) AS VARCHAR), 7, '0') "
        "AS person_id FROM raw_clusters"
    )
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
