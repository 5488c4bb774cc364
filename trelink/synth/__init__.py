"""Synthetic data: a realistic population and the raw extracts each data owner holds.

``trelink synth --out DIR`` writes NRM, ICTG, education, health and justice extracts
with ground truth under ``DIR/truth/``; ``write_benchmark_extracts`` writes large
canonical extracts for the benchmarks. All data is synthetic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trelink.lazy import lazy_module_hooks

if TYPE_CHECKING:
    from trelink.synth.benchmark import (
        CANONICAL_IDENTITY_SCHEMA,
        BenchmarkExtracts,
        write_benchmark_extracts,
    )
    from trelink.synth.errors import SynthError
    from trelink.synth.rates import DEFAULT_RATES, IdentifierErrorRates

__all__ = [
    "CANONICAL_IDENTITY_SCHEMA",
    "DEFAULT_RATES",
    "BenchmarkExtracts",
    "IdentifierErrorRates",
    "SynthError",
    "write_benchmark_extracts",
]

# Public name -> the module that defines it, imported on first use (trelink.lazy).
_EXPORTS: dict[str, str] = {
    "CANONICAL_IDENTITY_SCHEMA": "trelink.synth.benchmark",
    "DEFAULT_RATES": "trelink.synth.rates",
    "BenchmarkExtracts": "trelink.synth.benchmark",
    "IdentifierErrorRates": "trelink.synth.rates",
    "SynthError": "trelink.synth.errors",
    "write_benchmark_extracts": "trelink.synth.benchmark",
}


__getattr__, __dir__ = lazy_module_hooks(__name__, _EXPORTS)
