"""Benchmark: how well the model's own expected precision/recall track the truth.

    .venv/bin/python bench/bench_expected_quality.py [--records 5000] [--seeds 1 2]
        [--data out/bench/linkage]

For each seed the generator writes two extracts sharing half their people (the data of
``bench_linkage_quality.py``); ``trelink``'s default job links their tokens with the
truth given, so the run reports both what the model expects from its probabilities
(``linkage.threshold``: no truth used) and what the truth measures. The same model is
then reused with ``--threshold auto`` to show where the recommendation lands and what
the truth says of it. Per-subgroup figures, expected beside measured, are in each
run's report.html ("Linkage uncertainty by subgroup").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from linkage_bench_data import bench_data

from linkage.inputs import folder_source
from linkage.job import LinkJob
from linkage.run import LinkResult, link_datasets


def _line(label: str, result: LinkResult) -> str:
    expected, metrics = result.expected, result.metrics
    assert expected is not None and metrics is not None
    measured = metrics.overall
    return (
        f"  {label:<22} threshold {result.threshold:<5}  expected precision "
        f"{expected.expected_precision:.4f} recall {expected.expected_recall:.4f} "
        f"F1 {expected.expected_f1:.4f} | measured precision {measured.precision:.4f} "
        f"recall {measured.recall:.4f} F1 {measured.f1:.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--data", type=Path, default=Path("out/bench/linkage"))
    arguments = parser.parse_args()
    job = LinkJob(link_type="link_only")
    print(f"expected against measured quality, {arguments.records:,} x {arguments.records:,}")
    for seed in arguments.seeds:
        data = bench_data(arguments.data, records=arguments.records, seed=seed)
        sources = [folder_source(data.left), folder_source(data.right)]
        with tempfile.TemporaryDirectory(dir=arguments.data) as work:
            trained = link_datasets(
                sources,
                out_dir=Path(work) / "default",
                job=job,
                truth_path=data.truth,
                show_progress=False,
            )
            auto = link_datasets(
                sources,
                out_dir=Path(work) / "auto",
                job=job,
                truth_path=data.truth,
                model_path=trained.out_dir / "model.json",
                threshold="auto",
                show_progress=False,
            )
        print(f"seed {seed}:")
        print(_line("job's threshold", trained))
        print(_line("--threshold auto", auto))


if __name__ == "__main__":
    main()
