"""Benchmark: pseudonymise a 1,000,000-record canonical extract; print records/s and peak memory.

    .venv/bin/python bench/bench_pseudonymise.py [--records 1000000] [--data out/bench/pseudonymise]

The extract comes from the synthetic generator (``synth.benchmark``) and is cached in
``--data``; it is generated in a child process so the peak memory printed here is that
of pseudonymisation alone (read, normalise, derive, tokenise, risk report, write).
Target on the 2-core reference machine: >= 100,000 records/s, peak < 4 GiB.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_GENERATE = """
import sys
from trelink.synth.benchmark import write_benchmark_extracts
write_benchmark_extracts(sys.argv[1], n_records=int(sys.argv[2]), overlap=0.5, seed=1)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=Path("out/bench/pseudonymise"))
    arguments = parser.parse_args()
    data = arguments.data / str(arguments.records)
    extract = data / "left.parquet"
    if not extract.exists():
        print(f"generating {arguments.records:,} synthetic records into {data} ...", flush=True)
        subprocess.run(
            [sys.executable, "-c", _GENERATE, str(data), str(arguments.records)], check=True
        )

    from pseudonymise.canonical import read_canonical
    from pseudonymise.tables import pseudonymise_table, write_pseudonymised

    linkage_key, owner_key = secrets.token_bytes(32), secrets.token_bytes(32)
    steps: list[tuple[str, float]] = []
    started = time.perf_counter()
    canonical = read_canonical(extract)
    read_done = time.perf_counter()
    tables = pseudonymise_table(
        canonical,
        linkage_key=linkage_key,
        owner_key=owner_key,
        progress=lambda step: steps.append((step, time.perf_counter())),
    )
    tokenised = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=arguments.data) as scratch:
        write_pseudonymised(tables, Path(scratch) / "out")
    finished = time.perf_counter()

    rows = canonical.table.num_rows
    total = finished - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    own, workers = (
        usage.ru_utime + usage.ru_stime
        for usage in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )
    cpu = own + workers
    token_columns = len(tables.manifest["token_columns"])
    print(f"records:            {rows:,} ({token_columns} token columns)")
    print(f"read:               {read_done - started:.2f} s")
    print(f"pseudonymise:       {tokenised - read_done:.2f} s")
    marks = [("start", read_done), *steps, ("end", tokenised)]
    for (step, at), (_next, following) in itertools.pairwise(marks):
        print(f"  {step:<40} {following - at:6.2f} s")
    print(f"write:              {finished - tokenised:.2f} s")
    print(f"total:              {total:.2f} s")
    print(f"records/s:          {rows / total:,.0f}")
    print(f"peak memory (RSS):  {peak_kib / 1024**2:.2f} GiB")
    # Wall time depends on what else the machine runs; CPU time says how much work it was.
    print(f"CPU time:           {cpu:.2f} s (main process {own:.2f} s, workers {workers:.2f} s)")
    # On an idle machine the workers hash on the other core while the main process
    # derives, so the main process's CPU time bounds the wall time from below.
    print(f"records per main-process CPU second: {rows / own:,.0f} (independent of other load)")
    print(f"load average:       {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
