"""``trelink link``: link pseudonymised datasets into pairs, a person spine and a report.

Quick mode takes pseudonymised folders (``DIR/identity.parquet``); production mode
takes a TRE database of imported datasets and a job spec. Both write ``OUTDIR`` at
once when the run has succeeded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer
from rich.console import Console
from rich.markup import escape

from trelink.console import print_json, result_console
from trelink.options import JSON_HELP

if TYPE_CHECKING:
    from linkage.backends import BackendName
    from linkage.inputs import DatasetSource
    from linkage.run import LinkResult

__all__ = ["register"]


def _print_summary(result: LinkResult, console: Console) -> None:
    records = sum(result.records.values())
    console.print(
        f"linked {records:,} records from {len(result.records)} datasets in "
        f"{result.seconds:.1f} s: {result.pairs:,} pairs at match probability "
        f">= {result.threshold}, {result.persons:,} persons"
    )
    if result.repeat_persons is not None:
        console.print(f"persons with repeat records in one dataset: {result.repeat_persons:,}")
    if result.held_back:
        console.print(
            f"held back from the links (see held_back.parquet): {result.held_back:,} pairs"
        )
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    if result.expected is not None:
        expected = result.expected
        console.print(
            f"the model expects precision {expected.expected_precision:.4f}, recall "
            f"{expected.expected_recall:.4f} at {expected.threshold} (from its probabilities; "
            "see the report's 'Choosing a threshold')"
        )
    if result.recommended is not None and result.recommended.threshold != result.threshold:
        console.print(
            f"recommended threshold: {result.recommended.threshold} (highest expected F1, "
            f"{result.recommended.expected_f1:.4f}); rerun with --threshold "
            f"{result.recommended.threshold} or --threshold auto"
        )
    if result.metrics is not None:
        overall = result.metrics.overall
        console.print(
            f"against the truth: precision {overall.precision:.4f}, "
            f"recall {overall.recall:.4f}, F1 {overall.f1:.4f}"
        )
    console.print(
        f"wrote {result.out_dir}/pairs.parquet, clusters.parquet, held_back.parquet, "
        "review_candidates.parquet, model.json, report.html"
    )


def _summary_json(result: LinkResult) -> dict[str, object]:
    """The run's figures for ``--json`` (schema in the command's help and the README)."""
    metrics = result.metrics
    return {
        "out_dir": str(result.out_dir),
        "records": dict(result.records),
        "pairs": result.pairs,
        "persons": result.persons,
        "repeat_persons": result.repeat_persons,
        "threshold": result.threshold,
        "held_back": result.held_back,
        "seconds": round(result.seconds, 3),
        "notes": list(result.notes),
        "expected": None
        if result.expected is None
        else {
            "threshold": result.expected.threshold,
            "precision": result.expected.expected_precision,
            "recall": result.expected.expected_recall,
        },
        "recommended_threshold": None
        if result.recommended is None
        else result.recommended.threshold,
        "metrics": None
        if metrics is None
        else {
            "precision": metrics.overall.precision,
            "recall": metrics.overall.recall,
            "f1": metrics.overall.f1,
            "true_pairs": metrics.true_pairs,
        },
    }


def _parse_threshold(text: str | None) -> float | Literal["auto"] | None:
    if text is None:
        return None
    if text == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise typer.BadParameter(
            f"must be a match probability in (0, 1) or auto, not {text!r}",
            param_hint="--threshold",
        ) from None


def _parse_backend(text: str) -> BackendName:
    if text not in ("duckdb", "spark"):
        raise typer.BadParameter(f"must be duckdb or spark, not {text!r}", param_hint="--backend")
    return "spark" if text == "spark" else "duckdb"


def _parse_spark_conf(items: list[str], backend: BackendName) -> dict[str, str]:
    """The ``--spark-conf`` settings; a malformed one, or any without ``--backend spark``,
    is a usage error naming the flag (exit 2)."""
    from linkage.backends import parse_spark_conf
    from linkage.errors import SparkSettingError

    if items and backend != "spark":
        raise typer.BadParameter("applies to --backend spark only", param_hint="--spark-conf")
    try:
        return parse_spark_conf(items)
    except SparkSettingError as error:
        raise typer.BadParameter(error.problem, param_hint="--spark-conf") from None


# The flag that sets each job parameter the command line can change.
_FLAGS = {"threshold": "--threshold", "link_type": "--link-type"}


@contextlib.contextmanager
def _named_by_flag() -> Iterator[None]:
    """Report a job parameter the command line set as a usage error naming its flag
    (exit 2), not by its name in the job; other job problems stay refusals (exit 3)."""
    from linkage.errors import JobParameterError

    try:
        yield
    except JobParameterError as error:
        if error.parameter not in _FLAGS:
            raise
        raise typer.BadParameter(error.problem, param_hint=_FLAGS[error.parameter]) from None


def link(
    folders: list[Path] = typer.Argument(
        None, help="Pseudonymised dataset folders (quick mode).", show_default=False
    ),
    out: Path = typer.Option(..., "--out", help="Output folder (must not exist or be empty)."),
    db: Path | None = typer.Option(None, "--db", help="TRE database of imported datasets."),
    job_path: Path | None = typer.Option(
        None, "--job", help="Linkage job spec (specs/linkage/*.yaml); needed with --db."
    ),
    backend: str = typer.Option("duckdb", "--backend", help="duckdb or spark."),
    link_type: str | None = typer.Option(
        None,
        "--link-type",
        help=(
            "link_only, dedupe_only or link_and_dedupe (default: the job's; quick mode: "
            "link_and_dedupe, or dedupe_only for one folder)."
        ),
    ),
    threshold: str | None = typer.Option(
        None,
        "--threshold",
        help=(
            "Match probability of a link (default: the job's, 0.8), or auto: the "
            "threshold of highest expected F1 from the model's probabilities."
        ),
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Reuse a saved model.json instead of training."
    ),
    match_keys: Path | None = typer.Option(
        None, "--match-keys", help="Match-key spec (default: the shipped one)."
    ),
    truth: Path | None = typer.Option(
        None, "--truth", help="Parquet of dataset, record_pid, person_id (synthetic data only)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUTDIR."),
    spark_conf: list[str] = typer.Option(
        [],
        "--spark-conf",
        help=(
            "Spark setting KEY=VALUE, repeatable, e.g. spark.driver.memory=12g or "
            "spark.master=yarn (--backend spark only)."
        ),
        show_default=False,
    ),
    labels: list[Path] = typer.Option(
        [],
        "--labels",
        help=(
            "Clerical labels from `trelink review-import` (repeatable): a labelled match "
            "is linked and a labelled non-match never is, whatever the model says, nor "
            "shares a person with its pair; labels of a pack sampled from every stratum "
            "(review-pack --training-share above 0) also re-estimate m and the prior."
        ),
        show_default=False,
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Link datasets on their tokens with Splink; write pairs, clusters, model and report.

    ``--json`` prints ``{"out_dir", "records": {dataset: count}, "pairs", "persons",
    "repeat_persons", "threshold", "held_back", "seconds", "notes", "expected",
    "recommended_threshold", "metrics"}`` (``metrics``: precision, recall, F1 against
    ``--truth``, else null).
    """
    from linkage.errors import LinkageError
    from linkage.inputs import folder_source
    from linkage.job import LinkJob, load_link_job
    from linkage.run import link_datasets
    from linkage.sources import database_sources
    from trelink.specs.match_keys import load_match_key_spec

    # The flags' values are checked before any file is read.
    chosen = _parse_backend(backend)
    chosen_threshold = _parse_threshold(threshold)
    spark_settings = _parse_spark_conf(spark_conf, chosen)
    # The job is checked against the match-key spec the datasets were pseudonymised with.
    spec = load_match_key_spec(match_keys)
    job = (
        load_link_job(job_path, match_keys=spec)
        if job_path is not None
        else LinkJob(match_keys=spec)
    )
    # The flags' values are checked before the datasets are opened.
    with _named_by_flag():
        if link_type is not None:
            job = job.with_changes(link_type=link_type)
        if isinstance(chosen_threshold, float):
            job = job.with_changes(threshold=chosen_threshold)
    sources: list[DatasetSource]
    if db is not None:
        if folders:
            raise LinkageError("give either dataset folders or --db, not both")
        if job_path is None:
            raise LinkageError("--db needs --job naming the datasets to link")
        sources = database_sources(db, job.datasets)
    else:
        if not folders:
            raise LinkageError("give pseudonymised dataset folders, or --db with --job")
        sources = [folder_source(folder) for folder in folders]
        if link_type is None and job_path is None and len(sources) == 1:
            # One folder can only mean "find the repeat records in it".
            job = job.with_changes(link_type="dedupe_only")
    result = link_datasets(
        sources,
        out_dir=out,
        job=job,
        backend=chosen,
        threshold="auto" if chosen_threshold == "auto" else None,
        model_path=model,
        truth_path=truth,
        overwrite=overwrite,
        spark_conf=spark_settings,
        clerical_labels=labels,
    )
    _print_summary(result, result_console(to_stderr=as_json))
    if as_json:
        print_json(_summary_json(result))


def register(app: typer.Typer) -> None:
    """Add ``trelink link`` to ``app``."""
    app.command("link")(link)
