"""Random draws shared by every source generator."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["clamp_dates", "weighted_choice"]


def weighted_choice(
    rng: np.random.Generator, options: tuple[str, ...], weights: tuple[float, ...], size: int
) -> np.ndarray:
    """``size`` draws from ``options`` with probabilities proportional to ``weights``."""
    probabilities = np.array(weights, dtype=float) / sum(weights)
    chosen: np.ndarray = rng.choice(np.array(options, dtype=object), size=size, p=probabilities)
    return chosen


def clamp_dates(dates: pd.Series, earliest: pd.Timestamp, latest: pd.Timestamp) -> pd.Series:
    """``dates`` moved inside [``earliest``, ``latest``] (stragglers pile up at the ends)."""
    inside = dates.where(dates >= earliest, earliest)
    return inside.where(inside <= latest, latest)
