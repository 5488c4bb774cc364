"""Benchmark: link N x N pseudonymised records on DuckDB, training included; Spark too.

    .venv/bin/python bench/bench_linkage_speed.py [--sizes 10000 100000 1000000]
        [--spark-size 100000] [--data out/bench/linkage]

For each size the generator's extracts are tokenised once (cached in ``--data``); then
each measurement runs in a fresh child process so its peak memory is its own:

* tokens on DuckDB: ``trelink``'s default job as ``link_only``, from reading the
  pseudonymised folders to writing pairs, clusters, model and report; the time
  includes training: the prior, u, and the EM sessions ``linkage.em_plan`` chooses
  from the data (candidates: the match-key spec's ``em_blocks``, then one block per
  comparison; each taken while it trains a comparison not yet trained twice, up to
  ``MAX_SESSIONS``; the run's report charts each session's estimates);
* cleartext Splink on DuckDB on the normalised values of the same records, trained
  and blocked the same way (``cleartext_reference.py``);
* tokens on Spark local mode at ``--spark-size`` (scoring with DuckDB's model).

The Spark run scores with the model the DuckDB run trained on the same records, so
its total excludes training. Comparisons per second = candidate pairs (counted
exactly with Splink's blocking analysis, outside the timings) / prediction seconds.
Target on the 2-core reference machine: 1M x 1M tokens in <= 60 s, peak <= 8 GiB.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
from splink import DuckDBAPI
from splink.blocking_analysis import count_comparisons_from_blocking_rules

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cleartext_reference import (
    add_cleartext_capped_blocks,
    cleartext_blocking_rules,
    link_cleartext_extracts,
    normalised_table,
)
from linkage_bench_data import bench_data

from linkage.blocking import capped_blocks_sql, prediction_blocking_rules
from linkage.inputs import folder_source
from linkage.job import LinkJob
from linkage.run import link_datasets

JOB = LinkJob(link_type="link_only")


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _count(tables: list[Any], rules: list[Any], unique_id: str) -> int:
    db_api = DuckDBAPI()
    frames = [
        db_api.register(table, dataset_display_name=name)
        for name, table in zip(("left_extract", "right_extract"), tables, strict=True)
    ]
    records = count_comparisons_from_blocking_rules(
        frames,
        blocking_rules=rules,
        link_type="link_only",
        unique_id_column_name=unique_id,
        record_sample_proportion=1.0,
    )
    return int(records[-1]["cumulative_comparison_count"])


def _child_tokens(data_root: Path, records: int, backend: str) -> dict[str, Any]:
    data = bench_data(data_root, records=records, seed=1)
    # Spark scores with the model DuckDB trained on the same records (train small,
    # score big; see docs/scaling-spark.md), so its time excludes training.
    trained = data.left.parent / "linked-duckdb"
    result = link_datasets(
        [folder_source(data.left), folder_source(data.right)],
        out_dir=data.left.parent / f"linked-{backend}",
        job=JOB,
        backend=backend,  # type: ignore[arg-type]
        model_path=trained / "model.json" if backend == "spark" else None,
        overwrite=True,
        show_progress=False,
    )
    return {
        "seconds": result.seconds,
        "predict_seconds": result.step_seconds["scoring candidate pairs"],
        "pairs": result.pairs,
        "peak_gib": _peak_gib(),
        "steps": {step: round(seconds, 1) for step, seconds in result.step_seconds.items()},
    }


def _child_cleartext(data_root: Path, records: int) -> dict[str, Any]:
    data = bench_data(data_root, records=records, seed=1)
    started = time.perf_counter()
    connection, linker = link_cleartext_extracts(data.raw_left, data.raw_right, job=JOB)
    predict_started = time.perf_counter()
    predictions = linker.inference.predict(
        threshold_match_probability=JOB.threshold, warning_mode="never"
    )
    pairs = connection.sql(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()[0][0]
    now = time.perf_counter()
    return {
        "seconds": now - started,
        "predict_seconds": now - predict_started,
        "pairs": int(pairs),
        "peak_gib": _peak_gib(),
    }


def _comparisons(data_root: Path, records: int) -> dict[str, int]:
    """Candidate pairs of both models (exact counts; not timed)."""
    data = bench_data(data_root, records=records, seed=1)
    connection = duckdb.connect()
    for side, folder in (("left", data.left), ("right", data.right)):
        connection.execute(
            f"CREATE TABLE tokens_{side} AS SELECT * FROM read_parquet('{folder}/identity.parquet')"
        )
    available = set(JOB.match_keys.token_columns)
    statements = capped_blocks_sql(
        JOB.blocking_rules, tables=["tokens_left", "tokens_right"], available=available
    )
    for statement in statements:  # the run's own capped block columns
        connection.execute(statement)
    identity = [connection.table(f"tokens_{side}").to_arrow_table() for side in ("left", "right")]
    tokens = _count(
        identity, prediction_blocking_rules(JOB.blocking_rules, available=available), "record_pid"
    )
    for side, path in (("left", data.raw_left), ("right", data.raw_right)):
        connection.register(f"clear_{side}_arrow", normalised_table(path))
        connection.execute(f"CREATE TABLE clear_{side} AS SELECT * FROM clear_{side}_arrow")
    add_cleartext_capped_blocks(connection, ["clear_left", "clear_right"], job=JOB)
    clear = [connection.table(f"clear_{side}").to_arrow_table() for side in ("left", "right")]
    clear_columns = set(clear[0].column_names)
    cleartext = _count(clear, cleartext_blocking_rules(JOB, clear_columns), "record_id")
    return {"tokens": tokens, "cleartext": cleartext}


def _run_child(mode: str, records: int, data_root: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(records), "--data", str(data_root)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def _child(mode: str, records: int, data_root: Path) -> None:
    logging.disable(logging.WARNING)
    if mode == "cleartext":
        result = _child_cleartext(data_root, records)
    elif mode == "comparisons":
        result = _comparisons(data_root, records)
    else:
        result = _child_tokens(data_root, records, mode)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--spark-size", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=Path("out/bench/linkage"))
    parser.add_argument("--child", nargs=2, metavar=("MODE", "RECORDS"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    arguments.data.mkdir(parents=True, exist_ok=True)
    if arguments.child:
        _child(arguments.child[0], int(arguments.child[1]), arguments.data)
        return
    print(
        f"{'records':>10} {'model':<10} {'backend':<7} {'total s':>8} {'predict s':>9} "
        f"{'comparisons':>12} {'comp/s':>10} {'pairs':>9} {'peak GiB':>8}"
    )
    runs = [(size, mode) for size in sorted(arguments.sizes) for mode in ("duckdb", "cleartext")]
    if arguments.spark_size not in arguments.sizes:
        runs.append((arguments.spark_size, "duckdb"))
    runs.append((arguments.spark_size, "spark"))
    counted: dict[int, dict[str, int]] = {}
    for size, mode in runs:
        bench_data(arguments.data, records=size, seed=1)
        if size not in counted:
            counted[size] = _run_child("comparisons", size, arguments.data)
        result = _run_child(mode, size, arguments.data)
        model = "cleartext" if mode == "cleartext" else "tokens"
        comparisons = counted[size][model]
        print(
            f"{size:>10,} {model:<10} {'duckdb' if mode != 'spark' else 'spark':<7} "
            f"{result['seconds']:>8.1f} {result['predict_seconds']:>9.1f} {comparisons:>12,} "
            f"{comparisons / result['predict_seconds']:>10,.0f} {result['pairs']:>9,} "
            f"{result['peak_gib']:>8.2f}",
            flush=True,
        )
        if "steps" in result:
            steps = "; ".join(
                f"{step} {seconds:.1f} s" for step, seconds in result["steps"].items()
            )
            print(f"{'':>10} steps: {steps}", flush=True)


if __name__ == "__main__":
    main()
