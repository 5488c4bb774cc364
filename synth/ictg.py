"""ICTG service data: referral, monthly and contact returns, as the Home Office got them.

Folders ``<period>/<group>/`` for periods 2017-2019, 2020, 2021, 2022 and groups DW,
RPC, Missing. Each period has its own file formats, header labels (from the spec),
date style and list separator. The documented gaps are reproduced on purpose:

* DW monthly returns for Feb-Mar 2019 and RPC monthly returns for Oct 2018-Mar 2019
  are absent;
* referrals made Jan-Apr 2020 carry only the site and the referral date;
* there are no contact files for 2020;
* monthly and contact rows for Jul-Sep 2021 arrive only in the Missing files.

ICTG data stays at its real size (about 4,170 referrals) when the population is
scaled up: it is one service's caseload, not a national register.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from specs.dataset import EXCEL_SERIAL
from synth.corrupt import record_identifiers
from synth.draws import weighted_choice
from synth.rates import IdentifierErrorRates
from synth.render import BARE, NATIVE, RawBatch, RawStyle

__all__ = ["ICTG_END", "ICTG_REFERRALS", "ICTG_START", "ictg_batches", "select_ictg_children"]

ICTG_REFERRALS = 4170
ICTG_START = dt.date(2017, 1, 30)
ICTG_END = dt.date(2022, 9, 30)
_MISSING_GROUP_SHARE = 81 / 4170
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
# (table, period) -> (file suffix, encoding, date style, list separator used by the spec)
_FILES: Mapping[tuple[str, str], tuple[str, str, str]] = {
    ("referral", "2017-2019"): (".xls", "utf-8", "%d/%m/%Y"),
    ("referral", "2020"): (".xlsx", "utf-8", EXCEL_SERIAL),
    ("referral", "2021"): (".csv", "utf-8-sig", "%Y-%m-%d"),
    ("referral", "2022"): (".xlsx", "utf-8", NATIVE),
    ("monthly", "2017-2019"): (".xls", "utf-8", "%b-%y"),
    ("monthly", "2020"): (".xlsx", "utf-8", EXCEL_SERIAL),
    ("monthly", "2021"): (".csv", "utf-8", "%Y-%m"),
    ("monthly", "2022"): (".xlsx", "utf-8", NATIVE),
    ("contact", "2017-2019"): (".csv", "cp1252", "%d/%m/%Y"),
    ("contact", "2021"): (".csv", "utf-8-sig", "%Y-%m-%d"),
    ("contact", "2022"): (".csv", "utf-8", "%d/%m/%Y %H:%M"),
}
_FILE_WORDS = {"referral": "referrals", "monthly": "monthly_returns", "contact": "contacts"}
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


def select_ictg_children(
    children: pd.DataFrame, rng: np.random.Generator, *, share_of_scale: float
) -> pd.DataFrame:
    """The children referred to an ICTG, drawn from the trafficked children in the window."""
    dates = pd.to_datetime(children["first_event_date"])
    eligible = children[
        (dates >= pd.Timestamp(ICTG_START)) & (dates <= pd.Timestamp(ICTG_END))
    ].reset_index(drop=True)
    wanted = min(len(eligible), round(ICTG_REFERRALS * share_of_scale))
    return eligible.iloc[np.sort(rng.permutation(len(eligible))[:wanted])].reset_index(drop=True)


def _referrals(
    children: pd.DataFrame, rng: np.random.Generator, rates: IdentifierErrorRates
) -> pd.DataFrame:
    count = len(children)
    referral = pd.to_datetime(children["first_event_date"]) + pd.to_timedelta(
        rng.integers(0, 45, size=count), unit="D"
    )
    referral = referral.where(referral <= pd.Timestamp(ICTG_END), pd.Timestamp(ICTG_END))
    period = period_of(referral)
    site = np.empty(count, dtype=object)
    for name, (sites, weights) in _SITES_BY_PERIOD.items():
        rows = np.flatnonzero(np.where(period == "2022", "2021", period) == name)
        site[rows] = weighted_choice(rng, sites, weights, rows.size)
    unaccompanied = children["unaccompanied"].to_numpy()
    direct = rng.random(count) < np.where(unaccompanied, 0.75, 0.2)
    group = np.where(direct, "DW", "RPC").astype(object)
    group[rng.random(count) < _MISSING_GROUP_SHARE] = "Missing"
    recorded = record_identifiers(children, rng, rates, assessed_use=0.6)
    frame = pd.DataFrame(
        {
            "record_id": [f"U{index:05d}" for index in range(count)],
            **{c: recorded[c] for c in ("forename", "surname", "dob", "sex", "postcode")},
            "nationality": children["nationality"].to_numpy(),
            "site": site,
            "referral_date": referral,
            "exploitation_types": children["exploitation_types"].to_numpy(),
            "worker_type": np.where(direct, "dw", "rpc"),
            "group": group,
            "period": period,
            "person_id": children["person_id"].to_numpy(),
            "errors": recorded["errors"],
            "true_dob": pd.to_datetime(children["dob"]),
            "unaccompanied": unaccompanied,
        }
    )
    frame["record_id"] = [
        f"{site_code[:3].upper()}{date.year % 100:02d}{number:05d}"
        for site_code, date, number in zip(
            frame["site"], frame["referral_date"], range(count), strict=True
        )
    ]
    _close_cases(frame, rng)
    return frame


def _close_cases(frame: pd.DataFrame, rng: np.random.Generator) -> None:
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


def _monthly(referrals: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    start = referrals["referral_date"].dt.to_period("M")
    end = referrals["closure_date"].fillna(pd.Timestamp(ICTG_END)).dt.to_period("M")
    spans = (end - start).map(lambda offset: offset.n).to_numpy() + 1
    index = np.repeat(np.arange(len(referrals)), spans)
    step = np.concatenate([np.arange(span) for span in spans]) if len(spans) else np.array([])
    months = (start.to_numpy()[index] + step).astype(object)
    month_start = pd.to_datetime([month.to_timestamp() for month in months])
    rows = referrals.iloc[index].reset_index(drop=True)
    count = len(rows)
    criminal = np.array(["criminal" in types for types in rows["exploitation_types"]])
    missing = rng.poisson(np.where(criminal, 0.4, 0.12))
    is_last = np.r_[index[1:] != index[:-1], True] & rows["closure_date"].notna().to_numpy()
    status = np.where(is_last, "closed", np.where(missing > 1, "on_hold", "open"))
    placement = np.where(
        rows["unaccompanied"].to_numpy(),
        weighted_choice(
            rng,
            ("foster_care", "semi_independent", "residential_home", "supported_lodgings"),
            (0.45, 0.3, 0.1, 0.15),
            count,
        ),
        weighted_choice(
            rng,
            ("family", "foster_care", "residential_home", "secure", "other"),
            (0.5, 0.25, 0.15, 0.05, 0.05),
            count,
        ),
    ).astype(object)
    placement[rng.random(count) < 0.03] = None
    return pd.DataFrame(
        {
            "record_id": rows["record_id"],
            "month": month_start,
            "status": status,
            "missing_episodes": missing,
            "placement_type": placement,
            "group": rows["group"],
            "period": period_of(pd.Series(month_start)),
            "criminal": criminal,
        }
    )


def _contacts(monthly: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    per_month = np.where(monthly["group"] == "RPC", 1.75, 3.85)
    counts = rng.poisson(per_month)
    index = np.repeat(np.arange(len(monthly)), counts)
    rows = monthly.iloc[index].reset_index(drop=True)
    count = len(rows)
    days = pd.to_timedelta(rng.integers(0, 28, size=count), unit="D")
    subjects = (
        "safety_planning",
        "immigration",
        "criminal_justice",
        "education",
        "health",
        "placement",
        "family_contact",
        "other",
    )
    subject = np.where(
        rows["criminal"].to_numpy(),
        weighted_choice(rng, subjects, (0.25, 0.05, 0.25, 0.15, 0.1, 0.1, 0.05, 0.05), count),
        weighted_choice(rng, subjects, (0.2, 0.25, 0.05, 0.15, 0.15, 0.1, 0.05, 0.05), count),
    )
    contact_date = rows["month"] + days
    return pd.DataFrame(
        {
            "record_id": rows["record_id"],
            "contact_date": contact_date,
            "contact_type": weighted_choice(
                rng,
                (
                    "face_to_face",
                    "telephone",
                    "video_call",
                    "text_or_email",
                    "multi_agency_meeting",
                ),
                (0.45, 0.25, 0.1, 0.1, 0.1),
                count,
            ),
            "contact_subject": subject,
            "group": rows["group"],
            "period": period_of(contact_date),
        }
    )


def _apply_gaps(
    referrals: pd.DataFrame, monthly: pd.DataFrame, contacts: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    month = monthly["month"]
    dropped = ((monthly["group"] == "DW") & month.between("2019-02-01", "2019-03-01")) | (
        (monthly["group"] == "RPC") & month.between("2018-10-01", "2019-03-01")
    )
    monthly = monthly[~dropped].reset_index(drop=True)
    contacts = contacts[contacts["period"] != "2020"].reset_index(drop=True)
    for frame, column in ((monthly, "month"), (contacts, "contact_date")):
        late = frame[column].between("2021-07-01", "2021-09-30")
        frame.loc[late, "group"] = "Missing"
    early_2020 = referrals["referral_date"].between("2020-01-01", "2020-04-30")
    referrals[BARE] = early_2020
    keep = {"site", "referral_date", "group", "period", "person_id", "errors", BARE}
    for column in referrals.columns:
        if column not in keep:
            referrals[column] = referrals[column].astype(object)
            referrals.loc[early_2020, column] = None
    return referrals, monthly, contacts


def ictg_batches(
    children: pd.DataFrame, rng: np.random.Generator, rates: IdentifierErrorRates
) -> list[RawBatch]:
    """Referral, monthly and contact files for the ICTG ``children``."""
    referrals = _referrals(children, rng, rates)
    monthly = _monthly(referrals, rng)
    contacts = _contacts(monthly, rng)
    referrals, monthly, contacts = _apply_gaps(referrals, monthly, contacts)
    batches: list[RawBatch] = []
    for table, frame in (("referral", referrals), ("monthly", monthly), ("contact", contacts)):
        for (period, group), rows in frame.groupby(["period", "group"], sort=True):
            style = _FILES.get((table, str(period)))
            if style is None:
                continue
            suffix, encoding, date_style = style
            batches.append(
                RawBatch(
                    table=table,
                    period=str(period),
                    path=f"{period}/{group}/{group}_{_FILE_WORDS[table]}_{period}{suffix}",
                    style=RawStyle(date_style=date_style, free_text=True),
                    records=rows.reset_index(drop=True),
                    encoding=encoding,
                )
            )
    return batches
