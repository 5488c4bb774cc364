"""The linkage report: one HTML file that opens offline inside the TRE.

It holds Splink's own charts (match weights, cut to the ordinary weights when one is
extreme; m and u; unlinkables; a waterfall for example pairs; the match-weight
histogram), the model's levels with warnings (``linkage.diagnostics``), match rates
per dataset, linkage rates by subgroup from the attributes, the model's uncertainty
per subgroup and coverage-aware rates (``linkage.indicators``), expected quality
across thresholds with a recommendation (``linkage.threshold``), and
precision/recall/F1 where truth exists. Splink's comparison viewer and cluster studio
go beside it, in ``diagnostics/``, with token values masked.
The report's own charts are made with Altair (``linkage.report_charts``). The chart
libraries (vega, vega-lite, vega-embed) are embedded once from the copies Splink
ships, so nothing is fetched from a CDN. The report shows tokens' effects
only: waterfalls are drawn with ``remove_sensitive_data=True``, so no token or value
of any record appears.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import jinja2
from splink import Linker
from splink.internals.html_utils import load_chart_libraries
from splink.internals.splink_dataframe import SplinkDataFrame

from linkage.backends import Backend
from linkage.clusters import Spine
from linkage.diagnostics import (
    axis_limit,
    clip_match_weights_chart,
    level_rows,
    write_dashboards,
)
from linkage.errors import LinkageError
from linkage.evaluate import SENSITIVITY_THRESHOLDS, LinkageMetrics
from linkage.indicators import (
    covered_link_rates,
    dataset_coverage,
    subgroup_indicators,
    uncertain_band,
)
from linkage.inputs import PreparedInputs
from linkage.job import LinkJob
from linkage.report_charts import bar_chart, quality_curve_chart
from linkage.threshold import (
    ExpectedQuality,
    candidate_pairs_sql,
    expected_quality_curve,
    recommend_threshold,
)
from trelink.atomic import atomic_file
from trelink.sql import column_types

__all__ = ["ReportInputs", "subgroup_link_rates", "write_report"]

_TEMPLATE = Path(__file__).with_name("report.html.j2")


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report draws from; the work tables live in ``backend.connection``."""

    linker: Linker
    backend: Backend
    predictions: SplinkDataFrame
    prepared: PreparedInputs
    job: LinkJob
    spine: Spine
    metrics: LinkageMetrics | None
    # Comparisons of fields people change (``em_plan.changeable_comparisons``), for the
    # model's warnings.
    changeable: frozenset[str] = frozenset()
    # The linker the unlinkables chart scores records with and how many records it holds
    # when that is a random sample (a large run: every record scored against itself cost
    # as much as scoring two million pairs); None: ``linker`` itself, every record.
    unlinkables: tuple[Linker, int] | None = None


def _rows(connection: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    relation = connection.sql(sql)
    names = relation.columns
    return [dict(zip(names, values, strict=True)) for values in relation.fetchall()]


_PER_PERSON = "report_per_person"


def _per_person(connection: duckdb.DuckDBPyConnection) -> str:
    """Make the work table of each person's spread (in more than one dataset, more than
    one record) from ``clusters``; return its name. ``write_report`` makes it once for
    all its rates (at 1M records each query that grouped the clusters again cost about
    a second)."""
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {_PER_PERSON} AS SELECT person_id, "
        "max(dataset) <> min(dataset) AS elsewhere, count(*) > 1 AS linked "
        "FROM clusters GROUP BY person_id"
    )
    return _PER_PERSON


def _dataset_rates(connection: duckdb.DuckDBPyConnection, per_person: str) -> list[dict[str, Any]]:
    """Per dataset: records, share linked to another dataset, share with any link."""
    return _rows(
        connection,
        "SELECT c.dataset, count(*) AS records, "
        "avg(CASE WHEN p.elsewhere THEN 1 ELSE 0 END) AS linked_elsewhere, "
        "avg(CASE WHEN p.linked THEN 1 ELSE 0 END) AS any_link "
        f"FROM clusters c JOIN {per_person} p USING (person_id) "
        "GROUP BY c.dataset ORDER BY 1",
    )


def subgroup_link_rates(
    connection: duckdb.DuckDBPyConnection,
    attributes: Mapping[str, str],
    subgroups: Sequence[str],
    *,
    per_person: str | None = None,
) -> list[dict[str, Any]]:
    """Share of each dataset's records linked to another dataset, by subgroup value.

    Needs the work table ``clusters``, and ``per_person`` (``_per_person``'s table) if
    the caller has made it. No truth is needed, so this runs on real data.
    """
    rows: list[dict[str, Any]] = []
    per_person = per_person if per_person is not None else _per_person(connection)
    for dataset, table in attributes.items():
        columns = column_types(connection, table)
        for group in (name for name in subgroups if name in columns):
            rows.extend(
                _rows(
                    connection,
                    f"SELECT '{dataset}' AS dataset, '{group}' AS subgroup, "
                    f"coalesce(CAST(a.{group} AS VARCHAR), 'not recorded') AS value, "
                    "count(*) AS records, "
                    "avg(CASE WHEN p.elsewhere THEN 1 ELSE 0 END) AS linked_elsewhere "
                    f"FROM clusters c JOIN {table} a ON c.dataset = '{dataset}' "
                    f"AND a.record_pid = c.record_pid JOIN {per_person} p USING (person_id) "
                    "GROUP BY ALL ORDER BY value",
                )
            )
    return rows


def _threshold_rows(
    connection: duckdb.DuckDBPyConnection,
    metrics: LinkageMetrics | None,
    curve: Sequence[ExpectedQuality],
) -> list[dict[str, Any]]:
    quality = dict(metrics.by_threshold) if metrics is not None else {}
    expected = {point.threshold: point for point in curve}
    rows = []
    for threshold in SENSITIVITY_THRESHOLDS:
        pairs = connection.sql(
            f"SELECT count(*) FROM scored_pairs WHERE match_probability >= {threshold}"
        ).fetchall()[0][0]
        row: dict[str, Any] = {"threshold": threshold, "pairs": int(pairs)}
        point = expected.get(threshold)
        if point is not None:
            row.update(
                expected_precision=point.expected_precision,
                expected_recall=point.expected_recall,
                expected_f1=point.expected_f1,
            )
        if threshold in quality:
            counts = quality[threshold]
            row.update(precision=counts.precision, recall=counts.recall, f1=counts.f1)
        rows.append(row)
    return rows


def _example_pairs(inputs: ReportInputs) -> list[dict[str, Any]]:
    """A few scored pairs: strong links, pairs near the threshold, and weak ones."""
    table = inputs.predictions.physical_name
    threshold = inputs.job.threshold
    order = "record_pid_l, record_pid_r"
    queries = [
        f"SELECT * FROM {table} WHERE match_probability >= {threshold} "
        f"ORDER BY match_weight DESC, {order} LIMIT 2",
        f"SELECT * FROM {table} ORDER BY abs(match_probability - {threshold}), {order} LIMIT 3",
        f"SELECT * FROM {table} WHERE match_probability < {threshold} "
        f"ORDER BY match_weight DESC, {order} LIMIT 2",
    ]
    records: list[dict[str, Any]] = []
    for query in queries:
        if inputs.backend.spark is not None:
            found = [row.asDict() for row in inputs.backend.spark.sql(query).collect()]
        else:
            found = _rows(inputs.backend.connection, query)
        records.extend(found)
    return records


def _splink_charts(inputs: ReportInputs) -> dict[str, dict[str, Any]]:
    visualisations = inputs.linker.visualisations
    charts = {
        "match_weights": visualisations.match_weights_chart().chart_dict,
        "m_u": visualisations.m_u_parameters_chart().chart_dict,
        "histogram": visualisations.match_weights_histogram(inputs.predictions).chart_dict,
    }
    if len(inputs.linker._em_training_sessions) > 1:
        charts["estimates"] = visualisations.parameter_estimate_comparisons_chart().chart_dict
    examples = _example_pairs(inputs)
    if examples:
        charts["waterfall"] = visualisations.waterfall_chart(
            examples, filter_nulls=True, remove_sensitive_data=True
        ).chart_dict
    return charts


def _curve_chart(
    curve: Sequence[ExpectedQuality],
    metrics: LinkageMetrics | None,
    *,
    threshold: float,
    recommended: ExpectedQuality | None,
) -> dict[str, Any]:
    """Expected precision, recall and F1 against the threshold (lines); measured ones
    where truth exists (points); the run's and the recommended threshold (rules)."""
    values: list[dict[str, Any]] = [
        {"threshold": point.threshold, "measure": f"expected {name}", "value": value}
        for point in curve
        for name, value in (
            ("precision", point.expected_precision),
            ("recall", point.expected_recall),
            ("F1", point.expected_f1),
        )
    ]
    measured = [
        {"threshold": level, "measure": f"measured {name}", "value": value}
        for level, counts in (metrics.by_threshold if metrics is not None else ())
        for name, value in (("precision", counts.precision), ("recall", counts.recall))
    ]
    rules = [{"threshold": threshold, "which": "run's threshold"}]
    if recommended is not None:
        rules.append({"threshold": recommended.threshold, "which": "recommended"})
    return quality_curve_chart(
        values,
        measured,
        rules,
        title="Expected quality by threshold (from the model's probabilities)",
    )


def _diagnostics(inputs: ReportInputs, charts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Everything the report's diagnostics, indicators and threshold sections show."""
    connection = inputs.backend.connection
    job = inputs.job
    levels = level_rows(
        inputs.linker,
        changeable=inputs.changeable,
        labelled=job.training.label_column is not None,
    )
    limit = axis_limit(levels)
    charts["match_weights"] = clip_match_weights_chart(charts["match_weights"], limit)
    scorer, sampled = inputs.unlinkables or (inputs.linker, None)
    charts["unlinkables"] = scorer.evaluation.unlinkables_chart().chart_dict
    pairs_sql = candidate_pairs_sql()
    curve = expected_quality_curve(connection, pairs_sql)
    try:
        recommended: ExpectedQuality | None = recommend_threshold(curve)
    except LinkageError:
        recommended = None
    (at_threshold,) = expected_quality_curve(connection, pairs_sql, (job.threshold,))
    charts["expected_quality"] = _curve_chart(
        curve, inputs.metrics, threshold=job.threshold, recommended=recommended
    )
    band = uncertain_band(job.threshold)
    return {
        "unlinkables_sample": sampled,
        "levels": levels,
        "weight_warnings": [warning for row in levels for warning in row.warnings],
        "axis_limit": limit,
        "curve": curve,
        "recommended": recommended,
        "at_threshold": at_threshold,
        "band": band,
        "indicators": subgroup_indicators(
            connection,
            attributes=inputs.prepared.attributes,
            subgroups=job.subgroups,
            threshold=job.threshold,
            band=band,
            with_truth=inputs.metrics is not None,
        ),
        "coverage": covered_link_rates(
            connection,
            attributes=inputs.prepared.attributes,
            subgroups=job.subgroups,
            coverage=dataset_coverage(list(inputs.prepared.tables)),
        ),
    }


def _companion_pages(path: Path, inputs: ReportInputs) -> list[str]:
    """Splink's comparison viewer and cluster studio beside the report (DuckDB only)."""
    if inputs.backend.spark is not None:
        return []
    directory = path.parent / "diagnostics"
    written = write_dashboards(
        directory,
        linker=inputs.linker,
        connection=inputs.backend.connection,
        predictions=inputs.predictions,
        tables=inputs.prepared.tables,
        threshold=inputs.job.cluster_threshold,
    )
    return [f"diagnostics/{name}" for name in written]


def _json_for_script(value: Any) -> str:
    # Inside a <script> element nothing may close the element or open a comment.
    return (
        json.dumps(value, default=float)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def write_report(path: Path, inputs: ReportInputs) -> None:
    """Render the report to ``path`` (atomically)."""
    connection = inputs.backend.connection
    metrics = inputs.metrics
    per_person = _per_person(connection)
    dataset_rates = _dataset_rates(connection, per_person)
    subgroup_rates = subgroup_link_rates(
        connection, inputs.prepared.attributes, inputs.job.subgroups, per_person=per_person
    )
    charts = _splink_charts(inputs)
    diagnostics = _diagnostics(inputs, charts)
    companion = _companion_pages(path, inputs)
    charts["dataset_rates"] = bar_chart(
        dataset_rates,
        title="Records linked to another dataset",
        category="dataset",
        measure="linked_elsewhere",
    )
    for group in dict.fromkeys(row["subgroup"] for row in subgroup_rates):
        rows = [row for row in subgroup_rates if row["subgroup"] == group]
        charts[f"subgroup_{group}"] = bar_chart(
            rows,
            title=f"Linked to another dataset, by {group.replace('_', ' ')}",
            category="value",
            measure="linked_elsewhere",
            colour="dataset",
        )
    if metrics is not None:
        for group in dict.fromkeys(item.subgroup for item in metrics.by_group):
            charts[f"recall_{group}"] = bar_chart(
                [
                    {"value": item.value, "recall": item.counts.recall}
                    for item in metrics.by_group
                    if item.subgroup == group
                ],
                title=f"Recall of true pairs, by {group.replace('_', ' ')}",
                category="value",
                measure="recall",
            )
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(_TEMPLATE.read_text(encoding="utf-8"))
    libraries: dict[str, str] = load_chart_libraries()  # type: ignore[no-untyped-call]
    html = template.render(
        job=inputs.job,
        prepared=inputs.prepared,
        backend=inputs.backend.name,
        records=inputs.prepared.record_counts,
        comparisons=[comparison.name for comparison in inputs.prepared.comparisons],
        spine=inputs.spine,
        pairs=connection.sql(
            f"SELECT count(*) FROM scored_pairs WHERE match_probability >= {inputs.job.threshold}"
        ).fetchall()[0][0],
        held_back=connection.sql(
            "SELECT rule, count(*) AS pairs FROM held_back GROUP BY rule ORDER BY rule"
        ).fetchall(),
        dataset_rates=dataset_rates,
        subgroup_rates=subgroup_rates,
        thresholds=_threshold_rows(connection, metrics, diagnostics["curve"]),
        metrics=metrics,
        companion=companion,
        **diagnostics,
        chart_specs=_json_for_script(charts),
        chart_names=list(charts),
        vega=libraries["vega"],
        vega_lite=libraries["vega-lite"],
        vega_embed=libraries["vega-embed"],
    )
    with atomic_file(path) as temporary:
        temporary.write_text(html, encoding="utf-8")
