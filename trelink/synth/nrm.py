"""NRM referrals: children and adults, Feb 2017 - Sep 2022 plus stragglers either side.

One referral per referred person, plus repeat referrals for a share of them (a research
question in its own right). Files: one per calendar year; 2016-2019 as XLSX with real
date cells, 2020 UTF-8 CSV, 2021 UTF-8-with-BOM CSV, 2022 cp1252 CSV.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trelink.synth.corrupt import record_identifiers
from trelink.synth.draws import weighted_choice
from trelink.synth.rates import IdentifierErrorRates
from trelink.synth.render import NATIVE, RawBatch, RawStyle

__all__ = ["REPEAT_REFERRAL_SHARE", "nrm_batches"]

REPEAT_REFERRAL_SHARE = 0.07
_NOT_KNOWN_AGE_SHARE = 0.03
_NOT_KNOWN_NATIONALITY_SHARE = 0.04
_RESPONDERS = (
    "local_authority",
    "police",
    "ukvi",
    "border_force",
    "immigration_enforcement",
    "ngo",
    "other",
)
_RESPONDER_WEIGHTS = {
    "child": (0.45, 0.25, 0.10, 0.05, 0.05, 0.05, 0.05),
    "adult": (0.05, 0.20, 0.25, 0.05, 0.15, 0.25, 0.05),
}
_FILE_STYLE = {
    2016: (".xlsx", "utf-8", NATIVE),
    2017: (".xlsx", "utf-8", NATIVE),
    2018: (".xlsx", "utf-8", NATIVE),
    2019: (".xlsx", "utf-8", NATIVE),
    2020: (".csv", "utf-8", "%Y-%m-%d"),
    2021: (".csv", "utf-8-sig", "%Y-%m-%d"),
    2022: (".csv", "cp1252", "%d/%m/%Y"),
}


def _referral_rows(people: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    repeat = people[rng.random(len(people)) < REPEAT_REFERRAL_SHARE].copy()
    gap = rng.integers(120, 900, size=len(repeat)).astype("timedelta64[D]")
    repeat["first_event_date"] = repeat["first_event_date"].to_numpy() + gap
    rows = pd.concat([people, repeat], ignore_index=True)
    return rows[rows["first_event_date"] <= np.datetime64("2022-12-31")].reset_index(drop=True)


def _decisions(rng: np.random.Generator, referral: pd.Series) -> dict[str, object]:
    count = len(referral)
    rg = weighted_choice(rng, ("positive", "negative", "awaiting"), (0.85, 0.10, 0.05), count)
    rg_date = referral + pd.to_timedelta(rng.integers(5, 60, size=count), unit="D")
    cg = weighted_choice(
        rng, ("positive", "negative", "awaiting", "withdrawn"), (0.7, 0.1, 0.15, 0.05), count
    )
    cg[rg != "positive"] = None  # no conclusive decision without a positive one
    cg_date = rg_date + pd.to_timedelta(rng.integers(90, 700, size=count), unit="D")
    return {
        "rg_decision": rg,
        "rg_date": rg_date.where(rg != "awaiting"),
        "cg_decision": cg,
        "cg_date": cg_date.where(
            pd.Series(cg).isin(["positive", "negative", "withdrawn"]).to_numpy()
        ),
    }


def nrm_batches(
    people: pd.DataFrame,
    rng: np.random.Generator,
    rates: IdentifierErrorRates,
    *,
    id_prefix: str,
) -> list[RawBatch]:
    """NRM referral records for ``people`` (children and adults), grouped into files."""
    rows = _referral_rows(people, rng)
    count = len(rows)
    recorded = record_identifiers(rows, rng, rates, assessed_use=0.4)
    referral = pd.to_datetime(rows["first_event_date"])
    is_child = (rows["kind"] == "child").to_numpy()
    age_group = np.where(is_child, "child", "adult").astype(object)
    age_group[rng.random(count) < _NOT_KNOWN_AGE_SHARE] = None
    nationality = rows["nationality"].to_numpy(dtype=object).copy()
    nationality[rng.random(count) < _NOT_KNOWN_NATIONALITY_SHARE] = None
    exploitation = rows["exploitation_types"].to_numpy(dtype=object).copy()
    for row in np.flatnonzero(rng.random(count) < 0.05).tolist():
        exploitation[row] = ("unknown",)  # numpy would spread a tuple over the rows
    responders = np.where(
        is_child,
        weighted_choice(rng, _RESPONDERS, _RESPONDER_WEIGHTS["child"], count),
        weighted_choice(rng, _RESPONDERS, _RESPONDER_WEIGHTS["adult"], count),
    )
    british = (rows["nationality"] == "british").to_numpy()
    location = np.where(
        british,
        weighted_choice(rng, ("uk", "uk_and_overseas"), (0.97, 0.03), count),
        weighted_choice(rng, ("uk", "overseas", "uk_and_overseas"), (0.55, 0.2, 0.25), count),
    ).astype(object)
    location[rng.random(count) < 0.05] = None
    records = pd.DataFrame(
        {
            "record_id": [f"{id_prefix}{index:06d}" for index in range(count)],
            **{
                column: recorded[column]
                for column in ("forename", "surname", "dob", "sex", "postcode")
            },
            "referral_date": referral,
            "first_responder_type": responders,
            "age_group": age_group,
            "nationality": nationality,
            "exploitation_types": exploitation,
            "exploitation_location": location,
            **_decisions(rng, referral),
            "person_id": rows["person_id"],
            "errors": recorded["errors"],
        }
    )
    batches: list[RawBatch] = []
    years = referral.dt.year.to_numpy()
    for year, (suffix, encoding, date_style) in _FILE_STYLE.items():
        selected = records[years == year].reset_index(drop=True)
        if selected.empty:
            continue
        batches.append(
            RawBatch(
                table="referral",
                period="2016-2019" if year < 2020 else "2020-2022",
                path=f"nrm_referrals_{year}{suffix}",
                style=RawStyle(date_style=date_style),
                records=selected,
                encoding=encoding,
            )
        )
    return batches
