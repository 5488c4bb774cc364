from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from trelink.synth import CANONICAL_IDENTITY_SCHEMA, SynthError, write_benchmark_extracts


def test_extracts_share_the_requested_share_of_people(tmp_path: Path) -> None:
    paths = write_benchmark_extracts(tmp_path / "bench", n_records=2_000, overlap=0.4, seed=3)
    left = pq.read_table(paths.left)
    right = pq.read_table(paths.right)
    truth = pq.read_table(paths.truth).to_pandas()
    assert left.schema.equals(CANONICAL_IDENTITY_SCHEMA)
    assert left.num_rows == right.num_rows == 2_000
    assert left.column("record_id").to_pandas().is_unique
    people = {side: set(rows["person_id"]) for side, rows in truth.groupby("dataset")}
    assert len(people["left"] & people["right"]) == 800
    assert set(truth["record_id"]) == set(left.column("record_id").to_pylist()) | set(
        right.column("record_id").to_pylist()
    )


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first = write_benchmark_extracts(tmp_path / "a", n_records=500, overlap=0.5, seed=9)
    second = write_benchmark_extracts(tmp_path / "b", n_records=500, overlap=0.5, seed=9)
    assert first.left.read_bytes() == second.left.read_bytes()
    assert first.truth.read_bytes() == second.truth.read_bytes()


@pytest.mark.parametrize(("n_records", "overlap"), [(0, 0.5), (10, 1.5)])
def test_impossible_requests_refused(tmp_path: Path, n_records: int, overlap: float) -> None:
    with pytest.raises(SynthError):
        write_benchmark_extracts(tmp_path / "x", n_records=n_records, overlap=overlap)
