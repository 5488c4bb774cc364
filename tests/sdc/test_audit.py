from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sdc import (
    InconsistentTableError,
    Policy,
    audit_outputs,
    frequency_table,
    read_table_file,
    write_table,
)


def two_arrangements(microdata: pd.DataFrame, policy: Policy, folder: Path) -> list[Path]:
    """The same three-way counts arranged two ways, each protected on its own."""
    arrangements = [(["region"], ["sex", "age"]), (["region", "age"], ["sex"])]
    return [
        write_table(frequency_table(microdata, rows, columns, policy=policy), folder / name)[0]
        for (rows, columns), name in zip(arrangements, ["a.csv", "b.csv"], strict=True)
    ]


def test_tables_protected_apart_can_leak_and_the_joint_audit_says_so(
    microdata: pd.DataFrame, policy: Policy, tmp_path: Path
) -> None:
    # Each arrangement protected alone is safe...
    first, second = two_arrangements(microdata, policy, tmp_path)
    assert audit_outputs([first], policy=policy).passed
    assert audit_outputs([second], policy=policy).passed
    # ...but together their patterns differ, and cells become exact.
    joint = audit_outputs([first, second], policy=policy)
    assert not joint.passed
    assert any("width 0" in failure for failure in joint.failures)
    # Protecting the second jointly with the first closes the leak.
    linked, _ = write_table(
        frequency_table(
            microdata, ["region", "age"], ["sex"], policy=policy, linked=[read_table_file(first)]
        ),
        tmp_path / "c.csv",
    )
    repaired = audit_outputs([first, linked], policy=policy)
    assert repaired.passed, repaired.failures
    assert all(cell.width >= 10 for cell in repaired.cells)


def test_differencing_against_an_earlier_release(
    microdata: pd.DataFrame, policy: Policy, tmp_path: Path
) -> None:
    earlier, new = two_arrangements(microdata, policy, tmp_path)
    report = audit_outputs([new], policy=policy, earlier=[earlier])
    assert not report.passed
    assert any(cell.earlier for cell in report.cells)
    assert report.as_dict()["passed"] is False


def test_unrelated_populations_are_audited_apart(
    microdata: pd.DataFrame, policy: Policy, tmp_path: Path
) -> None:
    whole, _ = write_table(
        frequency_table(microdata, ["region"], ["age"], policy=policy), tmp_path / "all.csv"
    )
    girls = microdata[microdata["sex"] == "F"]
    part, _ = write_table(
        frequency_table(girls, ["region"], ["age"], policy=policy), tmp_path / "girls.csv"
    )
    report = audit_outputs([whole, part], policy=policy)
    assert report.passed
    assert any("different populations" in note for note in report.notes)


def test_inconsistent_margins_are_an_error(tmp_path: Path, policy: Policy) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("region,sex: F,sex: M,Total\nN,12,,30\nS,15,20,35\nTotal,27,40,60\n")
    with pytest.raises(InconsistentTableError):
        audit_outputs([path], policy=policy)


def test_a_rounded_table_without_its_record_is_read_as_rounded(
    microdata: pd.DataFrame, tmp_path: Path
) -> None:
    from sdc import load_policy
    from trelink.specs.loader import spec_path

    policy = load_policy(spec_path("sdc", "opensafely.yaml"))
    path, record = write_table(
        frequency_table(microdata, ["region"], ["sex", "age"], policy=policy),
        tmp_path / "rounded.csv",
    )
    with_record = audit_outputs([path], policy=policy)
    record.unlink()
    without_record = audit_outputs([path], policy=policy)  # rounded margins do not add up
    assert with_record.passed and without_record.passed
    assert len(without_record.cells) == len(with_record.cells) > 0


def test_means_protected_jointly_with_sums_of_another_breakdown(
    microdata: pd.DataFrame, policy: Policy, tmp_path: Path
) -> None:
    from sdc import magnitude_table

    sums, _ = write_table(
        magnitude_table(microdata, ["region"], ["sex", "age"], "cost", policy=policy),
        tmp_path / "sums.csv",
    )
    means, _ = write_table(
        magnitude_table(
            microdata,
            ["region", "age"],
            ["sex"],
            "cost",
            statistic="mean",
            policy=policy,
            linked=[read_table_file(sums)],
        ),
        tmp_path / "means.csv",
    )
    report = audit_outputs([sums, means], policy=policy)
    assert report.passed, report.failures
    # Sensitive sums need a tenth of their value; their partners only a range.
    assert all(cell.width >= cell.required >= 1 for cell in report.cells)
    assert any(cell.required > 1 for cell in report.cells)


def test_a_new_primary_cell_already_published_elsewhere_is_refused(
    microdata: pd.DataFrame, policy: Policy, tmp_path: Path
) -> None:
    from sdc import SuppressionError

    # Under a lenient policy the table publishes small cells; a strict protection of
    # the same cells with it linked cannot hide what is already out.
    lenient = policy.with_changes(threshold=2, zeros_disclosive=False)
    released, _ = write_table(
        frequency_table(microdata, ["region"], ["age"], policy=lenient), tmp_path / "old.csv"
    )
    with pytest.raises(SuppressionError, match="already publishes"):
        frequency_table(
            microdata, ["region"], ["age"], policy=policy, linked=[read_table_file(released)]
        )
