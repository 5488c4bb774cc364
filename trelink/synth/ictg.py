"""ICTG service data: referral, monthly and contact returns, as the Home Office got them.

Folders ``<period>/<group>/`` for periods 2017-2019, 2020, 2021, 2022 and groups DW,
RPC, Missing. Each period has its own file formats, header labels (from the spec),
date style and list separator. The documented gaps are reproduced on purpose:

* DW monthly returns for Feb-Mar 2019 and RPC monthly returns for Oct 2018-Mar 2019
  are absent;
* referrals made Jan-Apr 2020 carry only the site and the referral date;
* there are no contact files for 2020;
* monthly and contact rows for Jul-Sep 2021 arrive only in the Missing files.

With ``IctgRepeatRates`` some referrals are returned twice (copies) and some children
are referred again after closure (re-entries); see ``synth.ictg_repeats``.

ICTG data stays at its real size (about 4,170 referral rows as received, repeats
included) when the population is scaled up: it is one service's caseload, not a
national register.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from trelink.specs.dataset import EXCEL_SERIAL
from trelink.synth.corrupt import record_identifiers
from trelink.synth.draws import weighted_choice
from trelink.synth.ictg_cases import (
    ASSESSED_DOB_USE,
    ICTG_END,
    ICTG_START,
    MISSING_GROUP_SHARE,
    close_cases,
    draw_groups,
    draw_sites,
    period_of,
)
from trelink.synth.ictg_repeats import add_copies, add_reentries, forget_closures
from trelink.synth.rates import NO_ICTG_REPEATS, IctgRepeatRates, IdentifierErrorRates
from trelink.synth.render import BARE, NATIVE, RawBatch, RawStyle

__all__ = ["ICTG_END", "ICTG_REFERRALS", "ICTG_START", "ictg_batches", "select_ictg_children"]

ICTG_REFERRALS = 4170  # rows as received, copies and re-entries included
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


def select_ictg_children(
    children: pd.DataFrame,
    rng: np.random.Generator,
    *,
    share_of_scale: float,
    repeats: IctgRepeatRates = NO_ICTG_REPEATS,
) -> pd.DataFrame:
    """The children referred to an ICTG, drawn from the trafficked children in the window.

    As many as make about ``ICTG_REFERRALS`` rows once re-entries and copies are added.
    """
    dates = pd.to_datetime(children["first_event_date"])
    eligible = children[
        (dates >= pd.Timestamp(ICTG_START)) & (dates <= pd.Timestamp(ICTG_END))
    ].reset_index(drop=True)
    wanted = min(len(eligible), round(ICTG_REFERRALS * share_of_scale / repeats.rows_per_child()))
    return eligible.iloc[np.sort(rng.permutation(len(eligible))[:wanted])].reset_index(drop=True)


def _referrals(
    children: pd.DataFrame,
    rng: np.random.Generator,
    rates: IdentifierErrorRates,
    *,
    missing_share: float,
) -> pd.DataFrame:
    count = len(children)
    referral = pd.to_datetime(children["first_event_date"]) + pd.to_timedelta(
        rng.integers(0, 45, size=count), unit="D"
    )
    referral = referral.where(referral <= pd.Timestamp(ICTG_END), pd.Timestamp(ICTG_END))
    period = period_of(referral)
    site = draw_sites(rng, period)
    unaccompanied = children["unaccompanied"].to_numpy()
    direct, group = draw_groups(rng, unaccompanied, missing_share=missing_share)
    recorded = record_identifiers(children, rng, rates, assessed_use=ASSESSED_DOB_USE)
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
    close_cases(frame, rng)
    frame["episode"] = 1
    frame["entry"] = "first"
    frame["copy_kind"] = None
    return frame


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
    keep |= {"episode", "entry", "copy_kind"}  # truth only
    for column in referrals.columns:
        if column not in keep:
            referrals[column] = referrals[column].astype(object)
            referrals.loc[early_2020, column] = None
    return referrals, monthly, contacts


def ictg_batches(
    children: pd.DataFrame,
    rng: np.random.Generator,
    rates: IdentifierErrorRates,
    *,
    repeats: IctgRepeatRates,
    repeat_rng: np.random.Generator,
) -> list[RawBatch]:
    """Referral, monthly and contact files for the ICTG ``children``.

    With ``repeats`` (drawn from ``repeat_rng``, so that without repeats the files are
    exactly those of a generator that has none), some children are referred again after
    closure and some referrals are returned twice (``synth.ictg_repeats``).
    """
    # Copies into 'Missing' files count towards the published Missing total.
    missing_share = max(0.0, MISSING_GROUP_SHARE - repeats.copy * repeats.copy_to_missing)
    referrals = _referrals(children, rng, rates, missing_share=missing_share)
    if repeats.reentry > 0:
        referrals = add_reentries(
            referrals,
            children,
            repeat_rng,
            rates=rates,
            repeats=repeats,
            missing_share=missing_share,
        )
    monthly = _monthly(referrals, rng)
    contacts = _contacts(monthly, rng)
    referrals, monthly, contacts = _apply_gaps(referrals, monthly, contacts)
    if repeats.reentry > 0:
        forget_closures(referrals, repeat_rng, repeats=repeats)
    if repeats.copy > 0:
        referrals, monthly, contacts = add_copies(
            referrals, monthly, contacts, repeat_rng, repeats=repeats
        )
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
