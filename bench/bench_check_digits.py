"""Benchmark: NHS-number check digits on one column, vectorised vs ``python-stdnum``.

    .venv/bin/python bench/bench_check_digits.py [--rows 1000000]

``pseudonymise.normalise.normalise_nhs_numbers`` applies the modulus-11 rule to a whole
column with NumPy; ``stdnum.gb.nhs.is_valid`` answers one value at a time. Both are
timed on the same column (nine in ten values valid NHS numbers from the generator, the
rest random ten-digit strings, spaced as people write them) and must agree on every
value; the figures printed are wall-clock seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from stdnum.gb import nhs

from pseudonymise.normalise import normalise_nhs_numbers
from trelink.synth.identifiers import nhs_numbers


def _column(rows: int) -> list[str]:
    rng = np.random.default_rng(15)
    valid = nhs_numbers(rng, rows - rows // 10)
    other = [f"{value:010d}" for value in rng.integers(0, 10**10, size=rows // 10).tolist()]
    values = valid + other
    return [f"{value[:3]} {value[3:6]} {value[6:]}" if index % 3 else value
            for index, value in enumerate(values)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    values = _column(rows)
    started = time.perf_counter()
    vectorised = [value is not None for value in normalise_nhs_numbers(values)]
    numpy_seconds = time.perf_counter() - started
    started = time.perf_counter()
    one_by_one = [nhs.is_valid(value) for value in values]
    stdnum_seconds = time.perf_counter() - started
    assert vectorised == one_by_one, "the two disagree"
    print(f"{rows:,} values, {sum(vectorised):,} valid")
    print(f"normalise_nhs_numbers (NumPy, whole column): {numpy_seconds:.2f} s")
    print(f"stdnum.gb.nhs.is_valid (one value at a time): {stdnum_seconds:.2f} s")


if __name__ == "__main__":
    main()
