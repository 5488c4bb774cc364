"""Large canonical extracts for the pseudonymisation and linkage benchmarks.

``write_benchmark_extracts(out_dir, n_records=1_000_000, overlap=0.5, seed=1)`` writes

* ``out_dir/left.parquet`` and ``out_dir/right.parquet``: ``n_records`` rows each, in
  the canonical columns of a prepared identity table (record_id, forename, surname,
  dob, sex, postcode, nhs_number, then attributes nationality and event_date);
* ``out_dir/truth.parquet``: dataset ('left'/'right'), record_id, person_id and the
  identifier errors applied to each record.

A share ``overlap`` of the right file's records belong to people who also have a
record in the left file (one record per person per file), each written down
independently with the errors of ``synth.rates``. Work proceeds in chunks of people
so memory stays flat at a million records.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.progress import Progress

from trelink.atomic import atomic_directory
from trelink.synth.corrupt import record_identifiers, recorded_nhs_numbers
from trelink.synth.errors import SynthError
from trelink.synth.names import build_name_pools
from trelink.synth.population import make_people
from trelink.synth.rates import DEFAULT_RATES, IdentifierErrorRates

__all__ = ["CANONICAL_IDENTITY_SCHEMA", "BenchmarkExtracts", "write_benchmark_extracts"]

CANONICAL_IDENTITY_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("forename", pa.string()),
        ("surname", pa.string()),
        ("dob", pa.date32()),
        ("sex", pa.string()),
        ("postcode", pa.string()),
        ("nhs_number", pa.string()),
        ("nationality", pa.string()),
        ("event_date", pa.date32()),
    ]
)
_TRUTH_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("record_id", pa.string()),
        ("person_id", pa.string()),
        ("errors", pa.string()),
    ]
)
_CHUNK_PEOPLE = 200_000


@dataclass(frozen=True)
class BenchmarkExtracts:
    """Paths written by ``write_benchmark_extracts``."""

    left: Path
    right: Path
    truth: Path


def _records(
    people: pd.DataFrame,
    rng: np.random.Generator,
    rates: IdentifierErrorRates,
    *,
    side: str,
    first_number: int,
) -> tuple[pa.Table, pa.Table]:
    order = rng.permutation(len(people))
    people = people.iloc[order].reset_index(drop=True)
    recorded = record_identifiers(people, rng, rates)
    record_ids = [f"{side[0].upper()}{first_number + index:09d}" for index in range(len(people))]
    nhs = recorded_nhs_numbers(people, rng, rates)
    table = pa.table(
        {
            "record_id": record_ids,
            "forename": recorded["forename"],
            "surname": recorded["surname"],
            "dob": pd.to_datetime(recorded["dob"]).dt.date,
            "sex": recorded["sex"],
            "postcode": recorded["postcode"],
            "nhs_number": nhs,
            "nationality": people["nationality"],
            "event_date": pd.to_datetime(people["first_event_date"]).dt.date,
        },
        schema=CANONICAL_IDENTITY_SCHEMA,
    )
    truth = pa.table(
        {
            "dataset": [side] * len(people),
            "record_id": record_ids,
            "person_id": people["person_id"],
            "errors": recorded["errors"],
        },
        schema=_TRUTH_SCHEMA,
    )
    return table, truth


def write_benchmark_extracts(
    out_dir: str | os.PathLike[str],
    *,
    n_records: int,
    overlap: float,
    seed: int = 1,
    rates: IdentifierErrorRates = DEFAULT_RATES,
) -> BenchmarkExtracts:
    """Write two canonical extracts of ``n_records`` each sharing ``overlap`` of people."""
    if n_records < 1:
        raise SynthError(f"n_records must be at least 1, not {n_records}")
    if not 0.0 <= overlap <= 1.0:
        raise SynthError(f"overlap must be between 0 and 1, not {overlap}")
    pools = build_name_pools()
    target = Path(out_dir)
    with atomic_directory(target, overwrite=True) as work, Progress(transient=True) as progress:
        task = progress.add_task("benchmark extracts", total=n_records)
        writers = {
            name: pq.ParquetWriter(work / f"{name}.parquet", schema)
            for name, schema in (
                ("left", CANONICAL_IDENTITY_SCHEMA),
                ("right", CANONICAL_IDENTITY_SCHEMA),
                ("truth", _TRUTH_SCHEMA),
            )
        }
        try:
            for chunk, start in enumerate(range(0, n_records, _CHUNK_PEOPLE)):
                size = min(_CHUNK_PEOPLE, n_records - start)
                rng = np.random.default_rng([seed, chunk])
                shared = make_people(
                    rng, count=size, kind="child", pools=pools, id_prefix=f"B{chunk:03d}S"
                )
                n_shared = round(size * overlap)
                only_right = make_people(
                    rng,
                    count=size - n_shared,
                    kind="child",
                    pools=pools,
                    id_prefix=f"B{chunk:03d}R",
                )
                right_people = pd.concat([shared.iloc[:n_shared], only_right], ignore_index=True)
                for side, people in (("left", shared), ("right", right_people)):
                    table, truth = _records(people, rng, rates, side=side, first_number=start)
                    writers[side].write_table(table)
                    writers["truth"].write_table(truth)
                progress.advance(task, size)
        finally:
            for writer in writers.values():
                writer.close()
    return BenchmarkExtracts(
        left=target / "left.parquet", right=target / "right.parquet", truth=target / "truth.parquet"
    )
