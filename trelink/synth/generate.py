"""Write every owner's raw extract and the ground truth: what ``trelink synth`` runs.

The population is built in *blocks*: one block is the default-size population
(about 9,000 trafficked children, 9,500 trafficked adults and 16,000 other children);
``scale`` is the number of blocks (fractions allowed). Each block is generated, written
and dropped before the next, so memory stays flat however large the scale. With more
than one block, NRM, education, health and justice are written as CSV only (one file
per year, appended block by block); ICTG always comes from the first block and keeps
its real size. Layout under ``DIR``: ``nrm/``, ``ictg/<period>/<group>/``,
``education/``, ``health/``, ``justice/``, ``truth/`` and ``synth.json``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trelink.atomic import atomic_directory
from trelink.console import progress
from trelink.specs.dataset import DatasetSpec, dataset_spec_path, load_dataset_spec
from trelink.synth.education import education_batches
from trelink.synth.errors import SynthError
from trelink.synth.health import health_batches
from trelink.synth.ictg import ictg_batches, select_ictg_children
from trelink.synth.justice import justice_batches
from trelink.synth.names import NamePool, build_name_pools
from trelink.synth.nrm import nrm_batches
from trelink.synth.population import PersonKind, make_people
from trelink.synth.rates import (
    DEFAULT_RATES,
    NO_ICTG_REPEATS,
    IctgRepeatRates,
    IdentifierErrorRates,
)
from trelink.synth.rawfiles import append_csv, write_workbook
from trelink.synth.render import BARE, RawBatch, render_rows

__all__ = ["BLOCK_PEOPLE", "SOURCES", "GenerationSummary", "generate"]

SOURCES = ("nrm", "ictg", "education", "health", "justice")
BLOCK_PEOPLE: Mapping[PersonKind, int] = {"child": 9_000, "adult": 9_500, "outside": 16_000}
_ICTG_WITHOUT_NRM_SHARE = 0.05  # ICTG children whose NRM referral is not in the extract
_MANIFEST = "synth.json"
_ICTG_REPEAT_STREAM = 30  # its own stream: without repeats ICTG keeps its earlier bytes

_RECORD_TRUTH = pa.schema(
    [
        ("dataset", pa.string()),
        ("table", pa.string()),
        ("record_id", pa.string()),
        ("person_id", pa.string()),
        ("errors", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
    ]
)
# One row per ICTG referral row as written: which episode of the child it reports
# (1 first referral, 2 re-entry after closure), how that episode began
# (synth.ictg_repeats.ENTRIES) and, for a copy, where the copy went.
_ICTG_REFERRAL_TRUTH = pa.schema(
    [
        ("record_id", pa.string()),
        ("person_id", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("episode", pa.int64()),
        ("entry", pa.string()),
        ("copy_kind", pa.string()),
        ("urn_recorded", pa.bool_()),
    ]
)
_PEOPLE_TRUTH = pa.schema(
    [
        ("person_id", pa.string()),
        ("kind", pa.string()),
        ("forename", pa.string()),
        ("surname", pa.string()),
        ("dob", pa.date32()),
        ("assessed_dob", pa.date32()),
        ("sex", pa.string()),
        ("nationality", pa.string()),
        ("nationality_group", pa.string()),
        ("age_group", pa.string()),
        ("unaccompanied", pa.bool_()),
        ("exploitation_types", pa.list_(pa.string())),
        ("family_id", pa.string()),
        ("twin", pa.bool_()),
        ("nhs_number", pa.string()),
        ("in_nrm", pa.bool_()),
        ("in_ictg", pa.bool_()),
    ]
)


@dataclass
class GenerationSummary:
    """Rows written per source table and file, and the people behind them."""

    seed: int
    scale: float
    people: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # "<source>/<table>" -> rows
    files: dict[str, int] = field(default_factory=dict)  # relative path -> data rows


class _Sink:
    """Writes batches to files and truth, keeping row counts per file."""

    def __init__(self, root: Path, specs: Mapping[str, DatasetSpec], *, csv_only: bool) -> None:
        self.root = root
        self.specs = specs
        self.csv_only = csv_only
        self.summary_files: dict[str, int] = {}
        self.records = pq.ParquetWriter(root / "truth" / "records.parquet", _RECORD_TRUTH)
        self.people = pq.ParquetWriter(root / "truth" / "people.parquet", _PEOPLE_TRUTH)
        self.ictg_referrals: list[pa.Table] = []

    def close(self) -> None:
        self.records.close()
        self.people.close()
        if self.ictg_referrals:
            pq.write_table(
                pa.concat_tables(self.ictg_referrals),
                self.root / "truth" / "ictg_referrals.parquet",
            )

    def write(self, source: str, batch: RawBatch, rng: np.random.Generator) -> None:
        if batch.records.empty:
            return
        relative = Path(source) / batch.path
        chunked = self.csv_only and source != "ictg"
        if chunked:
            relative = relative.with_suffix(".csv")
        table = self.specs[source].table(batch.table)
        header, rows = render_rows(batch, table, rng, force_text_dates=chunked)
        path = self.root / relative
        first_row = self.summary_files.get(str(relative), 0) + 1
        if relative.suffix == ".csv":
            append_csv(path, header, rows, encoding=batch.encoding)
        else:
            write_workbook(path, header, rows)
        self.summary_files[str(relative)] = first_row - 1 + len(rows)
        if table.kind == "identity":
            # Relative to the source's folder, as prepare names rows it must give ids to.
            self._truth(source, batch, str(relative.relative_to(source)), first_row)

    def _truth(self, source: str, batch: RawBatch, relative: str, first_row: int) -> None:
        count = len(batch.records)
        self.records.write_table(
            pa.table(
                {
                    "dataset": [source] * count,
                    "table": [batch.table] * count,
                    "record_id": batch.records["record_id"],
                    "person_id": batch.records["person_id"],
                    "errors": batch.records["errors"],
                    "source_file": [relative] * count,
                    "source_row": np.arange(first_row, first_row + count),
                },
                schema=_RECORD_TRUTH,
            )
        )
        if (source, batch.table) == ("ictg", "referral"):
            self._ictg_truth(batch, relative, first_row)

    def _ictg_truth(self, batch: RawBatch, relative: str, first_row: int) -> None:
        records = batch.records
        count = len(records)
        self.ictg_referrals.append(
            pa.table(
                {
                    "record_id": records["record_id"],
                    "person_id": records["person_id"],
                    "source_file": [relative] * count,
                    "source_row": np.arange(first_row, first_row + count),
                    "episode": records["episode"].to_numpy(dtype=np.int64),
                    "entry": records["entry"],
                    "copy_kind": records["copy_kind"],
                    "urn_recorded": ~records[BARE].astype(bool).to_numpy(),
                },
                schema=_ICTG_REFERRAL_TRUTH,
            )
        )

    def write_people(self, people: pd.DataFrame, *, in_nrm: set[str], in_ictg: set[str]) -> None:
        ids = people["person_id"]
        self.people.write_table(
            pa.table(
                {
                    "person_id": ids,
                    "kind": people["kind"],
                    "forename": people["forename"],
                    "surname": people["surname"],
                    "dob": pd.to_datetime(people["dob"]).dt.date,
                    "assessed_dob": pd.to_datetime(people["assessed_dob"]).dt.date,
                    "sex": people["sex"],
                    "nationality": people["nationality"],
                    "nationality_group": people["nationality_group"],
                    "age_group": np.where(people["kind"] == "adult", "adult", "child"),
                    "unaccompanied": people["unaccompanied"].astype(bool),
                    "exploitation_types": [list(value) for value in people["exploitation_types"]],
                    "family_id": people["family_id"],
                    "twin": people["twin"].astype(bool),
                    "nhs_number": people["nhs_number"],
                    "in_nrm": ids.isin(in_nrm),
                    "in_ictg": ids.isin(in_ictg),
                },
                schema=_PEOPLE_TRUTH,
            )
        )


def _block_batches(
    block: int,
    fraction: float,
    *,
    seed: int,
    sources: tuple[str, ...],
    rates: IdentifierErrorRates,
    repeats: IctgRepeatRates,
    pools: Mapping[str, NamePool],
) -> tuple[pd.DataFrame, dict[str, list[RawBatch]], set[str], set[str]]:
    # Separate random streams for the people and for each source, so that writing only
    # some sources (``only``) gives those sources exactly the bytes of a full run.
    def stream(purpose: int) -> np.random.Generator:
        return np.random.default_rng([seed, block, purpose])

    people_rng, selection_rng = stream(0), stream(1)
    prefix = f"{block:03d}"
    groups = {
        kind: make_people(
            people_rng,
            count=max(1, round(count * fraction)),
            kind=kind,
            pools=pools,
            id_prefix=f"{kind[0].upper()}{prefix}-",
        )
        for kind, count in BLOCK_PEOPLE.items()
    }
    children, adults, outside = groups["child"], groups["adult"], groups["outside"]
    everyone = pd.concat([children, adults, outside], ignore_index=True)
    young = pd.concat([children, outside], ignore_index=True)
    in_ictg: set[str] = set()
    without_nrm: set[str] = set()
    ictg_children = children.iloc[0:0]
    if block == 0:
        ictg_children = select_ictg_children(
            children, selection_rng, share_of_scale=fraction, repeats=repeats
        )
        in_ictg = set(ictg_children["person_id"])
        left_out = selection_rng.random(len(ictg_children)) < _ICTG_WITHOUT_NRM_SHARE
        without_nrm = set(ictg_children["person_id"][left_out])
    referred = pd.concat(
        [children[~children["person_id"].isin(without_nrm)], adults], ignore_index=True
    )
    builders: dict[str, Callable[[np.random.Generator], list[RawBatch]]] = {
        "nrm": lambda rng: nrm_batches(referred, rng, rates, id_prefix=f"NRM{prefix}"),
        "ictg": lambda rng: (
            ictg_batches(
                ictg_children, rng, rates, repeats=repeats, repeat_rng=stream(_ICTG_REPEAT_STREAM)
            )
            if block == 0
            else []
        ),
        "education": lambda rng: education_batches(young, rng, rates, id_prefix=f"SC{prefix}"),
        "health": lambda rng: health_batches(young, rng, rates, id_prefix=f"EP{prefix}"),
        "justice": lambda rng: justice_batches(
            everyone, rng, rates, pools=pools, id_prefix=f"JR{prefix}"
        ),
    }
    batches = {source: builders[source](stream(10 + SOURCES.index(source))) for source in sources}
    return everyone, batches, set(referred["person_id"]), in_ictg


def _check_destination(out_dir: Path) -> bool:
    """True if ``out_dir`` holds an earlier run to replace; refuse anything else non-empty."""
    if not out_dir.exists():
        return False
    if not out_dir.is_dir():
        raise SynthError(f"{out_dir} exists and is not a directory; choose another --out")
    if not any(out_dir.iterdir()):
        return False
    if (out_dir / _MANIFEST).is_file():
        return True
    raise SynthError(
        f"{out_dir} is not empty and was not written by `trelink synth`; choose another --out"
    )


def generate(
    out_dir: str | os.PathLike[str],
    *,
    seed: int = 1,
    scale: float = 1.0,
    rates: IdentifierErrorRates = DEFAULT_RATES,
    ictg_repeats: IctgRepeatRates = NO_ICTG_REPEATS,
    only: Sequence[str] = (),
) -> GenerationSummary:
    """Write the raw extracts and truth for ``scale`` population blocks under ``out_dir``.

    ``only`` restricts the output to some of ``SOURCES``; each source written is
    byte-identical to the same source in a full run with the same seed and scale.
    ``ictg_repeats`` adds ICTG copies and re-entries (``REALISTIC_ICTG_REPEATS``); the
    default writes one referral row per URN, which is what pseudonymise and linkage
    accept for an identity table today.
    """
    unknown = sorted(set(only) - set(SOURCES))
    if unknown:
        raise SynthError(f"unknown source(s) {unknown}; choose from {list(SOURCES)}")
    sources = tuple(source for source in SOURCES if not only or source in only)
    if not math.isfinite(scale) or scale <= 0:
        raise SynthError(f"--scale must be a positive number, not {scale}")
    if seed < 0:
        raise SynthError(f"--seed must be zero or positive, not {seed}")
    target = Path(out_dir)
    replace = _check_destination(target)
    specs = {source: load_dataset_spec(dataset_spec_path(source)) for source in SOURCES}
    pools = build_name_pools()
    blocks = math.ceil(scale)
    summary = GenerationSummary(seed=seed, scale=scale)
    # On stderr and only on a terminal, so logs get no progress bar.
    with atomic_directory(target, overwrite=replace) as work, progress(transient=False) as bar:
        (work / "truth").mkdir()
        sink = _Sink(work, specs, csv_only=blocks > 1)
        task = bar.add_task("synthetic population", total=blocks * (len(SOURCES) + 1))
        try:
            for block in range(blocks):
                people, batches, in_nrm, in_ictg = _block_batches(
                    block,
                    min(1.0, scale - block),
                    seed=seed,
                    sources=sources,
                    rates=rates,
                    repeats=ictg_repeats,
                    pools=pools,
                )
                bar.advance(task)
                sink.write_people(people, in_nrm=in_nrm, in_ictg=in_ictg)
                summary.people += len(people)
                for source in SOURCES:
                    number = SOURCES.index(source)
                    for index, batch in enumerate(batches.get(source, [])):
                        batch_rng = np.random.default_rng([seed, block, number, index])
                        sink.write(source, batch, batch_rng)
                        key = f"{source}/{batch.table}"
                        summary.rows[key] = summary.rows.get(key, 0) + len(batch.records)
                    bar.advance(task)
        finally:
            sink.close()
        summary.files = dict(sorted(sink.summary_files.items()))
        (work / _MANIFEST).write_text(
            json.dumps(
                {
                    "generator": "trelink synth",
                    "seed": seed,
                    "scale": scale,
                    "people": summary.people,
                    "rows": summary.rows,
                    "files": summary.files,
                },
                indent=2,
                sort_keys=True,
            )
            + "\n",
            encoding="utf-8",
        )
    return summary
