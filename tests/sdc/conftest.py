"""Shared fixtures for the sdc tests: small synthetic microdata, the default policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdc import Policy, load_policy


@pytest.fixture
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def microdata() -> pd.DataFrame:
    """600 synthetic children: region (W is small), sex, age band, a cost."""
    rng = np.random.default_rng(0)
    size = 600
    return pd.DataFrame(
        {
            "region": rng.choice(["N", "S", "E", "W"], size, p=[0.4, 0.3, 0.25, 0.05]),
            "sex": rng.choice(["F", "M"], size),
            "age": rng.choice(["0-9", "10-13", "14-17"], size, p=[0.1, 0.3, 0.6]),
            "cost": rng.gamma(2.0, 100.0, size),
        }
    )
