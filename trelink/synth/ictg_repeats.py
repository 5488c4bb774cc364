"""Referrals the ICTG returns hold more than once: copies of one referral, and re-entries.

* A **copy** is the same referral in a second return: the period's 'Missing' file
  (compiled later from incomplete records), the same group's next-period file (a later
  return carrying corrections), or twice in one return. It keeps the URN, site and
  identifiers; its referral date may be 1-5 days off, a field may be blank, and a closed
  case's first return may predate the closure (only the later copy has it). A child
  copied into a 'Missing' file may have that period's monthly and contact rows copied
  there too.
* A **re-entry** is the child referred again after the case closed: same URN, a new
  referral date at least ``reentry_gap_days[0]`` days after the closure, possibly
  another site, new identifiers written down, its own closure and (because it is added
  before events are drawn) its own monthly and contact rows.

  For some re-entries the earlier closure was never written down
  (``forget_closures``): the returns then show two referrals of one URN months apart
  with no closure between them.

Rates are ``synth.rates.IctgRepeatRates``. Each referral row carries ``episode`` (1
first, 2 re-entry), ``entry`` (``ENTRIES``) and ``copy_kind`` (null for the row first
returned) for the truth.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from trelink.synth.corrupt import record_identifiers
from trelink.synth.ictg_cases import (
    ASSESSED_DOB_USE,
    ICTG_END,
    close_cases,
    draw_groups,
    draw_sites,
    period_of,
)
from trelink.synth.rates import IctgRepeatRates, IdentifierErrorRates
from trelink.synth.render import BARE

__all__ = [
    "COPY_KINDS",
    "ENTRIES",
    "add_copies",
    "add_reentries",
    "forget_closures",
]

COPY_KINDS = ("missing_file", "later_return", "same_return")
# How each referral row's episode began (truth): a re-entry whose earlier closure was
# never written down is told apart, since the returns cannot show its closure.
ENTRIES = ("first", "re_entry", "re_entry_closure_unrecorded")
_NEXT_PERIOD: Mapping[str, str] = {"2017-2019": "2020", "2020": "2021", "2021": "2022"}
_CLOSURE_FIELDS = ("closure_date", "closure_reason", "moved_on_service")
_BLANKABLE_FIELDS = ("nationality", "worker_type", "exploitation_types")
# Copies are not taken near the 2020 January-April returns, which lost every URN: a
# shifted date could move a copy in or out of them.
_NO_URN_WINDOW = (pd.Timestamp("2019-12-20"), pd.Timestamp("2020-05-10"))
# A copy's date moves only when the case stayed open this long, so it never falls after
# the closure (which would make it a re-referral, not a copy).
_SHIFT_NEEDS_OPEN_DAYS = 10


def _choose(rng: np.random.Generator, eligible: np.ndarray, wanted: int) -> np.ndarray:
    """``wanted`` of the eligible positions (all of them if fewer), in row order."""
    positions = np.flatnonzero(eligible)
    return np.sort(rng.choice(positions, size=min(wanted, positions.size), replace=False))


def add_reentries(
    referrals: pd.DataFrame,
    children: pd.DataFrame,
    rng: np.random.Generator,
    *,
    rates: IdentifierErrorRates,
    repeats: IctgRepeatRates,
    missing_share: float,
) -> pd.DataFrame:
    """``referrals`` (row i is ``children`` row i) with the re-referrals appended."""
    minimum, mean = repeats.reentry_gap_days
    gap = minimum + rng.exponential(mean, size=len(referrals)).astype(int)
    again = referrals["closure_date"] + pd.to_timedelta(gap, unit="D")
    eighteenth = referrals["true_dob"] + pd.DateOffset(years=18)
    first = referrals["referral_date"]
    eligible = (
        referrals["closure_date"].notna()
        & (referrals["closure_reason"] != "turning_18")
        & (again <= pd.Timestamp(ICTG_END))
        & (again < eighteenth)
        # A first referral without a URN (2020 January-April) cannot be followed.
        & ~first.between(*_NO_URN_WINDOW)
    ).to_numpy()
    chosen = _choose(rng, eligible, round(repeats.reentry * len(referrals)))
    earlier = referrals.iloc[chosen].reset_index(drop=True)
    count = len(earlier)
    date = again.iloc[chosen].reset_index(drop=True)
    period = period_of(date)
    moved = rng.random(count) < repeats.reentry_other_site
    site = np.where(moved, draw_sites(rng, period), earlier["site"].to_numpy()).astype(object)
    unaccompanied = earlier["unaccompanied"].to_numpy()
    direct, group = draw_groups(rng, unaccompanied, missing_share=missing_share)
    recorded = record_identifiers(children.iloc[chosen], rng, rates, assessed_use=ASSESSED_DOB_USE)
    frame = pd.DataFrame(
        {
            "record_id": earlier["record_id"],
            **{
                c: recorded[c].to_numpy() for c in ("forename", "surname", "dob", "sex", "postcode")
            },
            "nationality": earlier["nationality"],
            "site": site,
            "referral_date": date,
            "exploitation_types": earlier["exploitation_types"],
            "worker_type": np.where(direct, "dw", "rpc"),
            "group": group,
            "period": period,
            "person_id": earlier["person_id"],
            "errors": recorded["errors"].to_numpy(),
            "true_dob": earlier["true_dob"],
            "unaccompanied": unaccompanied,
        }
    )
    close_cases(frame, rng)
    frame["episode"] = earlier["episode"] + 1
    frame["entry"] = "re_entry"
    frame["copy_kind"] = None
    return pd.concat([referrals, frame], ignore_index=True)


def forget_closures(
    referrals: pd.DataFrame, rng: np.random.Generator, *, repeats: IctgRepeatRates
) -> None:
    """Blank the earlier closure of some re-entries in every row (after events are drawn)."""
    reentry = (referrals["entry"] == "re_entry").to_numpy()
    forgotten = reentry & (rng.random(len(referrals)) < repeats.reentry_closure_unrecorded)
    referrals.loc[forgotten, "entry"] = ENTRIES[2]
    earlier = set(
        zip(
            referrals.loc[forgotten, "person_id"],
            referrals.loc[forgotten, "episode"] - 1,
            strict=True,
        )
    )
    rows = [
        pair in earlier for pair in zip(referrals["person_id"], referrals["episode"], strict=True)
    ]
    for field in _CLOSURE_FIELDS:
        referrals[field] = referrals[field].astype(object)
        referrals.loc[np.array(rows, dtype=bool), field] = None


def _copy_kinds(
    rng: np.random.Generator, originals: pd.DataFrame, repeats: IctgRepeatRates
) -> np.ndarray:
    draw = rng.random(len(originals))
    later = draw >= 1 - repeats.copy_to_later_return
    has_next = originals["period"].isin(list(_NEXT_PERIOD)).to_numpy()
    kind = np.where(later & has_next, "later_return", "same_return").astype(object)
    kind[(draw < repeats.copy_to_missing) | (later & ~has_next)] = "missing_file"
    return kind


def _copied_referrals(
    referrals: pd.DataFrame, chosen: np.ndarray, rng: np.random.Generator, repeats: IctgRepeatRates
) -> pd.DataFrame:
    copies = referrals.iloc[chosen].reset_index(drop=True)
    count = len(copies)
    kind = _copy_kinds(rng, copies, repeats)
    copies["copy_kind"] = kind
    copies.loc[kind == "missing_file", "group"] = "Missing"
    later = kind == "later_return"
    copies.loc[later, "period"] = copies.loc[later, "period"].map(_NEXT_PERIOD)
    # The gaps made the closure an object column (blank for 2020 January-April).
    closure = pd.to_datetime(copies["closure_date"])
    open_long = closure.isna() | (
        closure - copies["referral_date"] > pd.Timedelta(days=_SHIFT_NEEDS_OPEN_DAYS)
    )
    shifted = (rng.random(count) < repeats.copy_date_shifted) & open_long.to_numpy()
    days = rng.integers(1, 6, size=count) * rng.choice((-1, 1), size=count)
    copies["referral_date"] = copies["referral_date"] + pd.to_timedelta(
        np.where(shifted, days, 0), unit="D"
    )
    blank = rng.random(count) < repeats.copy_field_blank
    which = rng.integers(0, len(_BLANKABLE_FIELDS), size=count)
    for number, field in enumerate(_BLANKABLE_FIELDS):
        rows = blank & (which == number)
        copies[field] = copies[field].astype(object)
        copies.loc[rows, field] = None
    return copies


def _closure_only_in_copies(
    referrals: pd.DataFrame,
    chosen: np.ndarray,
    copies: pd.DataFrame,
    rng: np.random.Generator,
    repeats: IctgRepeatRates,
) -> None:
    """Blank the closure of first-returned rows whose copy came back after the closure."""
    returned_later = (copies["copy_kind"] != "same_return").to_numpy()
    closed = pd.to_datetime(copies["closure_date"]).notna().to_numpy()
    draw = rng.random(len(copies)) < repeats.closure_only_in_copy
    rows = referrals.index[chosen[returned_later & closed & draw]]
    for field in _CLOSURE_FIELDS:
        referrals[field] = referrals[field].astype(object)
        referrals.loc[rows, field] = None


def _events_along(
    copies: pd.DataFrame, rng: np.random.Generator, rate: float
) -> set[tuple[str, str]]:
    """(URN, period) of the 'Missing' copies whose events are returned there too."""
    into_missing = copies[copies["copy_kind"] == "missing_file"]
    along = into_missing[rng.random(len(into_missing)) < rate]
    return set(zip(along["record_id"], along["period"], strict=True))


def _in_missing_file(events: pd.DataFrame, along: set[tuple[str, str]]) -> pd.DataFrame:
    """Copies, as 'Missing' rows, of the DW and RPC events of those URNs and periods."""
    chosen = [
        (urn, period) in along
        for urn, period in zip(events["record_id"], events["period"], strict=True)
    ]
    rows = events[events["group"].isin(["DW", "RPC"]).to_numpy() & np.array(chosen, dtype=bool)]
    copied: pd.DataFrame = rows.assign(group="Missing")
    return copied


def add_copies(
    referrals: pd.DataFrame,
    monthly: pd.DataFrame,
    contacts: pd.DataFrame,
    rng: np.random.Generator,
    *,
    repeats: IctgRepeatRates,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Referral, monthly and contact rows with the copies appended (after the gaps)."""
    eligible = (
        referrals["record_id"].notna()
        & ~referrals[BARE].astype(bool)
        & ~referrals["referral_date"].between(*_NO_URN_WINDOW)
    ).to_numpy()
    chosen = _choose(rng, eligible, round(repeats.copy * len(referrals)))
    copies = _copied_referrals(referrals, chosen, rng, repeats)
    _closure_only_in_copies(referrals, chosen, copies, rng, repeats)
    along = _events_along(copies, rng, repeats.copy_events)
    monthly_copies = _in_missing_file(monthly, along)
    placement_blank = rng.random(len(monthly_copies)) < repeats.copy_field_blank
    monthly_copies.loc[placement_blank, "placement_type"] = None
    contact_copies = _in_missing_file(contacts, along)
    return (
        pd.concat([referrals, copies], ignore_index=True),
        pd.concat([monthly, monthly_copies], ignore_index=True),
        pd.concat([contacts, contact_copies], ignore_index=True),
    )
