"""The two linkers of the external benchmark, each run in a fresh process.

* ``trelink``: the data owner writes each file as CSV with a pseudonymise spec
  (``owner_spec``, the one place that says how a column reaches trelink), pseudonymises
  it with fresh keys, and the TRE links the token folders with ``link_datasets`` at its
  default job (link type set to the dataset's). The job's threshold is lowered to
  ``SCORE_FLOOR`` so that ``pairs.parquet`` keeps every pair the run scores (the run
  scores down to that floor anyway); links are the pairs at or above the benchmark
  threshold, exactly those a default run writes, and clustering keeps the default
  threshold.
* ``cleartext``: Splink 5 on the same columns in clear with Splink's example settings
  (``external_reference``), every candidate pair scored.

``run_isolated`` runs one of them in a spawned process, so wall time and peak memory
(the child's own peak resident set, or its children's if larger) do not mix between
runs; an exception comes back as a one-line failure, never a traceback.
"""

from __future__ import annotations

import logging
import os
import resource
import tempfile
import time
import traceback
import warnings
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import yaml
from external_data import FieldDeclarations, LabelledDataset, pairwise_quality
from external_reference import reference_columns, reference_model

__all__ = [
    "SCORE_FLOOR",
    "LinkerName",
    "LinkerRun",
    "RunResult",
    "SpecFormat",
    "owner_columns",
    "owner_spec",
    "run_isolated",
    "run_linker",
]

LinkerName = Literal["trelink", "cleartext"]
# columns: map the types trelink has always read to canonical columns (dates given as
# ISO); identifiers: the bring-your-own-data section, every declared type.
SpecFormat = Literal["columns", "identifiers"]
SCORE_FLOOR = 0.01
_CHECKED_IDENTIFIERS = ("nhs_number", "upn", "pnc_id")


@dataclass(frozen=True)
class RunResult:
    """One linker on one dataset: quality, cost, or why it failed."""

    linker: str
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    blocking_recall: float = 0.0
    true_pairs: int = 0
    candidates: int = 0
    links: int = 0
    prep_seconds: float = 0.0
    seconds: float = 0.0
    peak_mib: float = 0.0
    error: str | None = None
    notes: tuple[str, ...] = field(default=())


def canonical_column(fields: FieldDeclarations, column: str) -> str | None:
    """The canonical column trelink has always read that ``column`` fills, if any."""
    kind = fields.identifier_type(column)
    if kind == "postcode":
        return "postcode" if fields.option(column, "country", "uk") == "uk" else None
    if kind == "identifier":
        check = fields.option(column, "check", "none")
        return check if check in _CHECKED_IDENTIFIERS else None
    return {
        "record_id": "record_id",
        "given_name": "forename",
        "family_name": "surname",
        "date_of_birth": "dob",
    }.get(kind)


def owner_columns(
    fields: FieldDeclarations, columns: tuple[str, ...], spec_format: SpecFormat
) -> tuple[str, ...]:
    """The columns of ``columns`` that trelink can read under ``spec_format``."""
    if spec_format == "identifiers":
        return columns
    return tuple(column for column in columns if canonical_column(fields, column) is not None)


def owner_spec(
    fields: FieldDeclarations, columns: tuple[str, ...], spec_format: SpecFormat
) -> dict[str, Any]:
    """The owner's pseudonymise spec for a file holding the record id and ``columns``."""
    kept = (fields.record_id, *owner_columns(fields, columns, spec_format))
    if spec_format == "identifiers":
        return {
            "version": 1,
            "identifiers": {column: fields.identifiers[column] for column in kept},
        }
    return {
        "version": 1,
        "columns": {str(canonical_column(fields, column)): column for column in kept},
    }


def _owner_file(
    table: pa.Table, fields: FieldDeclarations, columns: tuple[str, ...], spec_format: SpecFormat
) -> pa.Table:
    """The file the owner pseudonymises: record id and columns; ISO dates for `columns`."""
    kept = [fields.record_id, *owner_columns(fields, columns, spec_format)]
    out = table.select(kept)
    if spec_format == "columns":
        for column in kept:
            if fields.identifier_type(column) == "date_of_birth":
                date_format = fields.option(column, "format", "%Y-%m-%d")
                parsed = pc.strptime(out.column(column), date_format, "s", error_is_null=True)
                out = out.set_column(kept.index(column), column, pc.strftime(parsed, "%Y-%m-%d"))
    return out


def _trelink(
    dataset: LabelledDataset,
    columns: tuple[str, ...],
    spec_format: SpecFormat,
    threshold: float,
    work: Path,
) -> RunResult:
    from linkage.inputs import folder_source
    from linkage.job import ClusteringSpec, LinkJob
    from linkage.run import link_datasets
    from pseudonymise.canonical import read_canonical
    from pseudonymise.spec import load_pseudonymise_spec
    from pseudonymise.tables import pseudonymise_table, write_pseudonymised
    from trelink.trust import keys

    fields = dataset.fields
    started = time.perf_counter()
    keys.generate_secret(work / "linkage.key")
    linkage_key = keys.load_secret(work / "linkage.key")
    folders: dict[str, Path] = {}
    invalid: dict[str, int] = {}
    for file, table in dataset.files.items():
        owner = work / "owner" / file
        owner.mkdir(parents=True)
        keys.generate_secret(owner / "owner.key")
        csv = owner / f"{file}.csv"
        pa_csv.write_csv(_owner_file(table, fields, columns, spec_format), csv)
        spec_path = owner / "pseudonymise.yaml"
        spec_path.write_text(
            yaml.safe_dump(owner_spec(fields, columns, spec_format), sort_keys=False),
            encoding="utf-8",
        )
        settings = load_pseudonymise_spec(spec_path)
        declared = getattr(settings, "identifiers", None)
        canonical = (
            read_canonical(csv, columns=settings.columns, identifiers=declared)
            if declared
            else read_canonical(csv, columns=settings.columns)
        )
        tables = pseudonymise_table(
            canonical,
            linkage_key=linkage_key,
            owner_key=keys.load_secret(owner / "owner.key"),
            spec=settings.match_key_spec(relative_to=owner),
            options=settings,
        )
        for column, count in tables.manifest.get("invalid_values", {}).items():
            invalid[column] = invalid.get(column, 0) + int(count)
        folders[file] = write_pseudonymised(tables, work / "tokens" / file)
    prep_seconds = time.perf_counter() - started
    default = LinkJob()
    job = LinkJob(
        link_type=dataset.link_type,
        threshold=SCORE_FLOOR,
        clustering=ClusteringSpec(threshold=default.cluster_threshold),
    )
    started = time.perf_counter()
    result = link_datasets(
        [folder_source(folder) for folder in folders.values()],
        out_dir=work / "link",
        job=job,
        show_progress=False,
    )
    seconds = time.perf_counter() - started
    kept, held_back = _token_pairs(result.out_dir, folders)
    notes = [f"{count:,} invalid {column}" for column, count in invalid.items() if count]
    held = pairwise_quality(held_back, dataset, threshold=threshold)
    if held.links:
        notes.append(f"held back {held.links:,} pairs >= {threshold} ({held.true_links:,} true)")
    notes += list(result.notes)
    # Held-back pairs were scored (candidates) but are not links.
    not_links = held_back.set_column(
        4, "match_probability", pa.array([0.0] * held_back.num_rows, pa.float64())
    )
    pairs = pa.concat_tables([kept, not_links.cast(kept.schema)])
    return _result("trelink", dataset, pairs, threshold, prep_seconds, seconds, notes)


def _token_pairs(out_dir: Path, folders: Mapping[str, Path]) -> tuple[pa.Table, pa.Table]:
    """Scored pairs by record id instead of record pid: those kept, and those held back.

    The run writes held-back pairs apart; they were candidates but are not links.
    """
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE lookup AS "
        + " UNION ALL ".join(
            f"SELECT '{file}' AS file, record_id, record_pid "
            f"FROM read_parquet('{folder / 'lookup.parquet'}')"
            for file, folder in folders.items()
        )
    )
    tables = []
    for name in ("pairs.parquet", "held_back.parquet"):
        tables.append(
            connection.sql(
                "SELECT s.dataset_l AS file_l, l.record_id AS record_id_l, s.dataset_r AS file_r, "
                "r.record_id AS record_id_r, s.match_probability "
                f"FROM read_parquet('{out_dir / name}') s "
                "JOIN lookup l ON l.file = s.dataset_l AND l.record_pid = s.record_pid_l "
                "JOIN lookup r ON r.file = s.dataset_r AND r.record_pid = s.record_pid_r"
            ).to_arrow_table()
            if (out_dir / name).exists()
            else None
        )
    connection.close()
    kept, held_back = tables
    if kept is None:
        raise RuntimeError(f"{out_dir}: the run wrote no pairs.parquet")
    return kept, held_back if held_back is not None else kept.slice(0, 0)


def _cleartext(dataset: LabelledDataset, columns: tuple[str, ...], threshold: float) -> RunResult:
    from splink import DuckDBAPI, Linker, SettingsCreator

    fields = dataset.fields
    started = time.perf_counter()
    names = reference_columns(fields, columns)
    model = reference_model(fields, set(names.values()), dataset.link_type)
    if not model.blocking_rules:
        raise RuntimeError("no blocking rule of the example can run on these fields")
    settings = SettingsCreator(
        link_type=dataset.link_type,
        unique_id_column_name="record_id",
        comparisons=model.comparisons,
        blocking_rules_to_generate_predictions=model.blocking_rules,
    )
    db_api = DuckDBAPI()
    frames = []
    for file, table in dataset.files.items():
        selected = table.select([fields.record_id, *columns])
        renamed = selected.rename_columns(["record_id", *(names[c] for c in columns)])
        frames.append(db_api.register(renamed, dataset_display_name=file))
    linker = Linker(frames if len(frames) > 1 else frames[0], settings, log_level=logging.ERROR)
    training = linker.training
    if model.prior_rules:
        training.estimate_probability_two_random_records_match(
            model.prior_rules, recall=model.prior_recall
        )
    training.estimate_u_using_random_sampling(max_pairs=model.u_max_pairs, seed=model.u_seed)
    for block in model.em_blocks:
        training.estimate_parameters_using_expectation_maximisation(
            block, estimate_without_term_frequencies=model.em_without_term_frequencies
        )
    predictions = linker.inference.predict(warning_mode="never")
    relation = predictions.as_duckdbpyrelation()
    only = next(iter(dataset.files))
    left, right = (
        ("source_dataset_l", "source_dataset_r")
        if "source_dataset_l" in relation.columns
        else (f"'{only}'", f"'{only}'")
    )
    pairs = relation.select(
        f"{left} AS file_l, CAST(record_id_l AS VARCHAR) AS record_id_l, "
        f"{right} AS file_r, CAST(record_id_r AS VARCHAR) AS record_id_r, match_probability"
    ).to_arrow_table()
    seconds = time.perf_counter() - started
    return _result("cleartext", dataset, pairs, threshold, 0.0, seconds, list(model.notes))


def _result(
    linker: str,
    dataset: LabelledDataset,
    pairs: pa.Table,
    threshold: float,
    prep_seconds: float,
    seconds: float,
    notes: list[str],
) -> RunResult:
    quality = pairwise_quality(pairs, dataset, threshold=threshold)
    return RunResult(
        linker=linker,
        precision=quality.precision,
        recall=quality.recall,
        f1=quality.f1,
        blocking_recall=quality.blocking_recall,
        true_pairs=quality.true_pairs,
        candidates=quality.candidates,
        links=quality.links,
        prep_seconds=prep_seconds,
        seconds=seconds,
        notes=tuple(notes),
    )


def _peak_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024  # Linux reports KiB


def _failure(linker: str, error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    first = lines[0] if lines else ""
    frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    where = f" [{Path(frame.filename).name}:{frame.lineno}]" if frame else ""
    text = f"{type(error).__name__}: {first}"
    return (text[:400] + " ...") if len(text) > 400 else text + where


@dataclass(frozen=True)
class LinkerRun:
    """One linker on one dataset: the columns both linkers read, how the owner declares
    them, the benchmark's threshold, and the folder for work files."""

    linker: LinkerName
    dataset: LabelledDataset
    columns: tuple[str, ...]
    spec_format: SpecFormat
    threshold: float
    work_root: Path


def run_linker(run: LinkerRun) -> RunResult:
    """Run one linker on one dataset in this process (a CI test can call it directly).

    An exception becomes the result's one-line ``error``; ``peak_mib`` is left at 0.
    """
    try:
        if run.linker == "trelink":
            with tempfile.TemporaryDirectory(prefix="trelink-", dir=run.work_root) as work:
                return _trelink(
                    run.dataset, run.columns, run.spec_format, run.threshold, Path(work)
                )
        return _cleartext(run.dataset, run.columns, run.threshold)
    except Exception as error:  # one dataset's failure must not end the suite
        return RunResult(linker=run.linker, error=_failure(run.linker, error))


def _child(run: LinkerRun) -> RunResult:
    # Progress bars (DuckDB's, Splink's) and warnings from a child would garble the
    # parent's output; failures come back in the result instead.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    return replace(run_linker(run), peak_mib=_peak_mib())


def run_isolated(run: LinkerRun) -> RunResult:
    """Run one linker on one dataset in a fresh spawned process."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        future = pool.submit(_child, run)
        try:
            return future.result()
        except BrokenProcessPool:
            return RunResult(linker=run.linker, error="the process died (out of memory?)")
