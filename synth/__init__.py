"""Synthetic data: a realistic population and the raw extracts each data owner holds.

``trelink synth --out DIR`` writes NRM, ICTG, education, health and justice extracts
with ground truth under ``DIR/truth/``; ``write_benchmark_extracts`` writes large
canonical extracts for the benchmarks. All data is synthetic.
"""

from synth.benchmark import CANONICAL_IDENTITY_SCHEMA, BenchmarkExtracts, write_benchmark_extracts
from synth.errors import SynthError
from synth.rates import DEFAULT_RATES, IdentifierErrorRates

__all__ = [
    "CANONICAL_IDENTITY_SCHEMA",
    "DEFAULT_RATES",
    "BenchmarkExtracts",
    "IdentifierErrorRates",
    "SynthError",
    "write_benchmark_extracts",
]
