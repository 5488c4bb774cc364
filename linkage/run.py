"""One linkage run, start to finish: inputs → model → pairs → person spine → report.

``link_datasets`` is what ``trelink link`` (both modes) and the demo call. Everything
it writes lands in ``out_dir`` at once, when the whole run has succeeded; work files
(DuckDB spill, Spark checkpoints) live in a temporary directory beside it and are
removed whatever happens.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn
from scipy.stats import binom
from splink import Linker

from linkage.backends import Backend, BackendName, check_spark_conf, column_names, open_backend
from linkage.blocking import capped_blocks_sql, prediction_blocking_rules
from linkage.clerical import (
    apply_clerical_labels,
    estimate_from_labels,
    hold_back_cut_links,
    record_pairs,
)
from linkage.clusters import build_spine
from linkage.em_plan import (
    EmPlan,
    candidate_blocks,
    changeable_comparisons,
    filled_shares,
    informative_comparisons,
    plan_sessions,
)
from linkage.errors import JobParameterError, JobSpecError, LinkageError
from linkage.evaluate import LinkageMetrics, evaluate_against_truth
from linkage.inputs import DatasetSource, PreparedInputs, prepare_inputs
from linkage.job import HoldBackRule, LinkJob
from linkage.model import apply_trained_parameters, build_settings, level_gammas, read_model
from linkage.report import ReportInputs, write_report
from linkage.review_pack import write_review_candidates
from linkage.term_frequencies import register_pair_excluded_term_frequencies
from linkage.threshold import ExpectedQuality, auto_threshold, run_expectation
from linkage.training import train_model
from trelink.atomic import atomic_directory
from trelink.console import progress as step_display
from trelink.specs.match_keys import MatchKeySpec
from trelink.sql import column_types, quote_literal

if TYPE_CHECKING:
    import pandas as pd

    from linkage.workbench import LinkerSession

__all__ = ["LinkResult", "link_datasets"]

# Pairs are scored down to this probability so the report can show what a lower
# threshold would add; only pairs at or above the job's threshold are links.
SENSITIVITY_FLOOR = 0.01


@dataclass(frozen=True)
class LinkResult:
    """What a run produced, for the command line and callers such as the demo."""

    out_dir: Path
    records: dict[str, int]
    pairs: int
    persons: int
    repeat_persons: int | None
    threshold: float
    held_back: int  # pairs above the threshold held back by the job's hold-back rules
    notes: tuple[str, ...]  # what the inputs could not give as the spec intends
    metrics: LinkageMetrics | None
    seconds: float
    step_seconds: dict[str, float]  # wall time of each step, e.g. "scoring candidate pairs"
    # What the run linked, so the linker can be rebuilt in a notebook (``open_linker``).
    sources: tuple[DatasetSource, ...] = field(default=(), repr=False)
    job: LinkJob | None = field(default=None, repr=False)  # with its match-key spec
    # What the model expects at the threshold, and the threshold it recommends
    # (``linkage.threshold``); None when no pair was scored.
    expected: ExpectedQuality | None = None
    recommended: ExpectedQuality | None = None

    def predictions(self) -> pd.DataFrame:
        """The links (``pairs.parquet``): one row per pair at or above the threshold."""
        from linkage.workbench import read_output_table

        return read_output_table(self.out_dir, "pairs")

    def clusters(self) -> pd.DataFrame:
        """The spine (``clusters.parquet``): one row per record, with its ``person_id``."""
        from linkage.workbench import read_output_table

        return read_output_table(self.out_dir, "clusters")

    def held_back_pairs(self) -> pd.DataFrame:
        """Pairs above the threshold held back by a hold-back rule (``held_back.parquet``)."""
        from linkage.workbench import read_output_table

        return read_output_table(self.out_dir, "held_back")

    def open_linker(self, *, memory_limit: str = "4GB") -> LinkerSession:
        """Splink's linker for this run's model and inputs, for its charts and dashboards.

        Use it as a context manager (or call ``close()``): it holds a DuckDB connection.
        """
        from linkage.workbench import open_linker

        return open_linker(
            self.out_dir,
            self.sources,
            job=self.job,
            memory_limit=memory_limit,
        )


def _select_sources(sources: Sequence[DatasetSource], job: LinkJob) -> list[DatasetSource]:
    if not job.datasets:
        return list(sources)
    by_name = {source.name: source for source in sources}
    unknown = [name for name in job.datasets if name not in by_name]
    if unknown:
        raise JobSpecError(
            f"datasets: {unknown} not found; available datasets are {sorted(by_name)}"
        )
    return [by_name[name] for name in job.datasets]


def _job_or_default(job: LinkJob | None, match_keys: MatchKeySpec | None) -> LinkJob:
    """``job`` (default ``LinkJob()``), checked against ``match_keys`` when they are given."""
    if job is None:
        return LinkJob() if match_keys is None else LinkJob(match_keys=match_keys)
    return job if match_keys is None else job.with_changes(match_keys=match_keys)


def _check_job(job: LinkJob, sources: Sequence[DatasetSource]) -> None:
    """What a job asks of the datasets given to the run (the job checked itself)."""
    if job.link_type == "dedupe_only" and len(sources) != 1:
        raise JobSpecError(
            f"link_type dedupe_only takes one dataset, got {len(sources)}; "
            "use link_and_dedupe to link and deduplicate several"
        )
    if job.link_type != "dedupe_only" and len(sources) < 2:
        raise JobSpecError(f"link_type {job.link_type} needs at least two datasets")


@contextmanager
def _progress(enabled: bool, timings: dict[str, float]) -> Iterator[Callable[[str], None]]:
    """A ``step(description)`` callback that shows progress and times each step."""
    running = {"starting": time.perf_counter()}

    def record(description: str) -> None:
        now = time.perf_counter()
        (previous, started), *_ = running.items()
        timings[previous] = now - started
        running.clear()
        running[description] = now

    if not enabled:
        yield record
        record("done")
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    # On stderr and only on a terminal: stdout holds results (--json), logs no spinner.
    with step_display(*columns, transient=False) as progress:
        task = progress.add_task("starting", total=None)

        def step(description: str) -> None:
            record(description)
            progress.update(task, description=description)

        yield step
        step("done")


def load_job_inputs(
    connection: duckdb.DuckDBPyConnection,
    sources: Sequence[DatasetSource],
    job: LinkJob,
) -> PreparedInputs:
    """Check ``sources`` and load the work tables ``job`` needs into ``connection``,
    capped blocking columns included (what a run and a linker session both start from)."""
    prepared = prepare_inputs(
        connection,
        sources,
        match_keys=job.match_keys,
        comparisons=job.effective_comparisons,
        required_comparisons=job.required_comparisons,
        extra_columns=_extra_keys(job),
        label_column=job.training.label_column,
        attribute_columns=job.attribute_comparisons,
    )
    _add_capped_blocks(connection, job, prepared)
    return prepared


def _extra_keys(job: LinkJob) -> list[str]:
    keys: list[str] = []
    for rule in job.blocking_rules:
        keys.extend(rule.keys)
    for block in (*job.em_blocks, *job.training.prior_rules):
        keys.extend(block)
    return keys


def _prediction_select(columns: Sequence[str], datasets: Sequence[str]) -> str:
    if "source_dataset_l" in columns:
        left, right = "source_dataset_l", "source_dataset_r"
    else:  # a single deduplicated dataset carries no source column
        left = right = "'" + datasets[0] + "'"
    return (
        f"{left} AS dataset_l, record_pid_l, {right} AS dataset_r, record_pid_r, "
        "match_weight, match_probability"
    )


def _held_back_sql(rules: Sequence[HoldBackRule], gammas: Mapping[tuple[str, str], int]) -> str:
    """A ``held_back`` column: the first hold-back rule a scored pair meets, else null.

    ``gammas`` gives each level's value in its ``gamma_`` column (``level_gammas``); a
    rule whose comparison or levels the run lacks (the default rule under overridden
    comparisons) cannot hold, nor can an ``unless`` comparison the run lacks agree.
    """
    top: dict[str, int] = {}
    for (name, _label), value in gammas.items():
        top[name] = max(value, top.get(name, value))
    cases: list[str] = []
    for rule in rules:
        if any((rule.comparison, label) not in gammas for label in rule.levels):
            continue
        levels = ", ".join(str(gammas[rule.comparison, label]) for label in rule.levels)
        condition = [f"gamma_{rule.comparison} IN ({levels})"]
        condition.extend(
            f"gamma_{name} IS DISTINCT FROM {top[name]}" for name in rule.unless if name in top
        )
        cases.append(f"WHEN {' AND '.join(condition)} THEN {quote_literal(rule.name)}")
    if not cases:
        return "CAST(NULL AS VARCHAR) AS held_back"
    return f"CASE {' '.join(cases)} END AS held_back"


# The twins test: among pairs that fit a hold-back pattern, the share whose records
# record different sexes must be at least ``TWIN_SEX_SHARE`` and improbable under the
# recording-error rate of ordinary links (binomial tail below ``TWIN_SIGNIFICANCE``,
# the error rate taken as at least ``MIN_SEX_ERROR``). Half of twin pairs differ in
# sex; a misrecorded forename of one person almost never does.
TWIN_SEX_SHARE = 0.1
TWIN_SIGNIFICANCE = 0.001
MIN_SEX_ERROR = 0.01


@dataclass(frozen=True)
class HoldBackOutcome:
    held_back: int  # pairs above the threshold held back
    note: str | None  # why the rules were or were not applied


def _sexes_sql(connection: duckdb.DuckDBPyConnection, attributes: Mapping[str, str]) -> str | None:
    parts = []
    for dataset, table in attributes.items():
        if "sex" in column_types(connection, table):
            parts.append(
                f"SELECT {quote_literal(dataset)} AS dataset, "
                "CAST(record_pid AS VARCHAR) AS record_pid, "
                f"CAST(sex AS VARCHAR) AS sex FROM {table} WHERE sex IS NOT NULL"
            )
    return " UNION ALL ".join(parts) if parts else None


def _sex_disagreement(
    connection: duckdb.DuckDBPyConnection, sexes: str, threshold: float, pattern: bool
) -> tuple[int, int]:
    """Pairs above the threshold (pattern pairs, or ordinary links) with both sexes
    recorded, and how many of them differ."""
    rows = connection.execute(
        f"WITH sexes AS ({sexes}) SELECT count(*), count(*) FILTER (WHERE a.sex <> b.sex) "
        "FROM scored_pairs p JOIN sexes a ON a.dataset = p.dataset_l "
        "AND a.record_pid = p.record_pid_l JOIN sexes b ON b.dataset = p.dataset_r "
        f"AND b.record_pid = p.record_pid_r WHERE p.match_probability >= {threshold} "
        f"AND p.held_back IS {'NOT ' if pattern else ''}NULL"
    ).fetchall()
    return int(rows[0][0]), int(rows[0][1])


def _hold_back(
    connection: duckdb.DuckDBPyConnection,
    threshold: float,
    staging: Path,
    attributes: Mapping[str, str],
) -> HoldBackOutcome:
    """Move held-back pairs out of ``scored_pairs``; write those above the threshold.

    A hold-back rule (twins: surname, date of birth and address shared, forenames
    nothing alike) encodes an assumption about the population, so it applies only when
    the data support it: the pattern's pairs must record different sexes far more often
    than ordinary links do (see ``TWIN_SEX_SHARE``), too often to be recording error.
    Where they do not, or no dataset records sex, the pattern is taken for what the
    model says it is (on FEBRL and an adult register, a misrecorded forename of one
    person) and its pairs stay links.
    """
    ((pattern_pairs,),) = connection.execute(
        f"SELECT count(*) FROM scored_pairs WHERE held_back IS NOT NULL "
        f"AND match_probability >= {threshold}"
    ).fetchall()
    note: str | None = None
    apply = False
    if pattern_pairs:
        sexes = _sexes_sql(connection, attributes)
        if sexes is None:
            note = (
                f"hold-back rules not applied to {pattern_pairs:,} pair(s): no dataset "
                "records sex, so nothing shows that the pattern is twins rather than a "
                "misrecorded forename; they stay links"
            )
        else:
            compared, differ = _sex_disagreement(connection, sexes, threshold, pattern=True)
            linked, linked_differ = _sex_disagreement(connection, sexes, threshold, pattern=False)
            share = differ / compared if compared else 0.0
            baseline = linked_differ / linked if linked else 0.0
            chance = float(binom.sf(differ - 1, compared, max(baseline, MIN_SEX_ERROR)))
            apply = compared > 0 and share >= TWIN_SEX_SHARE and chance < TWIN_SIGNIFICANCE
            verdict = "applied" if apply else "not applied; they stay links"
            note = (
                f"hold-back rules {verdict}: {pattern_pairs:,} pair(s) fit the pattern; "
                f"{share:.1%} of {compared:,} with both sexes recorded differ in sex, "
                f"against {baseline:.1%} of ordinary links (twins differ half the time)"
            )
    condition = f"held_back IS NOT NULL AND match_probability >= {threshold}"
    connection.execute(
        "CREATE OR REPLACE TABLE held_back AS SELECT * EXCLUDE (held_back), held_back AS rule "
        f"FROM scored_pairs WHERE {condition if apply else 'false'} "
        "ORDER BY dataset_l, record_pid_l, dataset_r, record_pid_r"
    )
    if apply:
        connection.execute(f"DELETE FROM scored_pairs WHERE {condition}")
    connection.execute("ALTER TABLE scored_pairs DROP COLUMN held_back")
    connection.execute(f"COPY held_back TO '{staging / 'held_back.parquet'}' (FORMAT parquet)")
    ((count,),) = connection.execute("SELECT count(*) FROM held_back").fetchall()
    return HoldBackOutcome(held_back=int(count), note=note)


def _make_linker(
    backend: Backend,
    prepared: PreparedInputs,
    job: LinkJob,
    model_path: Path | None,
    *,
    frequency_tables: Mapping[str, str] | None = None,
) -> tuple[Linker, bool]:
    """Splink's linker over ``prepared``'s tables, with the model at ``model_path`` if
    given; ``frequency_tables`` (default: the same tables) are those term frequencies
    are counted in."""
    available = prepared.available
    rules = prediction_blocking_rules(job.blocking_rules, available=available)
    if not rules:
        raise JobSpecError("blocking: no rule can run on these datasets' token columns")
    settings = build_settings(
        prepared.comparisons,
        dialect=backend.dialect,
        link_type=job.link_type,
        blocking_rules=rules,
        retain_intermediate=True,
        attribute_columns=prepared.attribute_columns,
    )
    trained = False
    if model_path is not None:
        settings = apply_trained_parameters(settings, read_model(model_path), source=model_path)
        trained = True
    frames = [
        backend.register(table, dataset=dataset) for dataset, table in prepared.tables.items()
    ]
    linker = Linker(frames if len(frames) > 1 else frames[0], settings, log_level=logging.ERROR)
    if trained:
        # Counted in the same tables as the run's own (frequency_tables given): the
        # tables that run made are registered again, not counted again.
        register_pair_excluded_term_frequencies(
            linker,
            backend,
            frequency_tables or prepared.tables,
            reuse=frequency_tables is not None,
        )
    return linker, trained


# The report's unlinkables chart scores records against themselves: every record up to
# this many, a seeded random sample of this many beyond (at 1M x 1M all two million
# cost as much as scoring two million pairs; the sample's shares are within about 0.3
# points of them at 95%).
UNLINKABLES_SAMPLE = 100_000


def _unlinkables_linker(
    backend: Backend, prepared: PreparedInputs, job: LinkJob, model_file: Path
) -> tuple[Linker, int] | None:
    """A linker with the run's model over a random sample of its records, and the
    sample's size; None when the run is small enough to score every record."""
    connection = backend.connection
    counts = prepared.record_counts  # the work tables' rows: one per linkage record
    total = sum(counts.values())
    if total <= UNLINKABLES_SAMPLE:
        return None
    sampled: dict[str, str] = {}
    drawn = 0
    for dataset, table in prepared.tables.items():
        rows = max(1, round(UNLINKABLES_SAMPLE * counts[dataset] / total))
        name = f"{table}_unlinkables_sample"
        # Drawn on the record ids alone, then joined: sampling the wide table itself
        # took twice as long at 1M records.
        connection.execute(
            f"CREATE OR REPLACE TABLE {name} AS SELECT t.* FROM {table} t SEMI JOIN ("
            f"SELECT record_pid FROM {table} USING SAMPLE reservoir({rows} ROWS) "
            f"REPEATABLE ({job.training.seed})) drawn USING (record_pid)"
        )
        sampled[dataset] = name
        drawn += min(rows, counts[dataset])
    linker, _trained = _make_linker(
        backend.sibling("_unlinkables_sample"),
        replace(prepared, tables=sampled),
        job,
        model_file,
        frequency_tables=prepared.tables,
    )
    return linker, drawn


def link_datasets(
    sources: Sequence[DatasetSource],
    *,
    out_dir: str | os.PathLike[str],
    job: LinkJob | None = None,
    match_keys: MatchKeySpec | None = None,
    backend: BackendName = "duckdb",
    threshold: float | Literal["auto"] | None = None,
    model_path: str | os.PathLike[str] | None = None,
    truth_path: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
    memory_limit: str = "8GB",
    spark_conf: Mapping[str, str] | None = None,
    clerical_labels: Sequence[Path] = (),
) -> LinkResult:
    """Link ``sources`` and write pairs, clusters, model and report into ``out_dir``.

    Paths may be ``str`` or ``Path``. The result gives the written tables
    (``LinkResult.predictions``, ``clusters``) and Splink's linker
    (``LinkResult.open_linker``); see docs/python-api.md. ``spark_conf`` overrides
    trelink's Spark settings (``--backend spark`` only). ``clerical_labels`` are
    files from ``trelink review-import``: their pairs' decisions are fixed whatever the
    model says (``linkage.clerical``). ``match_keys``, the spec the datasets were
    pseudonymised with, replaces the job's (``LinkJob.match_keys``, by default the
    shipped one) and the job is checked against it.
    """
    started = time.perf_counter()
    if spark_conf:
        if backend != "spark":
            raise LinkageError("--spark-conf applies to --backend spark only")
        check_spark_conf(spark_conf)  # a bad setting fails before any work
    job = _job_or_default(job, match_keys)
    automatic = threshold == "auto"  # the threshold of highest expected F1
    if isinstance(threshold, str) and not automatic:
        raise JobParameterError(
            "threshold", f"must be a match probability in (0, 1) or auto, not {threshold!r}"
        )
    if isinstance(threshold, float | int) and not automatic:
        job = job.with_changes(threshold=threshold)
    selected = _select_sources(sources, job)
    _check_job(job, selected)
    out_dir = Path(out_dir)
    model_file = None if model_path is None else Path(model_path)
    truth_file = None if truth_path is None else Path(truth_path)
    timings: dict[str, float] = {}
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise LinkageError(f"{out_dir} already exists and is not empty; choose another path")
    with (
        atomic_directory(out_dir, overwrite=overwrite) as staging,
        tempfile.TemporaryDirectory(prefix=".link-work-", dir=out_dir.parent) as work,
        _progress(show_progress, timings) as step,
    ):
        result = _run(
            selected,
            job=job,
            backend_name=backend,
            model_path=model_file,
            truth_path=truth_file,
            staging=staging,
            workdir=Path(work),
            step=step,
            memory_limit=memory_limit,
            spark_conf=spark_conf,
            clerical_labels=clerical_labels,
            automatic_threshold=automatic,
        )
    timings.pop("done", None)
    return LinkResult(
        out_dir=out_dir,
        seconds=time.perf_counter() - started,
        step_seconds=timings,
        sources=tuple(selected),
        job=job,
        **result,
    )


def _run(
    sources: Sequence[DatasetSource],
    *,
    job: LinkJob,
    backend_name: BackendName,
    model_path: Path | None,
    truth_path: Path | None,
    staging: Path,
    workdir: Path,
    step: Callable[[str], None],
    memory_limit: str,
    spark_conf: Mapping[str, str] | None,
    clerical_labels: Sequence[Path] = (),
    automatic_threshold: bool = False,
) -> dict[str, Any]:
    connection = duckdb.connect(
        ":memory:",
        config={"temp_directory": str(workdir / "duckdb_spill"), "memory_limit": memory_limit},
    )
    try:
        step("checking and loading the datasets")
        prepared = load_job_inputs(connection, sources, job)
        with open_backend(
            backend_name, connection=connection, workdir=workdir, spark_conf=spark_conf
        ) as backend:
            return _link(
                prepared,
                backend,
                job,
                model_path,
                truth_path,
                staging,
                step,
                clerical_labels,
                automatic_threshold,
            )
    finally:
        connection.close()


def _add_capped_blocks(
    connection: duckdb.DuckDBPyConnection, job: LinkJob, prepared: PreparedInputs
) -> None:
    """Give each input table the columns of the job's frequency-capped blocking rules."""
    tables = list(prepared.tables.values())
    for statement in capped_blocks_sql(
        job.blocking_rules, tables=tables, available=prepared.available
    ):
        connection.execute(statement)


def _pair_filled_share(
    connection: duckdb.DuckDBPyConnection, prepared: PreparedInputs, link_type: str
) -> Callable[[tuple[str, ...]], float]:
    """The share of the run's pairs whose two records both fill every one of some keys
    (pairs across datasets when linking only; all pairs otherwise)."""

    def share(keys: tuple[str, ...]) -> float:
        if not set(keys) <= prepared.available:
            return 0.0
        present = " AND ".join(f"{key} IS NOT NULL" for key in keys)
        counted: list[tuple[int, int]] = []
        for table in prepared.tables.values():
            ((records, filled),) = connection.execute(
                f"SELECT count(*), count(*) FILTER (WHERE {present}) FROM {table}"
            ).fetchall()
            counted.append((int(records), int(filled)))
        if link_type == "link_only":
            pairs = sum(a[0] * b[0] for i, a in enumerate(counted) for b in counted[i + 1 :])
            both = sum(a[1] * b[1] for i, a in enumerate(counted) for b in counted[i + 1 :])
        else:
            records = sum(count for count, _ in counted)
            filled = sum(count for _, count in counted)
            pairs, both = records * (records - 1), filled * (filled - 1)
        return both / pairs if pairs else 0.0

    return share


def _plan_training(
    connection: duckdb.DuckDBPyConnection,
    prepared: PreparedInputs,
    job: LinkJob,
    changeable: frozenset[str],
) -> EmPlan:
    """The EM sessions for these inputs (``linkage.em_plan``), from counts of tokens;
    ``changeable`` are the comparisons of fields people change."""
    tables = prepared.tables
    shares: dict[str, dict[str, float]] = {}
    keys = list(
        dict.fromkeys(
            key for comparison in prepared.comparisons for key in comparison.null_when_missing
        )
    )
    for dataset, table in tables.items():
        counts = ", ".join(f"avg(CASE WHEN {key} IS NULL THEN 0 ELSE 1 END)" for key in keys)
        (row,) = connection.execute(f"SELECT {counts} FROM {table}").fetchall()
        shares[dataset] = {key: float(value or 0) for key, value in zip(keys, row, strict=True)}

    link_only = job.link_type == "link_only"

    def pair_count(block: tuple[str, ...]) -> int:
        """Pairs the run compares that agree on ``block`` (across datasets only when
        linking without deduplicating)."""
        listed = ", ".join(block)
        present = " AND ".join(f"{key} IS NOT NULL" for key in block)
        union = " UNION ALL ".join(
            f"SELECT {index} AS part, {listed} FROM {table}"
            for index, table in enumerate(tables.values())
        )
        within = "sum(n * n) - sum(n)" if not link_only else "sum(n * n)"
        ((found,),) = connection.execute(
            f"SELECT coalesce(sum((total * total - within) / 2), 0) FROM (SELECT "
            f"sum(n) AS total, {within} AS within FROM (SELECT {listed}, part, "
            f"count(*) AS n FROM ({union}) WHERE {present} GROUP BY ALL) GROUP BY {listed})"
        ).fetchall()
        return int(found)

    def filled(key: str) -> bool:
        return any(
            connection.execute(f"SELECT count({key}) > 0 FROM {table}").fetchall()[0][0]
            for table in tables.values()
        )

    informative = informative_comparisons(prepared.comparisons, filled_shares(shares), list(tables))
    candidates = candidate_blocks(job.em_blocks, prepared.comparisons)
    plan = plan_sessions(
        candidates,
        comparisons=prepared.comparisons,
        informative=informative,
        changeable=changeable,
        available=prepared.available,
        pair_count=pair_count,
        filled=filled,
    )
    return plan


def _link(
    prepared: PreparedInputs,
    backend: Backend,
    job: LinkJob,
    model_path: Path | None,
    truth_path: Path | None,
    staging: Path,
    step: Callable[[str], None],
    clerical_labels: Sequence[Path] = (),
    automatic_threshold: bool = False,
) -> dict[str, Any]:
    connection = backend.connection
    linker, trained = _make_linker(backend, prepared, job, model_path)
    changeable = changeable_comparisons(prepared.comparisons, job.match_keys)
    if not trained:
        plan = _plan_training(connection, prepared, job, changeable)
        notes = train_model(
            linker,
            job.training,
            available=prepared.available,
            sessions=plan.sessions,
            changeable=changeable,
            informative=plan.informative,
            filled_share=_pair_filled_share(connection, prepared, job.link_type),
            step=step,
        )
        prepared = replace(prepared, notes=prepared.notes + plan.notes + notes)
    if clerical_labels:
        step("estimating the model from the clerical labels")
        label_notes = estimate_from_labels(
            linker,
            backend,
            clerical_labels,
            datasets=list(prepared.tables),
            record_pairs=record_pairs(prepared.record_counts, job.link_type),
        )
        prepared = replace(prepared, notes=prepared.notes + label_notes)
    if not trained:
        # After u is estimated: the frequency floors read it.
        register_pair_excluded_term_frequencies(linker, backend, prepared.tables)
    linker.misc.save_model_to_json(str(staging / "model.json"), overwrite=True)
    step("scoring candidate pairs")
    predictions = linker.inference.predict(
        threshold_match_probability=min(SENSITIVITY_FLOOR, job.threshold), warning_mode="never"
    )
    datasets = list(prepared.tables)
    pair_select = _prediction_select(column_names(predictions), datasets)
    held_back_sql = _held_back_sql(job.hold_back, level_gammas(linker))
    backend.to_work(predictions, "scored_pairs", select=f"{pair_select}, {held_back_sql}")
    if automatic_threshold:
        chosen = auto_threshold(connection)
        job = job.with_changes(threshold=chosen.threshold)
        note = (
            f"--threshold auto chose {chosen.threshold}: the highest expected F1 "
            f"({chosen.expected_f1:.4f}) from the model's probabilities"
        )
        prepared = replace(prepared, notes=(*prepared.notes, note))
    outcome = _hold_back(connection, job.threshold, staging, prepared.attributes)
    held_back = outcome.held_back
    if outcome.note is not None:
        prepared = replace(prepared, notes=(*prepared.notes, outcome.note))
    write_review_candidates(
        backend,
        predictions,
        pair_select=pair_select,
        held_back_sql=held_back_sql,
        gammas=level_gammas(linker),
        threshold=job.threshold,
        staging=staging,
    )
    if clerical_labels:
        clerical = apply_clerical_labels(
            connection,
            clerical_labels,
            tables=prepared.tables,
            threshold=job.threshold,
            held_back_file=staging / "held_back.parquet",
        )
        held_back = int(connection.execute("SELECT count(*) FROM held_back").fetchall()[0][0])
        prepared = replace(prepared, notes=(*prepared.notes, clerical.note()))
    step("clustering pairs into persons")
    spine = build_spine(
        connection,
        tables=prepared.tables,
        threshold=job.cluster_threshold,
        repeats_dataset=job.repeats_dataset,
        cannot_link="clerical_non_matches" if clerical_labels else None,
        must_link="clerical_matches" if clerical_labels else None,
    )
    cut = hold_back_cut_links(connection, spine, held_back_file=staging / "held_back.parquet")
    if cut is not None:
        held_back += spine.cut_links
        prepared = replace(prepared, notes=(*prepared.notes, cut))
    connection.execute(
        "CREATE OR REPLACE TABLE pairs AS SELECT * FROM scored_pairs "
        f"WHERE match_probability >= {job.threshold} "
        "ORDER BY dataset_l, record_pid_l, dataset_r, record_pid_r"
    )
    step("writing pairs and clusters")
    connection.execute(f"COPY pairs TO '{staging / 'pairs.parquet'}' (FORMAT parquet)")
    connection.execute(
        f"COPY (SELECT * FROM clusters ORDER BY person_id, dataset, record_pid) "
        f"TO '{staging / 'clusters.parquet'}' (FORMAT parquet)"
    )
    metrics = None
    if truth_path is not None:
        step("evaluating against the truth")
        metrics = evaluate_against_truth(
            connection,
            truth_path=truth_path,
            link_type=job.link_type,
            threshold=job.threshold,
            attributes=prepared.attributes,
            subgroups=job.subgroups,
        )
    step("writing the report")
    write_report(
        staging / "report.html",
        ReportInputs(
            linker=linker,
            backend=backend,
            predictions=predictions,
            prepared=prepared,
            job=job,
            spine=spine,
            metrics=metrics,
            changeable=changeable,
            unlinkables=_unlinkables_linker(backend, prepared, job, staging / "model.json"),
        ),
    )
    expected, recommended = run_expectation(connection, job.threshold)
    pair_count = connection.sql("SELECT count(*) FROM pairs").fetchall()[0][0]
    return {
        "records": dict(prepared.record_counts),
        "pairs": int(pair_count),
        "persons": spine.persons,
        "repeat_persons": spine.repeat_persons,
        "threshold": job.threshold,
        "metrics": metrics,
        "held_back": held_back,
        "notes": prepared.notes,
        "expected": expected,
        "recommended": recommended,
    }
