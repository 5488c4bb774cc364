"""Benchmark: how fast the generator writes, and how fast prepare reads it back.

Run: ``.venv/bin/python bench/bench_synth.py [--out DIR] [--records N]``. Prints the
wall time and peak memory of a default-size ``trelink synth`` run, of ``prepare`` for
each source, and of ``write_benchmark_extracts`` (two extracts of N records, half the
people shared). Figures quoted in docs/data.md come from this script.

``--names [--names-before REV]`` prints instead, per name origin and sex, the chance
that two unrelated children share forename and surname (``synth.names.
name_collision_rates``, exact, no sampling); with ``--names-before`` also the same
figure for the name lists of git revision REV (e.g. HEAD~1), for comparison.
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from pseudonymise.prepare import prepare_source, write_prepared
from trelink.specs.dataset import dataset_spec_path, load_dataset_spec
from trelink.synth import write_benchmark_extracts
from trelink.synth.generate import SOURCES, generate
from trelink.synth.names import NamePool, name_collision_rates


def cpu_seconds() -> float:
    # The machine is shared: CPU time of this process is steadier than wall time.
    return time.process_time()


def peak_gib() -> float:
    # ru_maxrss is in KiB on Linux; it is the peak of the whole process so far.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def pools_at_revision(revision: str) -> dict[str, NamePool]:
    """The name pools that ``synth/names.py`` of git ``revision`` builds, as today's pools.

    Fields an older version lacks take their defaults (uniform draws, no patronymic
    surnames), which is how that version drew.
    """
    source = ""
    for where in ("trelink/synth/names.py", "synth/names.py"):  # moved under trelink/
        shown = subprocess.run(
            ["git", "show", f"{revision}:{where}"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        if shown.returncode == 0:
            source = shown.stdout
            break
    if not source:
        raise SystemExit(f"cannot find synth/names.py at {revision}")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "names_at_revision.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("names_at_revision", path)
        if spec is None or spec.loader is None:
            raise SystemExit(f"cannot load synth/names.py of {revision}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while building
        try:
            spec.loader.exec_module(module)
            old_pools = module.build_name_pools()
        finally:
            del sys.modules[spec.name]
    fields = NamePool.__dataclass_fields__
    return {
        origin: NamePool(**{name: getattr(pool, name) for name in fields if hasattr(pool, name)})
        for origin, pool in old_pools.items()
    }


def print_name_collisions(before: Mapping[str, Mapping[str, float]] | None) -> None:
    """Per origin and sex, the chance two unrelated children share their full name."""
    after = name_collision_rates()
    header = f"{'origin':18s} {'sex':3s} {'after':>9s} {'1 in':>8s}"
    print(header + (f" {'before':>9s} {'1 in':>8s}" if before else ""))
    for origin, rates in after.items():
        for sex, rate in rates.items():
            line = f"{origin:18s} {sex:3s} {rate:9.2e} {1 / rate:8,.0f}"
            if before and origin in before:
                line += f" {before[origin][sex]:9.2e} {1 / before[origin][sex]:8,.0f}"
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="work directory (default: temp)")
    parser.add_argument("--records", type=int, default=1_000_000, help="benchmark extract size")
    parser.add_argument("--names", action="store_true", help="print name collision rates only")
    parser.add_argument("--names-before", default=None, help="git revision to compare with")
    options = parser.parse_args()
    if options.names:
        before = options.names_before
        print_name_collisions(name_collision_rates(pools_at_revision(before)) if before else None)
        return
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
