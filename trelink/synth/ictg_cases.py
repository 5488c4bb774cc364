"""An ICTG case as the service records it: period folder, site, worker group and closure.

Shared by the first referral of each child (``synth.ictg``) and by the repeats
(``synth.ictg_repeats``: copies of a referral and re-referrals after closure), so a
re-entry is drawn exactly like a first referral made on its date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from trelink.synth.draws import weighted_choice

__all__ = [
    "ASSESSED_DOB_USE",
    "ICTG_END",
    "ICTG_START",
    "MISSING_GROUP_SHARE",
    "close_cases",
    "draw_groups",
    "draw_sites",
    "period_of",
]

# Share of age-assessed children whose ICTG referral records the assessed date.
ASSESSED_DOB_USE = 0.6
ICTG_START = dt.date(2017, 1, 30)
ICTG_END = dt.date(2022, 9, 30)
# Referral rows returned in the 'Missing' files (81 of the published 4,170), copies included.
MISSING_GROUP_SHARE = 81 / 4170
_SITES_BY_PERIOD: Mapping[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "2017-2019": (("birmingham", "hampshire_iow", "greater_manchester"), (0.4, 0.25, 0.35)),
    "2020": (
        ("birmingham", "hampshire_iow", "greater_manchester", "croydon", "wales", "west_midlands"),
        (0.2, 0.12, 0.2, 0.15, 0.18, 0.15),
    ),
    "2021": (
        (
            "birmingham",
            "hampshire_iow",
            "greater_manchester",
            "croydon",
            "wales",
            "west_midlands",
            "east_midlands",
            "west_yorkshire",
        ),
        (0.14, 0.1, 0.16, 0.12, 0.14, 0.12, 0.11, 0.11),
    ),
}
_CLOSURE_REASONS = (
    ("no_trafficking_concerns", 0.15),
    ("negative_nrm_decision", 0.10),
    ("did_not_want_ictg", 0.10),
    ("long_term_missing", 0.12),
    ("returned_to_country_of_origin", 0.03),
    ("transfer_to_non_ictg_site", 0.20),
    ("other", 0.30),
)


def period_of(dates: pd.Series) -> np.ndarray:
    """The ICTG period folder for each date."""
    years = pd.DatetimeIndex(dates).year.to_numpy()
    return np.where(years <= 2019, "2017-2019", years.astype(str)).astype(object)


def draw_sites(rng: np.random.Generator, period: np.ndarray) -> np.ndarray:
    """A site for each referral, among the sites open in its period (2022 as 2021)."""
    site = np.empty(len(period), dtype=object)
    for name, (sites, weights) in _SITES_BY_PERIOD.items():
        rows = np.flatnonzero(np.where(period == "2022", "2021", period) == name)
        site[rows] = weighted_choice(rng, sites, weights, rows.size)
    return site


def draw_groups(
    rng: np.random.Generator, unaccompanied: np.ndarray, *, missing_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """Whether a direct worker took each case, and the group whose files return it."""
    count = len(unaccompanied)
    direct = rng.random(count) < np.where(unaccompanied, 0.75, 0.2)
    group = np.where(direct, "DW", "RPC").astype(object)
    group[rng.random(count) < missing_share] = "Missing"
    return direct, group


def close_cases(frame: pd.DataFrame, rng: np.random.Generator) -> None:
    """Add closure_date, closure_reason and moved_on_service (null while open at the end)."""
    count = len(frame)
    months = np.maximum(1, rng.exponential(12.0, size=count)).astype(int)
    planned = frame["referral_date"] + pd.to_timedelta(months * 30, unit="D")
    eighteenth = frame["true_dob"] + pd.DateOffset(years=18)
    turns_18 = (eighteenth < planned).to_numpy() & (eighteenth > frame["referral_date"]).to_numpy()
    closure = planned.where(~turns_18, eighteenth)
    reasons, weights = zip(*_CLOSURE_REASONS, strict=True)
    reason = np.where(turns_18, "turning_18", weighted_choice(rng, reasons, weights, count)).astype(
        object
    )
    still_open = (closure > pd.Timestamp(ICTG_END)).to_numpy()
    onward_18 = weighted_choice(
        rng,
        ("leaving_care_service", "adult_victim_care_contract", "no_onward_service", "other"),
        (0.5, 0.3, 0.15, 0.05),
        count,
    )
    onward_other = weighted_choice(
        rng, ("youth_offending_service", "no_onward_service", "other"), (0.1, 0.6, 0.3), count
    )
    onward = np.where(turns_18, onward_18, onward_other).astype(object)
    reason[still_open] = None
    onward[still_open] = None
    frame["closure_date"] = closure.where(~still_open)
    frame["closure_reason"] = reason
    frame["moved_on_service"] = onward
