from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdc import (
    CellStatus,
    Policy,
    RefusedStatisticError,
    base_round,
    controlled_round,
    frequency_table,
    safe_statistic,
)
from sdc.policy import RoundingMethod, RoundingRules
from sdc.rounding import rounding_bounds
from sdc.structure import TableGrid, hierarchy


@pytest.mark.parametrize("statistic", ["min", "max", "median", "mode"])
def test_unsafe_statistics_need_enough_contributors(statistic: str, policy: Policy) -> None:
    with pytest.raises(RefusedStatisticError, match="at least 10"):
        safe_statistic([3.0, 5.0, 7.0], statistic, policy=policy)
    assert safe_statistic([3.0, 5.0, 7.0], "mean", policy=policy) == 5.0


def test_max_with_enough_contributors_is_given(policy: Policy) -> None:
    values = list(range(1, 21))
    assert safe_statistic(values, "max", policy=policy) == 20
    assert safe_statistic(values, "percentile", policy=policy, percentile=50) == 10.5


def test_a_mode_shared_by_too_few_is_refused(policy: Policy) -> None:
    values = [1.0] * 3 + list(np.arange(2.0, 20.0))
    with pytest.raises(RefusedStatisticError, match="mode shared by 3"):
        safe_statistic(values, "mode", policy=policy)
    assert safe_statistic([4.0] * 12 + [1.0, 2.0], "mode", policy=policy) == 4.0


def test_base_rounding_and_what_it_tells_a_reader() -> None:
    assert base_round(np.array([0.0, 2.0, 2.5, 3.0, 12.0, 13.0]), 5).tolist() == [
        0, 0, 5, 5, 10, 15,
    ]  # fmt: skip
    low, high = rounding_bounds(np.array([10.0]), 5, RoundingMethod.NEAREST)
    assert (low[0], high[0]) == (8, 12)


def test_controlled_rounding_keeps_the_table_additive() -> None:
    grid = TableGrid(hierarchy(["r"], [("a",), ("b",), ("c",)]), hierarchy(["c"], [("x",), ("y",)]))
    values = np.array([3, 20, 23, 15, 12, 27, 18, 32, 50, 36, 64, 100], dtype=float)
    rounded = controlled_round(values, grid.constraints, 5)
    assert rounded is not None
    assert np.abs(grid.constraints @ rounded).max() == 0
    assert (rounded % 5 == 0).all()
    assert (np.abs(rounded - values) < 5).all()
    assert rounded[-1] == 100  # multiples stay


def test_protected_table_published_rounded(microdata: pd.DataFrame, policy: Policy) -> None:
    rounding = policy.with_changes(rounding=RoundingRules(base=5))
    table = frequency_table(microdata, ["region"], ["age"], policy=rounding)
    shown = table.published[~table.hidden]
    assert (shown % 5 == 0).all()
    assert table.rounding is RoundingMethod.CONTROLLED
    assert np.abs(table.grid.constraints @ np.nan_to_num(table.published)).max() >= 0
    assert CellStatus.PRIMARY in table.statuses
