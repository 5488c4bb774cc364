"""Quality metrics: precision, recall and F1 from exact pair counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linkage.errors import InputTableError
from linkage.evaluate import QualityCounts, evaluate_against_truth, truth_by_record_pid


def test_counts_give_precision_recall_f1() -> None:
    counts = QualityCounts(true_positives=90, false_positives=10, false_negatives=30)
    assert counts.precision == pytest.approx(0.9)
    assert counts.recall == pytest.approx(0.75)
    assert counts.f1 == pytest.approx(2 * 0.9 * 0.75 / 1.65)
    assert QualityCounts(0, 0, 5).precision == 0.0  # no links: no division warning


def test_truth_is_mapped_through_lookups_and_pairs_are_judged(tmp_path: Path) -> None:
    pq.write_table(
        pa.table(
            {
                "dataset": ["a", "a", "b", "b"],
                "record_id": ["r1", "r2", "s1", "s2"],
                "person_id": ["p1", "p2", "p1", "p3"],
            }
        ),
        tmp_path / "truth_records.parquet",
    )
    for dataset, ids in (("a", ["r1", "r2"]), ("b", ["s1", "s2"])):
        pq.write_table(
            pa.table({"record_id": ids, "record_pid": [f"{dataset}-{i}" for i in ids]}),
            tmp_path / f"{dataset}.parquet",
        )
    truth = truth_by_record_pid(
        tmp_path / "truth_records.parquet",
        {"a": tmp_path / "a.parquet", "b": tmp_path / "b.parquet"},
        tmp_path / "truth.parquet",
    )
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE clusters AS SELECT dataset, record_pid FROM read_parquet(?)", [str(truth)]
    )
    connection.execute(
        "CREATE TABLE scored_pairs AS SELECT * FROM (VALUES "
        "('b', 'b-s1', 'a', 'a-r1', 0.99),"  # true, given in reverse order
        "('a', 'a-r2', 'b', 'b-s2', 0.95),"  # false
        "('a', 'a-r2', 'b', 'b-s1', 0.10)"  # false, below the threshold
        ") t(dataset_l, record_pid_l, dataset_r, record_pid_r, match_probability)"
    )
    metrics = evaluate_against_truth(
        connection,
        truth_path=truth,
        link_type="link_only",
        threshold=0.5,
        attributes={},
        subgroups=(),
    )
    assert metrics.true_pairs == 1
    assert metrics.overall == QualityCounts(1, 1, 0)
    assert dict(metrics.by_threshold)[0.05] == QualityCounts(1, 2, 0)


def test_truth_without_person_ids_is_refused(tmp_path: Path) -> None:
    pq.write_table(pa.table({"dataset": ["a"], "record_pid": ["x"]}), tmp_path / "t.parquet")
    connection = duckdb.connect()
    connection.execute("CREATE TABLE clusters (dataset VARCHAR, record_pid VARCHAR)")
    connection.execute("CREATE TABLE scored_pairs (dataset_l VARCHAR)")
    with pytest.raises(InputTableError, match="person_id"):
        evaluate_against_truth(
            connection,
            truth_path=tmp_path / "t.parquet",
            link_type="link_only",
            threshold=0.5,
            attributes={},
            subgroups=(),
        )


def test_a_record_repeated_in_its_source_counts_once(tmp_path: Path) -> None:
    # An ICTG URN returned twice: two truth rows and two lookup rows, one record_pid.
    pq.write_table(
        pa.table(
            {
                "dataset": ["a", "a", "b"],
                "record_id": ["r1", "r1", "s1"],
                "person_id": ["p1", "p1", "p1"],
            }
        ),
        tmp_path / "truth_records.parquet",
    )
    pq.write_table(
        pa.table({"record_id": ["r1", "r1"], "record_pid": ["a-r1", "a-r1"]}),
        tmp_path / "a.parquet",
    )
    pq.write_table(pa.table({"record_id": ["s1"], "record_pid": ["b-s1"]}), tmp_path / "b.parquet")
    truth = truth_by_record_pid(
        tmp_path / "truth_records.parquet",
        {"a": tmp_path / "a.parquet", "b": tmp_path / "b.parquet"},
        tmp_path / "truth.parquet",
    )
    assert pq.read_table(truth).num_rows == 2
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE clusters AS SELECT * FROM (VALUES ('a', 'a-r1'), ('b', 'b-s1')) "
        "t(dataset, record_pid)"
    )
    connection.execute(
        "CREATE TABLE scored_pairs AS SELECT * FROM (VALUES ('a', 'a-r1', 'b', 'b-s1', 0.9)) "
        "t(dataset_l, record_pid_l, dataset_r, record_pid_r, match_probability)"
    )
    metrics = evaluate_against_truth(
        connection,
        truth_path=truth,
        link_type="link_and_dedupe",
        threshold=0.5,
        attributes={},
        subgroups=(),
    )
    assert metrics.true_pairs == 1
    assert metrics.overall == QualityCounts(1, 0, 0)


def _recordlinkage_metric(module: Any, function: str, matrix: Any) -> float:
    """recordlinkage's answer, with 0 where it has none (nan, or F1 of no true link)."""
    import numpy as np

    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            value = float(getattr(module, function)(matrix))
    except ZeroDivisionError:
        return 0.0
    return 0.0 if np.isnan(value) else value


def test_metrics_agree_with_recordlinkage_on_many_counts() -> None:
    # recordlinkage (a dev dependency, used for the FEBRL benchmarks) as an independent
    # check of the three formulas, including the counts whose denominators are zero.
    import numpy as np
    import recordlinkage

    for true_positives in (0, 1, 7, 250):
        for false_positives in (0, 1, 13):
            for false_negatives in (0, 2, 40):
                counts = QualityCounts(true_positives, false_positives, false_negatives)
                matrix = np.array(
                    [[true_positives, false_negatives], [false_positives, 0]], dtype=float
                )
                expected = {
                    name: _recordlinkage_metric(recordlinkage, function, matrix)
                    for name, function in (
                        ("precision", "precision"),
                        ("recall", "recall"),
                        ("f1", "fscore"),
                    )
                }
                for name, value in expected.items():
                    assert getattr(counts, name) == pytest.approx(value), (counts, name)
