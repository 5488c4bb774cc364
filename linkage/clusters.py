"""The person spine: connected components of linked pairs, one ``person_id`` each.

Splink's cluster ids are record ids of one member; ``person_id`` replaces them with a
neutral sequence number (``P000001``...) in a deterministic order, so the spine does
not expose which record anchors a cluster. Repeat records of one person in a single
dataset (repeat NRM referrals of the same child) are counted here because the
research could not see them in anonymised NRM data.

Cannot-link pairs (records a clerical reviewer labelled different people) split a
person that links alone would join. Within such a person the links are added back
strongest first (must-link pairs, those a reviewer labelled match, before all others;
then by match probability; ties by record order), and a link is cut when it would put
two records labelled non-match in one person: the links cut are the weakest on the
paths between them, and every stronger link stays. Records A-B (0.99), B-C (0.85) with
A-C labelled non-match end as {A, B} and {C}, with B-C cut. A must-link pair is never
cut: when match labels alone join two records labelled non-match, the labels contradict
each other, the pair stays in one person and is counted (``Spine.contradicted_pairs``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

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
    separated_pairs: int = 0  # cannot-link pairs links had put in one person, now apart
    cut_links: int = 0  # links cut to separate them (the work table ``spine_cut_links``)
    contradicted_pairs: int = 0  # cannot-link pairs must-link pairs alone join


def build_spine(
    connection: duckdb.DuckDBPyConnection,
    *,
    tables: Mapping[str, str],
    threshold: float,
    repeats_dataset: str | None,
    cannot_link: str | None = None,
    must_link: str | None = None,
) -> Spine:
    """Cluster the work table ``scored_pairs`` into the work table ``clusters``.

    Clustering always runs on DuckDB over the scored pairs, whatever backend scored
    them: the pairs above a threshold are small beside the inputs, and Splink's
    connected components on Spark would cost one job per iteration. ``cannot_link``
    names a work table of pairs (``dataset_l, record_pid_l, dataset_r, record_pid_r``)
    that must not share a person and ``must_link`` pairs whose link is never cut
    (module docstring); the links cut are left in the work table ``spine_cut_links``
    (the pair columns and ``match_probability``).
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
        "CREATE OR REPLACE TABLE spine_components AS SELECT node_id, cluster_id "
        f"FROM {clustered.physical_name}"
    )
    separated, cut, contradicted = 0, 0, 0
    if cannot_link is not None:
        separated, cut, contradicted = _separate(connection, cannot_link, must_link)
    connection.execute(
        "CREATE OR REPLACE TABLE clusters AS SELECT n.dataset, n.record_pid, "
        "'P' || lpad(CAST(dense_rank() OVER (ORDER BY c.cluster_id) AS VARCHAR), 7, '0') "
        "AS person_id FROM spine_components c JOIN spine_nodes n USING (node_id)"
    )
    counted = _count(connection, [*tables], repeats_dataset)
    return replace(
        counted, separated_pairs=separated, cut_links=cut, contradicted_pairs=contradicted
    )


def _node_pairs(table: str) -> str:
    """The pairs of ``table`` as node ids, with the component both nodes were put in
    (null when links put them apart)."""
    return (
        "SELECT l.node_id AS node_id_l, r.node_id AS node_id_r, "
        "CASE WHEN cl.cluster_id = cr.cluster_id THEN cl.cluster_id END AS cluster_id FROM "
        f"(SELECT DISTINCT dataset_l, record_pid_l, dataset_r, record_pid_r FROM {table}) c "
        "JOIN spine_nodes l ON l.dataset = c.dataset_l "
        "AND l.record_pid = CAST(c.record_pid_l AS VARCHAR) "
        "JOIN spine_nodes r ON r.dataset = c.dataset_r "
        "AND r.record_pid = CAST(c.record_pid_r AS VARCHAR) "
        "JOIN spine_components cl ON cl.node_id = l.node_id "
        "JOIN spine_components cr ON cr.node_id = r.node_id WHERE l.node_id <> r.node_id"
    )


def _separate(
    connection: duckdb.DuckDBPyConnection, cannot_link: str, must_link: str | None
) -> tuple[int, int, int]:
    """Split the components of ``spine_components`` that hold a cannot-link pair; write
    the links cut into ``spine_cut_links``; return (pairs separated, links cut, pairs
    must-link pairs join)."""
    connection.execute(
        "CREATE OR REPLACE TABLE spine_cannot AS SELECT * FROM "
        f"({_node_pairs(cannot_link)}) WHERE cluster_id IS NOT NULL"
    )
    must = (
        "SELECT NULL::BIGINT AS node_id_l, NULL::BIGINT AS node_id_r WHERE false"
        if must_link is None
        else f"SELECT node_id_l, node_id_r FROM ({_node_pairs(must_link)})"
    )
    cannot = connection.execute("SELECT node_id_l, node_id_r FROM spine_cannot").fetchall()
    edges = connection.execute(
        f"WITH must AS ({must}) SELECT e.node_id_l, e.node_id_r, EXISTS (SELECT 1 FROM must m "
        "WHERE (m.node_id_l = e.node_id_l AND m.node_id_r = e.node_id_r) OR "
        "(m.node_id_l = e.node_id_r AND m.node_id_r = e.node_id_l)) AS must_link "
        "FROM spine_edges e JOIN spine_components c ON c.node_id = e.node_id_l "
        "WHERE c.cluster_id IN (SELECT cluster_id FROM spine_cannot) "
        "ORDER BY must_link DESC, e.match_probability DESC, e.node_id_l, e.node_id_r"
    ).fetchall()
    members, cut = _split_components(edges, cannot)
    connection.execute(
        "CREATE OR REPLACE TABLE spine_cut_links (dataset_l VARCHAR, record_pid_l VARCHAR, "
        "dataset_r VARCHAR, record_pid_r VARCHAR, match_probability DOUBLE)"
    )
    if members:
        connection.execute(
            "CREATE OR REPLACE TEMP TABLE spine_split (node_id BIGINT, cluster_id BIGINT)"
        )
        connection.executemany("INSERT INTO spine_split VALUES (?, ?)", list(members.items()))
        connection.execute(
            "UPDATE spine_components c SET cluster_id = s.cluster_id FROM spine_split s "
            "WHERE s.node_id = c.node_id"
        )
        connection.execute("DROP TABLE spine_split")
    if cut:
        connection.execute(
            "CREATE OR REPLACE TEMP TABLE spine_cut (node_id_l BIGINT, node_id_r BIGINT)"
        )
        connection.executemany("INSERT INTO spine_cut VALUES (?, ?)", cut)
        connection.execute(
            "INSERT INTO spine_cut_links SELECT l.dataset, l.record_pid, r.dataset, "
            "r.record_pid, e.match_probability FROM spine_cut c JOIN spine_edges e "
            "USING (node_id_l, node_id_r) JOIN spine_nodes l ON l.node_id = c.node_id_l "
            "JOIN spine_nodes r ON r.node_id = c.node_id_r"
        )
        connection.execute("DROP TABLE spine_cut")
    joined = sum(1 for left, right in cannot if members[left] == members[right])
    return len(cannot) - joined, len(cut), joined


def _split_components(
    edges: Sequence[tuple[int, int, bool]], cannot: Sequence[tuple[int, int]]
) -> tuple[dict[int, int], list[tuple[int, int]]]:
    """Join the nodes of ``edges`` (strongest first) unless a join would put a pair of
    ``cannot`` in one component, or the edge must link; return each node's component
    (its smallest node id) and the edges left between components (those cut)."""
    parent: dict[int, int] = {}
    forbidden: dict[int, set[int]] = {}
    for left, right in cannot:
        forbidden.setdefault(left, set()).add(right)
        forbidden.setdefault(right, set()).add(left)
    members: dict[int, set[int]] = {}

    def root(node: int) -> int:
        parent.setdefault(node, node)
        members.setdefault(node, {node})
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    skipped: list[tuple[int, int]] = []
    for left, right, must in edges:
        a, b = root(left), root(right)
        if a == b:
            continue
        if not must and forbidden.get(a, set()) & members[b]:
            skipped.append((left, right))
            continue
        if len(members[a]) < len(members[b]):
            a, b = b, a
        parent[b] = a
        members[a] |= members.pop(b)
        forbidden[a] = forbidden.get(a, set()) | forbidden.pop(b, set())
    component = {node: min(members[root(node)]) for node in list(parent)}
    cut = [(left, right) for left, right in skipped if component[left] != component[right]]
    return component, cut


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
