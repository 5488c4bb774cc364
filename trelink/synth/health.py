"""Hospital-episode-like records, financial years 2016-17 to 2022-23.

Trafficked children are admitted more often and more often for mental-health reasons
and injuries (sexual and criminal exploitation respectively). NHS numbers are missing
for many unaccompanied children, who are often not yet registered with a GP. Files:
one CSV per financial year; HES-style labels and compact dates until 2019-20.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trelink.synth.corrupt import record_identifiers, recorded_nhs_numbers
from trelink.synth.draws import clamp_dates, weighted_choice
from trelink.synth.rates import IdentifierErrorRates
from trelink.synth.render import RawBatch, RawStyle

__all__ = ["health_batches"]

_COVERAGE = {"child": 0.6, "outside": 0.5}
_CHAPTERS = (
    "mental_behavioural",
    "injury_poisoning",
    "pregnancy",
    "respiratory",
    "digestive",
    "infections",
    "symptoms_signs",
    "other",
)
_FIRST_YEAR, _LAST_YEAR = 2016, 2022


def _episodes(people: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    cohort = (people["kind"] == "child").to_numpy()
    covered = rng.random(len(people)) < np.where(cohort, _COVERAGE["child"], _COVERAGE["outside"])
    counts = np.where(covered, 1 + rng.poisson(np.where(cohort, 1.0, 0.5)), 0)
    rows = people.iloc[np.repeat(np.arange(len(people)), counts)].reset_index(drop=True)
    anchor = pd.to_datetime(rows["first_event_date"])
    offset = pd.to_timedelta(rng.integers(-300, 700, size=len(rows)), unit="D")
    admission = clamp_dates(
        anchor + offset, pd.Timestamp(_FIRST_YEAR, 4, 1), pd.Timestamp(_LAST_YEAR + 1, 3, 31)
    )
    rows["admission_date"] = admission
    return rows


def _clinical(rows: pd.DataFrame, rng: np.random.Generator) -> dict[str, object]:
    count = len(rows)
    types = rows["exploitation_types"].tolist()
    sexual = np.array(["sexual" in value for value in types])
    criminal = np.array(["criminal" in value for value in types])
    cohort = (rows["kind"] == "child").to_numpy()
    female = (rows["sex"] == "F").to_numpy()
    base = weighted_choice(rng, _CHAPTERS, (0.08, 0.18, 0.02, 0.2, 0.12, 0.1, 0.2, 0.1), count)
    exploited = weighted_choice(
        rng, _CHAPTERS, (0.25, 0.25, 0.06, 0.1, 0.08, 0.08, 0.1, 0.08), count
    )
    chapter = np.where(cohort, exploited, base).astype(object)
    chapter[sexual & (rng.random(count) < 0.2)] = "mental_behavioural"
    chapter[criminal & (rng.random(count) < 0.15)] = "injury_poisoning"
    chapter[(chapter == "pregnancy") & ~female] = "other"
    method = np.where(
        chapter == "pregnancy",
        "maternity",
        weighted_choice(rng, ("emergency", "elective", "other"), (0.62, 0.33, 0.05), count),
    )
    mental_health = rng.random(count) < np.where(sexual, 0.45, np.where(cohort, 0.3, 0.08))
    discharge = rows["admission_date"] + pd.to_timedelta(rng.poisson(2.0, size=count), unit="D")
    return {
        "discharge_date": discharge,
        "admission_method": method,
        "diagnosis_chapter": chapter,
        "mental_health_contact": mental_health,
    }


def _financial_year(dates: pd.Series) -> np.ndarray:
    years: np.ndarray = np.where(dates.dt.month >= 4, dates.dt.year, dates.dt.year - 1)
    return years


def health_batches(
    people: pd.DataFrame, rng: np.random.Generator, rates: IdentifierErrorRates, *, id_prefix: str
) -> list[RawBatch]:
    """Episode records for ``people`` (children), one file per financial year."""
    rows = _episodes(people, rng)
    recorded = record_identifiers(rows, rng, rates, assessed_use=0.6)
    records = pd.DataFrame(
        {
            "record_id": [f"{id_prefix}{index:08d}" for index in range(len(rows))],
            **{c: recorded[c] for c in ("forename", "surname", "dob", "sex", "postcode")},
            "nhs_number": recorded_nhs_numbers(rows, rng, rates, spaced_share=0.3),
            "admission_date": rows["admission_date"],
            **_clinical(rows, rng),
            "person_id": rows["person_id"],
            "errors": recorded["errors"],
        }
    )
    year = _financial_year(rows["admission_date"])
    batches = []
    for start in range(_FIRST_YEAR, _LAST_YEAR + 1):
        selected = records[year == start].reset_index(drop=True)
        early = start <= 2019
        batches.append(
            RawBatch(
                table="episode",
                period="2016-17-2019-20" if early else "2020-21-2022-23",
                path=f"hes_apc_{start}-{(start + 1) % 100:02d}.csv",
                style=RawStyle(
                    date_style="%Y%m%d" if early else "%d/%m/%Y",
                    booleans=("Y", "N") if early else ("Yes", "No"),
                ),
                records=selected,
                encoding="utf-8" if early else "utf-8-sig",
            )
        )
    return batches
