"""Invariants over random small tables: after protection no published cell breaks a
rule, and the audit (and the file check) pass."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import pandas as pd
from hypothesis import example, given
from hypothesis import strategies as st

from sdc import (
    CellStatus,
    audit_outputs,
    check_table_file,
    frequency_table,
    load_policy,
    magnitude_table,
    read_table_file,
)
from sdc.errors import SuppressionError
from sdc.table import ProtectedTable
from sdc.tablefile import write_table

POLICY = load_policy()
LENIENT = POLICY.with_changes(zeros_disclosive=False)

counts_matrix = st.integers(2, 4).flatmap(
    lambda rows: st.integers(2, 4).flatmap(
        lambda columns: st.lists(
            st.lists(st.integers(0, 40), min_size=columns, max_size=columns),
            min_size=rows,
            max_size=rows,
        )
    )
)


def microdata_from(counts: list[list[int]]) -> pd.DataFrame:
    records = [
        (f"r{i}", f"c{j}")
        for i, row in enumerate(counts)
        for j, count in enumerate(row)
        for _ in range(count)
    ]
    # A guaranteed large block keeps every row and column present.
    records += [(f"r{i}", "big") for i in range(len(counts)) for _ in range(50)]
    return pd.DataFrame(records, columns=["row", "column"])


def assert_rules_hold(table: ProtectedTable, *, zeros_disclosive: bool) -> None:
    for index, status in enumerate(table.statuses):
        if status is CellStatus.PRIMARY or status is CellStatus.SECONDARY:
            continue
        count = table.counts[index]
        assert count == 0 or count >= POLICY.threshold
        if zeros_disclosive:
            assert count > 0


@given(counts_matrix, st.booleans())
def test_protected_tables_publish_no_unsafe_cell_and_pass_the_audit(
    counts: list[list[int]], zeros_disclosive: bool
) -> None:
    policy = POLICY if zeros_disclosive else LENIENT
    table = frequency_table(microdata_from(counts), ["row"], ["column"], policy=policy)
    assert_rules_hold(table, zeros_disclosive=zeros_disclosive)
    with TemporaryDirectory() as folder:
        path, _ = write_table(table, Path(folder) / "t.csv")
        report = audit_outputs([path], policy=policy)
        assert report.passed, report.failures
        assert all(cell.width >= policy.count_protection - 1e-6 for cell in report.cells)
        check = check_table_file(path, policy=policy)
        assert check.safe, check.reasons
    published_total = table.published[-1]
    assert published_total == np.sum(counts) + 50 * len(counts)


@given(counts_matrix, st.integers(0, 2**16))
def test_protected_sums_pass_the_audit(counts: list[list[int]], seed: int) -> None:
    data = microdata_from(counts)
    data["cost"] = np.random.default_rng(seed).gamma(1.0, 50.0, len(data))
    table = magnitude_table(data, ["row"], ["column"], "cost", policy=POLICY)
    for index, status in enumerate(table.statuses):
        if status in (CellStatus.SAFE, CellStatus.MARGIN):
            assert table.counts[index] >= POLICY.threshold
            assert table.facts["dominance_share"][index] <= 0.9
    with TemporaryDirectory() as folder:
        path, _ = write_table(table, Path(folder) / "sums.csv")
        report = audit_outputs([path], policy=POLICY)
        assert report.passed, report.failures


@given(st.integers(0, 2**16), st.integers(60, 200))
@example(seed=101, size=101)  # (10-13, S) is all girls, already published by the first table
def test_a_table_protected_with_a_linked_one_passes_the_joint_audit(seed: int, size: int) -> None:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "region": rng.choice(["N", "S", "E", "W"], size, p=[0.4, 0.3, 0.2, 0.1]),
            "sex": rng.choice(["F", "M"], size),
            "age": rng.choice(["0-9", "10-13", "14-17"], size, p=[0.2, 0.3, 0.5]),
        }
    )
    with TemporaryDirectory() as folder:
        first, _ = write_table(
            frequency_table(data, ["region"], ["sex", "age"], policy=POLICY),
            Path(folder) / "first.csv",
        )
        try:
            second_table = frequency_table(
                data, ["age", "region"], ["sex"], policy=POLICY, linked=[read_table_file(first)]
            )
        except SuppressionError as refusal:
            # A cell the second table must hide (say, a whole age-and-region group of one
            # sex) that the first already published cannot be protected: refusing the
            # table, naming the cell, is the correct outcome.
            assert "already publishes" in str(refusal)
            return
        second, _ = write_table(second_table, Path(folder) / "second.csv")
        report = audit_outputs([first, second], policy=POLICY)
        assert report.passed, report.failures
