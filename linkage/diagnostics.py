"""Splink's diagnostics on tokens: the model's levels, warnings, and offline dashboards.

* ``level_rows``: m, u and the partial match weight of every comparison level, each
  with the warnings a reviewer should act on: a weight beyond ``EXTREME_WEIGHT`` that
  no clerical label supports (one level alone then decides every pair it touches), and
  an m below ``MIN_CHANGEABLE_M`` for the disagreement of a field people change
  (postcode, address): the model then believes true matches never move.
* ``clip_match_weights_chart``: Splink's match-weights chart with its axis cut to the
  ordinary weights, so one extreme level no longer squeezes the others into a line.
* ``write_dashboards``: Splink's comparison viewer and cluster studio, written as
  self-contained HTML (their JavaScript inlined from the copies Splink ships). Both
  embed the compared column values; here those are tokens, which no report may show,
  so every compared value is replaced before Splink sees it: in the comparison viewer
  by ``A`` on the left and ``A`` or ``B`` on the right (same token or not; lists as
  their length and the number of shared tokens), in the cluster studio by letters
  numbered within each cluster (two records with ``A`` share a token). Pseudonymous
  record ids (``record_pid``) stay, so a pair can be found in ``pairs.parquet``.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from splink import Linker
from splink.internals.splink_dataframe import SplinkDataFrame

from trelink.sql import column_types, quote_literal

__all__ = [
    "EXTREME_WEIGHT",
    "MIN_CHANGEABLE_M",
    "LevelRow",
    "clip_match_weights_chart",
    "level_rows",
    "write_dashboards",
]

EXTREME_WEIGHT = 30.0  # |log2 Bayes factor|: a factor above a billion
MIN_CHANGEABLE_M = 1e-3
# Splink's dashboard templates ask Google for a web font; a TRE has no internet, and a
# page opened there should not try to reach it.
_WEB_FONT = re.compile(r"<link[^>]*fonts\.(?:googleapis|gstatic)\.com[^>]*>\n?")
# Columns of a prediction that are ids or numbers, never token values.
_SAFE_BASES = frozenset({"record_pid", "source_dataset"})


@dataclass(frozen=True)
class LevelRow:
    """One comparison level of the trained model."""

    comparison: str
    level: str
    gamma: int
    m_probability: float | None
    u_probability: float | None
    match_weight: float | None  # log2(m / u); None when m or u is not trained
    warnings: tuple[str, ...]


def _weight_warnings(
    row: LevelRow, *, changeable: bool, labelled: bool, is_else: bool
) -> tuple[str, ...]:
    found: list[str] = []
    weight = row.match_weight
    if weight is not None and abs(weight) > EXTREME_WEIGHT and not labelled:
        found.append(
            f"{row.comparison} / {row.level}: weight {weight:+.1f} (a Bayes factor of "
            f"2^{abs(weight):.0f}) with no clerical label behind it; one level this strong "
            "decides every pair it touches whatever the other comparisons say. EM learns "
            "such a weight when a level (almost) never occurs among the pairs it takes "
            "for matches, e.g. an identifier one dataset lacks or one whose errors the "
            "training blocks cannot see; check with labels or fix m before trusting it"
        )
    if (
        changeable
        and is_else
        and row.m_probability is not None
        and row.m_probability < MIN_CHANGEABLE_M
    ):
        found.append(
            f"{row.comparison} / {row.level}: m = {row.m_probability:.2g}, so the model "
            "believes a true match almost never disagrees on a field people change "
            "(moves, new addresses); people who moved between records will be missed"
        )
    if row.m_probability is None or row.u_probability is None:
        found.append(
            f"{row.comparison} / {row.level}: not trained (no pairs reached this level); "
            "Splink uses its default, so treat the weight as a guess"
        )
    return tuple(found)


def level_rows(linker: Linker, *, changeable: Collection[str], labelled: bool) -> list[LevelRow]:
    """Every non-null level of the model, strongest first within each comparison."""
    rows: list[LevelRow] = []
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            m_value = level._m_probability
            u_value = level._u_probability
            m = float(m_value) if isinstance(m_value, (int, float)) else None
            u = float(u_value) if isinstance(u_value, (int, float)) else None
            weight = None
            if m is not None and u is not None and m > 0 and u > 0:
                weight = math.log2(m / u)
            bare = LevelRow(
                comparison=comparison.output_column_name,
                level=level.label_for_charts,
                gamma=int(level.comparison_vector_value),
                m_probability=m,
                u_probability=u,
                match_weight=weight,
                warnings=(),
            )
            warnings = _weight_warnings(
                bare,
                changeable=comparison.output_column_name in changeable,
                labelled=labelled,
                is_else=level.comparison_vector_value == 0,
            )
            rows.append(
                LevelRow(**{**bare.__dict__, "warnings": warnings}),
            )
    return rows


def axis_limit(rows: Sequence[LevelRow]) -> float | None:
    """The weight axis's half-width when some level is extreme, else ``None``.

    Wide enough for every ordinary level (rounded up to 5, at least 10)."""
    weights = [abs(row.match_weight) for row in rows if row.match_weight is not None]
    if not weights or max(weights) <= EXTREME_WEIGHT:
        return None
    ordinary = [weight for weight in weights if weight <= EXTREME_WEIGHT]
    return float(max(10, 5 * math.ceil(max(ordinary, default=10) / 5)))


def clip_match_weights_chart(chart: dict[str, Any], limit: float | None) -> dict[str, Any]:
    """Splink's match-weights chart with its axis cut to ``[-limit, limit]`` (bars
    beyond it are clipped; their tooltips still give the value)."""
    if limit is None:
        return chart
    for panel in chart.get("vconcat", []):
        scale = panel.get("encoding", {}).get("x", {}).setdefault("scale", {})
        scale["domain"] = [-limit, limit]
        mark = panel.get("mark")
        if isinstance(mark, dict):
            mark["clip"] = True
    return chart


# ---------------------------------------------------------------------------------------
# Dashboards


def _compared_bases(columns: Mapping[str, str]) -> list[str]:
    """Bases ``X`` of every ``X_l``/``X_r`` pair that may hold a value (not an id or a
    term frequency)."""
    return [
        name[:-2]
        for name in columns
        if name.endswith("_l")
        and f"{name[:-2]}_r" in columns
        and name[:-2] not in _SAFE_BASES
        and not name.startswith("tf_")
    ]


def _agreement_sql(base: str, kind: str) -> str:
    left, right = f'"{base}_l"', f'"{base}_r"'
    if kind.endswith("[]"):
        return (
            f"CASE WHEN {left} IS NULL THEN NULL ELSE 'list of ' || len({left}) END "
            f"AS \"{base}_l\", CASE WHEN {right} IS NULL THEN NULL ELSE 'list of ' || "
            f"len({right}) || ', ' || coalesce(len(list_filter({left}, "
            f"lambda token: list_contains({right}, token))), 0) "
            f"|| ' shared' END AS \"{base}_r\""
        )
    return (
        f"CASE WHEN {left} IS NULL THEN NULL ELSE 'A' END AS \"{base}_l\", "
        f"CASE WHEN {right} IS NULL THEN NULL WHEN {left} = {right} THEN 'A' ELSE 'B' END "
        f'AS "{base}_r"'
    )


def _masked_predictions(connection: duckdb.DuckDBPyConnection, predictions: str) -> str:
    """A copy of ``predictions`` whose compared values show agreement only."""
    columns = column_types(connection, predictions)
    bases = _compared_bases(columns)
    replaced = {f"{base}_{side}" for base in bases for side in "lr"}
    kept = [f'"{name}"' for name in columns if name not in replaced]
    masked = [_agreement_sql(base, columns[f"{base}_l"]) for base in bases]
    # A view: the dashboard counts comparison patterns over every scored pair but shows
    # a few examples of each, so only those rows are ever masked (a masked table was a
    # copy of all the predictions, minutes at 1M x 1M).
    connection.execute(
        "CREATE OR REPLACE VIEW diagnostics_predictions AS SELECT "
        # Splink picks each pattern's examples by the table's rowid
        + ", ".join([*kept, *masked, "rowid AS rowid"])
        + f" FROM {predictions}"
    )
    return "diagnostics_predictions"


def _letters(index: int) -> str:
    letters = string.ascii_uppercase
    text = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        text = letters[remainder] + text
    return text


class _ClusterAliases:
    """Letters for token values, numbered within each cluster and column."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], dict[Any, str]] = {}

    def one(self, cluster: str, column: str, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, list):
            return ", ".join(sorted({self.one(cluster, column, item) or "" for item in value}))
        mapping = self._seen.setdefault((cluster, column), {})
        key = str(value)
        if key not in mapping:
            mapping[key] = _letters(len(mapping))
        return mapping[key]


def _sample_clusters(
    connection: duckdb.DuckDBPyConnection, threshold: float, count: int
) -> list[str]:
    """Clusters of several records, the least certain first (lowest best-edge
    probability among their links), then the largest."""
    rows = connection.sql(
        "WITH edges AS (SELECT a.person_id, p.match_probability FROM scored_pairs p "
        "JOIN clusters a ON a.dataset = p.dataset_l AND a.record_pid = p.record_pid_l "
        "JOIN clusters b ON b.dataset = p.dataset_r AND b.record_pid = p.record_pid_r "
        f"AND b.person_id = a.person_id WHERE p.match_probability >= {threshold}), "
        "sizes AS (SELECT person_id, count(*) AS records FROM clusters GROUP BY 1 "
        "HAVING count(*) > 1) "
        "SELECT s.person_id FROM sizes s LEFT JOIN (SELECT person_id, "
        "min(match_probability) AS weakest FROM edges GROUP BY 1) e USING (person_id) "
        "ORDER BY e.weakest NULLS LAST, s.records DESC, s.person_id "
        f"LIMIT {int(count)}"
    ).fetchall()
    return [str(row[0]) for row in rows]


def _studio_tables(
    connection: duckdb.DuckDBPyConnection,
    *,
    predictions: str,
    tables: Mapping[str, str],
    clusters: Sequence[str],
) -> tuple[str, str]:
    """Nodes and edges of ``clusters`` with token values replaced by cluster letters."""
    aliases = _ClusterAliases()
    listed = ", ".join(quote_literal(cluster) for cluster in clusters)
    node_rows: list[dict[str, Any]] = []
    for dataset, table in tables.items():
        quoted = quote_literal(dataset)
        relation = connection.sql(
            f"SELECT c.person_id AS cluster_id, {quoted} AS source_dataset, t.* "
            f"FROM {table} t JOIN clusters c ON c.dataset = {quoted} "
            f"AND c.record_pid = t.record_pid WHERE c.person_id IN ({listed})"
        )
        names = relation.columns
        for values in relation.fetchall():
            row = dict(zip(names, values, strict=True))
            cluster = str(row["cluster_id"])
            node_rows.append(
                {
                    name: (
                        value
                        if name in ("cluster_id", "source_dataset", "record_pid")
                        else aliases.one(cluster, name, value)
                    )
                    for name, value in row.items()
                }
            )
    columns = column_types(connection, predictions)
    if "source_dataset_l" in columns:
        left_dataset, right_dataset = "p.source_dataset_l", "p.source_dataset_r"
    else:  # one deduplicated dataset carries no source column
        only = quote_literal(next(iter(tables)))
        left_dataset = right_dataset = only
    relation = connection.sql(
        f"SELECT a.person_id AS __cluster, p.* FROM {predictions} p "
        f"JOIN clusters a ON a.dataset = {left_dataset} AND a.record_pid = p.record_pid_l "
        f"JOIN clusters b ON b.dataset = {right_dataset} AND b.record_pid = p.record_pid_r "
        f"WHERE a.person_id IN ({listed}) AND b.person_id = a.person_id"
    )
    names = relation.columns[1:]
    bases = _compared_bases(columns)
    edge_rows: list[dict[str, Any]] = []
    for cluster_value, *edge_values in relation.fetchall():
        row = dict(zip(names, edge_values, strict=True))
        cluster = str(cluster_value)
        for base in bases:
            for side in "lr":
                row[f"{base}_{side}"] = aliases.one(cluster, base, row[f"{base}_{side}"])
        edge_rows.append(row)
    connection.from_arrow(_as_table(node_rows)).create("diagnostics_nodes")
    connection.from_arrow(_as_table(edge_rows, names)).create("diagnostics_edges")
    return "diagnostics_nodes", "diagnostics_edges"


def _as_table(rows: Sequence[Mapping[str, Any]], names: Sequence[str] = ()) -> pa.Table:
    if not rows:
        return pa.table({name: pa.array([], pa.string()) for name in names})
    return pa.Table.from_pylist([dict(row) for row in rows])


def _drop_work(connection: duckdb.DuckDBPyConnection) -> None:
    """Drop the dashboards' work relations: the masked view and the studio's tables."""
    connection.execute("DROP VIEW IF EXISTS diagnostics_predictions")
    connection.execute("DROP TABLE IF EXISTS diagnostics_nodes")
    connection.execute("DROP TABLE IF EXISTS diagnostics_edges")


def write_dashboards(
    directory: Path,
    *,
    linker: Linker,
    connection: duckdb.DuckDBPyConnection,
    predictions: SplinkDataFrame,
    tables: Mapping[str, str],
    threshold: float,
    clusters: int = 20,
) -> list[str]:
    """Write ``comparison_viewer.html`` and ``cluster_studio.html`` into ``directory``.

    DuckDB backend only (the predictions must be a table of ``connection``); returns
    the file names written.
    """
    ((scored,),) = connection.sql(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()
    if not scored:  # nothing to view
        return []
    directory.mkdir(parents=True, exist_ok=True)
    db_api = linker._db_api
    _drop_work(connection)
    masked = _masked_predictions(connection, predictions.physical_name)
    viewer_input = db_api.table_to_splink_dataframe("__splink__df_predict", masked)
    linker.visualisations.comparison_viewer_dashboard(
        viewer_input, str(directory / "comparison_viewer.html"), overwrite=True
    )
    written = ["comparison_viewer.html"]
    sample = _sample_clusters(connection, threshold, clusters)
    if sample:
        nodes, edges = _studio_tables(
            connection, predictions=predictions.physical_name, tables=tables, clusters=sample
        )
        linker.visualisations.cluster_studio_dashboard(
            db_api.table_to_splink_dataframe("__splink__df_predict", edges),
            db_api.table_to_splink_dataframe("__splink__df_clustered", nodes),
            str(directory / "cluster_studio.html"),
            cluster_ids=sample,
            overwrite=True,
        )
        written.append("cluster_studio.html")
    for name in written:
        page = directory / name
        page.write_text(_WEB_FONT.sub("", page.read_text(encoding="utf-8")), encoding="utf-8")
    _drop_work(connection)
    return written
