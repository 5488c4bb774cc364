"""Benchmark: how fast the generator writes, and how fast prepare reads it back.

Run: ``.venv/bin/python bench/bench_synth.py [--out DIR] [--records N]``. Prints the
wall time and peak memory of a default-size ``trelink synth`` run, of ``prepare`` for
each source, and of ``write_benchmark_extracts`` (two extracts of N records, half the
people shared). Figures quoted in docs/data.md come from this script.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from pseudonymise.prepare import prepare_source, write_prepared
from specs.dataset import dataset_spec_path, load_dataset_spec
from synth import write_benchmark_extracts
from synth.generate import SOURCES, generate


def cpu_seconds() -> float:
    # The machine is shared: CPU time of this process is steadier than wall time.
    return time.process_time()


def peak_gib() -> float:
    # ru_maxrss is in KiB on Linux; it is the peak of the whole process so far.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="work directory (default: temp)")
    parser.add_argument("--records", type=int, default=1_000_000, help="benchmark extract size")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = options.out or Path(scratch)
        start, cpu = time.perf_counter(), cpu_seconds()
        summary = generate(root / "raw", seed=1, scale=1.0)
        elapsed = time.perf_counter() - start
        print(
            f"synth default scale: {summary.people:,} people in {elapsed:.1f} s wall, "
            f"{cpu_seconds() - cpu:.1f} s CPU (peak {peak_gib():.2f} GiB)"
        )
        for name, rows in summary.rows.items():
            print(f"  {name:22s} {rows:>8,} rows")
        for source in SOURCES:
            start, cpu = time.perf_counter(), cpu_seconds()
            prepared = prepare_source(load_dataset_spec(dataset_spec_path(source)), root / "raw")
            suffix = "" if source == "ictg" else ".parquet"
            write_prepared(prepared, root / "prepared" / f"{source}{suffix}")
            rows = sum(table.num_rows for table in prepared.tables.values())
            elapsed = time.perf_counter() - start
            print(
                f"prepare {source:10s} {rows:>8,} rows in {elapsed:5.1f} s wall, "
                f"{cpu_seconds() - cpu:5.1f} s CPU"
            )
        start, cpu = time.perf_counter(), cpu_seconds()
        write_benchmark_extracts(root / "bench", n_records=options.records, overlap=0.5, seed=1)
        elapsed = time.perf_counter() - start
        print(
            f"benchmark extracts: 2 x {options.records:,} records in {elapsed:.1f} s wall, "
            f"{cpu_seconds() - cpu:.1f} s CPU (peak {peak_gib():.2f} GiB)"
        )


if __name__ == "__main__":
    main()
