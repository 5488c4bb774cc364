"""Single summary statistics that can reveal one person's value.

The minimum, maximum, median, other percentiles and the mode each equal some
individual's value. ``safe_statistic`` computes one only when enough people contribute
(the policy's ``unsafe_statistics.min_contributors``, default the threshold); for the
mode, that many people must also share the modal value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sdc.errors import RefusedStatisticError, TableInputError
from sdc.policy import Policy

__all__ = ["safe_statistic"]

_SAFE = ("mean", "sum", "count")


def safe_statistic(
    values: pd.Series | Sequence[float],
    statistic: str,
    *,
    policy: Policy,
    percentile: float | None = None,
) -> float:
    """The statistic of ``values`` (missing values ignored), or ``RefusedStatisticError``."""
    series = pd.to_numeric(pd.Series(values), errors="coerce")
    if series.isna().sum() > pd.Series(values).isna().sum():
        raise TableInputError("values for a statistic must be numeric")
    present = series.dropna().to_numpy(dtype=float)
    contributors = present.size
    if statistic not in (*_SAFE, "min", "max", "median", "percentile", "mode"):
        raise TableInputError(f"unknown statistic {statistic!r}")
    needed = policy.statistic_min_contributors
    if statistic in policy.unsafe_statistics.statistics and contributors < needed:
        raise RefusedStatisticError(
            f"{statistic} of {contributors} contributor(s) refused: it equals one person's "
            f"value, and the policy '{policy.name}' needs at least {needed}"
        )
    if statistic == "count":
        return float(contributors)
    if contributors == 0:
        raise RefusedStatisticError(f"{statistic} of no values")
    if statistic == "mean":
        return float(present.mean())
    if statistic == "sum":
        return float(present.sum())
    if statistic == "min":
        return float(present.min())
    if statistic == "max":
        return float(present.max())
    if statistic == "median":
        return float(np.median(present))
    if statistic == "percentile":
        if percentile is None or not 0 <= percentile <= 100:
            raise TableInputError("percentile needs a percentile between 0 and 100")
        return float(np.percentile(present, percentile))
    modes, frequency = np.unique(present, return_counts=True)
    top = int(frequency.max())
    if "mode" in policy.unsafe_statistics.statistics and top < needed:
        raise RefusedStatisticError(
            f"mode shared by {top} contributor(s) refused; the policy '{policy.name}' needs "
            f"at least {needed}"
        )
    return float(modes[int(np.argmax(frequency))])
