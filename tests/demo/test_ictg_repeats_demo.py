"""``trelink demo --ictg-repeats``: ICTG returns that repeat URNs run end to end."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from trelink.demo.pipeline import run_demo


@pytest.mark.slow
def test_repeated_urns_reach_the_spine_as_one_person_each(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run_demo(out, scale=0.05, seed=2, ictg_repeats=True)

    urns = pq.read_table(out / "owners" / "home_office" / "prepared" / "ictg" / "referral.parquet")
    record_ids = urns.column("record_id").to_pylist()
    assert len(set(record_ids)) < len(record_ids)  # the returns did repeat URNs
    assert result.ictg_urns_in_spine == len(set(record_ids))

    with duckdb.connect(str(out / "tre" / "tre.duckdb"), read_only=True) as connection:
        persons_per_urn, children_outside = connection.sql(
            "SELECT (SELECT max(n) FROM (SELECT count(DISTINCT person_id) AS n "
            "FROM person_spine WHERE dataset = 'ictg' GROUP BY record_pid)), "
            "(SELECT count(*) FROM ictg_wide WHERE record_pid NOT IN "
            "(SELECT record_pid FROM person_spine WHERE dataset = 'ictg'))"
        ).fetchall()[0]
    assert persons_per_urn == 1
    assert children_outside == 0
    assert result.quality is not None and result.quality.metrics.overall.precision > 0.9
