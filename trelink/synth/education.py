"""School-census-like pupil-years, academic years 2016/17 to 2021/22.

A pupil appears once per academic year while of compulsory school age (4-15 on
1 September) and in the country. Trafficked children are covered at a lower rate
than other children (many arrive at 15-17 and never enrol), and their outcomes are
worse: more absence and exclusions, above all with criminal exploitation. Children who
arrive unaccompanied often start on a temporary UPN. School systems hold names
without diacritics. Files: 2016/17-2018/19 as cp1252 CSV, later years as XLSX.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from anyascii import anyascii

from trelink.synth.corrupt import record_identifiers
from trelink.synth.draws import weighted_choice
from trelink.synth.identifiers import unique_pupil_numbers
from trelink.synth.rates import IdentifierErrorRates
from trelink.synth.render import NATIVE, RawBatch, RawStyle

__all__ = ["ACADEMIC_YEARS", "education_batches"]

ACADEMIC_YEARS = tuple(range(2016, 2022))  # the year each academic year starts
_COVERAGE = {"child": 0.7, "outside": 0.4}


def _pupil_years(people: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    kind = people["kind"].to_numpy()
    covered = people[
        rng.random(len(people))
        < np.where(kind == "child", _COVERAGE["child"], _COVERAGE["outside"])
    ]
    dob = pd.to_datetime(covered["dob"])
    arrival = pd.to_datetime(covered["first_event_date"]) - pd.to_timedelta(
        rng.integers(30, 400, size=len(covered)), unit="D"
    )
    from_abroad = (covered["unaccompanied"] | (covered["nationality"] != "british")).to_numpy()
    frames = []
    for year in ACADEMIC_YEARS:
        census_day = pd.Timestamp(year, 10, 1)
        age = (pd.Timestamp(year, 9, 1) - dob).dt.days // 365
        present = (age >= 4) & (age <= 15) & (~from_abroad | (arrival <= census_day).to_numpy())
        present &= rng.random(len(covered)) < 0.92
        rows = covered[present.to_numpy()].copy()
        rows["academic_start"] = year
        rows["age"] = age[present].to_numpy()
        rows["arrival"] = arrival[present].to_numpy()
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def _outcomes(rows: pd.DataFrame, rng: np.random.Generator) -> dict[str, object]:
    count = len(rows)
    cohort = (rows["kind"] == "child").to_numpy()
    criminal = np.array(["criminal" in types for types in rows["exploitation_types"]])
    terms = np.where(rng.random(count) < 0.85, 3, rng.integers(1, 3, size=count))
    possible = terms * 110 - rng.integers(0, 6, size=count)
    absence_rate = np.where(criminal, 0.22, np.where(cohort, 0.12, 0.05))
    absent = rng.binomial(possible, absence_rate)
    exclusions = rng.poisson(np.where(criminal, 0.9, np.where(cohort, 0.35, 0.05)))
    permanent = rng.random(count) < np.where(criminal, 0.06, np.where(cohort, 0.02, 0.002))
    sen = np.where(
        cohort,
        weighted_choice(rng, ("none", "sen_support", "ehc_plan"), (0.7, 0.22, 0.08), count),
        weighted_choice(rng, ("none", "sen_support", "ehc_plan"), (0.85, 0.12, 0.03), count),
    )
    year_11 = (rows["age"] == 15).to_numpy()
    score = rng.normal(np.where(cohort, 30.0, 46.0) - np.where(criminal, 6.0, 0.0), 14.0)
    attainment = np.where(year_11, np.clip(score, 0, 90).round(1), np.nan)
    eal = (rows["nationality"] != "british").to_numpy() & (rng.random(count) < 0.9)
    return {
        "terms_on_roll": terms,
        "sessions_possible": possible,
        "sessions_absent": absent,
        "fixed_term_exclusions": exclusions,
        "permanent_exclusion": permanent,
        "sen_provision": sen,
        "eal": eal,
        "attainment_score": attainment,
    }


def _upns(rows: pd.DataFrame, rng: np.random.Generator, rates: IdentifierErrorRates) -> list[str]:
    """One permanent UPN per pupil; the first year of some new arrivals has a temporary one."""
    people = rows["person_id"].drop_duplicates().to_numpy()
    permanent = dict(
        zip(
            people,
            unique_pupil_numbers(rng, len(people), temporary=np.zeros(len(people), bool)),
            strict=True,
        )
    )
    first_year = ~rows.duplicated("person_id").to_numpy()
    temporary = (
        first_year
        & rows["unaccompanied"].to_numpy()
        & (rng.random(len(rows)) < rates.temporary_upn_unaccompanied)
    )
    temporary_upns = unique_pupil_numbers(rng, len(rows), temporary=np.ones(len(rows), bool))
    return [
        temporary_upns[index] if temporary[index] else permanent[person]
        for index, person in enumerate(rows["person_id"].tolist())
    ]


def education_batches(
    people: pd.DataFrame, rng: np.random.Generator, rates: IdentifierErrorRates, *, id_prefix: str
) -> list[RawBatch]:
    """Pupil-year records for the children among ``people``, one file per academic year."""
    rows = _pupil_years(people, rng)
    recorded = record_identifiers(rows, rng, rates, assessed_use=0.8)
    for column in ("forename", "surname"):
        recorded[column] = [
            None if value is None else anyascii(value) for value in recorded[column]
        ]
    entry = np.maximum(
        pd.to_datetime(rows["academic_start"].astype(str) + "-09-01").to_numpy(),
        rows["arrival"].to_numpy(),
    )
    records = pd.DataFrame(
        {
            "record_id": [f"{id_prefix}{index:07d}" for index in range(len(rows))],
            **{c: recorded[c] for c in ("forename", "surname", "dob", "sex", "postcode")},
            "upn": _upns(rows, rng, rates),
            "academic_year": [f"{year}/{(year + 1) % 100:02d}" for year in rows["academic_start"]],
            "entry_date": entry,
            **_outcomes(rows, rng),
            "person_id": rows["person_id"],
            "errors": recorded["errors"],
        }
    )
    batches = []
    for year in ACADEMIC_YEARS:
        selected = records[(rows["academic_start"] == year).to_numpy()].reset_index(drop=True)
        early = year <= 2018
        batches.append(
            RawBatch(
                table="pupil_year",
                period="2016/17-2018/19" if early else "2019/20-2021/22",
                path=f"school_census_{year}-{(year + 1) % 100:02d}{'.csv' if early else '.xlsx'}",
                style=RawStyle(
                    date_style="%d/%m/%Y" if early else NATIVE,
                    booleans=("Y", "N") if early else ("Yes", "No"),
                ),
                records=selected,
                encoding="cp1252" if early else "utf-8",
            )
        )
    return batches
