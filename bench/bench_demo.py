"""Benchmark: ``trelink demo`` at the default size; print each step's time, the total and
peak memory.

    .venv/bin/python bench/bench_demo.py [--scale 1.0] [--seed 1]

The run goes to a temporary folder that is removed afterwards. Target on the 2-core
reference machine: the whole demo in under 10 minutes at the default scale. The machine
is shared, so CPU time is printed beside wall time.
"""

from __future__ import annotations

import argparse
import io
import resource
import tempfile
import time
from pathlib import Path

from rich.console import Console

from trelink.demo import DEFAULT_SCALE, run_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=DEFAULT_SCALE)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    started_cpu = time.process_time()
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as folder:
        # The demo's own progress goes to a buffer; only the figures are printed.
        quiet = Console(file=io.StringIO(), width=120)
        result = run_demo(
            Path(folder) / "demo", scale=arguments.scale, seed=arguments.seed, console=quiet
        )
    cpu = time.process_time() - started_cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"trelink demo --scale {arguments.scale} --seed {arguments.seed}")
    for step, seconds in result.step_seconds.items():
        print(f"  {seconds:7.1f} s  {step}")
    print(
        f"total {result.seconds:.1f} s wall ({result.seconds / 60:.1f} min; target < 10 min), "
        f"{cpu + children.ru_utime + children.ru_stime:.1f} s CPU, peak {peak_mib:,.0f} MiB"
    )
    if result.export is not None:
        print(
            f"  released {len(result.export.released)} outputs, "
            f"withheld {len(result.export.withheld)}"
        )
    if result.quality is not None:
        for line in result.quality.lines():
            print(f"  {line}")


if __name__ == "__main__":
    main()
