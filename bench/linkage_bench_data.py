"""Benchmark data for the linkage benchmarks: generated, pseudonymised, truth by pid.

Used by ``bench_linkage_quality.py`` and ``bench_linkage_speed.py`` (run them from the
repository root). Extracts are cached under the data directory, keyed by size and
seed, so repeated runs measure linkage, not generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from linkage.evaluate import truth_by_record_pid
from pseudonymise import pseudonymise_table, write_pseudonymised
from trelink.synth import write_benchmark_extracts

# Fixed benchmark keys: the data are synthetic and the keys never leave this machine.
LINKAGE_KEY = bytes(range(32))
OWNER_KEY = bytes(range(32, 64))


@dataclass(frozen=True)
class BenchData:
    """Canonical extracts (cleartext, for the reference), tokenised folders and truth."""

    raw_left: Path
    raw_right: Path
    raw_truth: Path  # dataset, record_id, person_id
    left: Path  # pseudonymised folder
    right: Path
    truth: Path  # dataset, record_pid, person_id


def bench_data(root: Path, *, records: int, seed: int) -> BenchData:
    """Generate and pseudonymise ``records`` per side once; reuse the cache after."""
    base = root / f"{records}-seed{seed}"
    raw = base / "raw"
    if not (raw / "truth.parquet").exists():
        print(f"generating {records:,} records per side (seed {seed}) ...", flush=True)
        write_benchmark_extracts(raw, n_records=records, overlap=0.5, seed=seed)
    folders = {}
    for side in ("left", "right"):
        folder = base / side
        if not (folder / "identity.parquet").exists():
            print(f"pseudonymising {side} ...", flush=True)
            tables = pseudonymise_table(
                pq.read_table(raw / f"{side}.parquet"),
                linkage_key=LINKAGE_KEY,
                owner_key=OWNER_KEY,
            )
            write_pseudonymised(tables, folder, overwrite=True)
        folders[side] = folder
    truth = base / "truth_pid.parquet"
    if not truth.exists():
        truth_by_record_pid(
            raw / "truth.parquet",
            {side: folder / "lookup.parquet" for side, folder in folders.items()},
            truth,
        )
    return BenchData(
        raw_left=raw / "left.parquet",
        raw_right=raw / "right.parquet",
        raw_truth=raw / "truth.parquet",
        left=folders["left"],
        right=folders["right"],
        truth=truth,
    )
