"""Police and court records, 2017-2022, one row per recorded offence.

Children criminally exploited (county lines, cannabis farms) are far more likely to be
recorded as offenders, mostly for drugs offences, and some raise the section 45 Modern
Slavery Act defence. People known to the police collect aliases and several recorded
dates of birth. Files: 2017-2019 as one XLSX, then one XLS per year.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from trelink.synth.corrupt import record_identifiers
from trelink.synth.draws import clamp_dates, weighted_choice
from trelink.synth.identifiers import pnc_ids
from trelink.synth.names import NamePool
from trelink.synth.rates import IdentifierErrorRates
from trelink.synth.render import NATIVE, RawBatch, RawStyle

__all__ = ["justice_batches"]

_OFFENCES = (
    "drugs",
    "theft",
    "violence",
    "robbery",
    "public_order",
    "immigration",
    "fraud",
    "other",
)
_OUTCOMES = (
    "charged",
    "caution",
    "community_resolution",
    "no_further_action",
    "conviction_custody",
    "conviction_community",
    "acquitted",
)


def _offenders(people: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    kind = people["kind"].to_numpy()
    criminal = np.array(["criminal" in types for types in people["exploitation_types"]])
    rate = np.select([criminal, kind == "child", kind == "adult"], [0.45, 0.12, 0.05], 0.12)
    known = rng.random(len(people)) < rate
    counts = np.where(known, 1 + rng.poisson(np.where(criminal, 1.0, 0.6)), 0)
    rows = people.iloc[np.repeat(np.arange(len(people)), counts)].reset_index(drop=True)
    offset = pd.to_timedelta(rng.integers(-400, 500, size=len(rows)), unit="D")
    rows["offence_date"] = clamp_dates(
        pd.to_datetime(rows["first_event_date"]) + offset,
        pd.Timestamp(2017, 1, 1),
        pd.Timestamp(2022, 12, 31),
    )
    rows["criminal"] = np.array(["criminal" in types for types in rows["exploitation_types"]])
    return rows


def _person_extras(
    rows: pd.DataFrame,
    rng: np.random.Generator,
    rates: IdentifierErrorRates,
    pools: Mapping[str, NamePool],
) -> pd.DataFrame:
    """Per person: PNC id, force reference, aliases and other recorded dates of birth."""
    people = rows.drop_duplicates("person_id").reset_index(drop=True)
    count = len(people)
    has_alias = rng.random(count) < rates.justice_alias_per_person
    has_extra_dob = rng.random(count) < rates.justice_extra_dob_per_person
    aliases: list[tuple[tuple[str, str], ...]] = []
    extra_dobs: list[tuple[object, ...]] = []
    draws = rng.random((count, 4))
    dobs = pd.to_datetime(people["dob"]).tolist()
    for index, person in enumerate(people.itertuples()):
        pool = pools[str(person.origin)]
        names = pool.forenames_male if person.sex == "M" else pool.forenames_female
        alias: tuple[tuple[str, str], ...] = ()
        if has_alias[index]:
            forename = names[int(draws[index, 0] * len(names))]
            surname = pool.surnames[int(draws[index, 1] * len(pool.surnames))]
            alias = ((forename, str(person.surname)), (str(person.forename), surname))[
                : 1 + int(draws[index, 2] < 0.3)
            ]
        aliases.append(alias)
        dob = dobs[index]
        shifted = (dob - pd.DateOffset(years=1 if draws[index, 3] < 0.5 else -1)).date()
        estimated = pd.Timestamp(dob.year, 1, 1).date()
        extra_dobs.append(
            (shifted, estimated)[: 1 + int(draws[index, 3] < 0.3)] if has_extra_dob[index] else ()
        )
    return pd.DataFrame(
        {
            "person_id": people["person_id"],
            "pnc_id": pnc_ids(rng, count),
            "person_ref": [f"P{value:08d}" for value in rng.integers(0, 10**8, size=count)],
            "aliases": aliases,
            "dob_alt": extra_dobs,
        }
    )


def _dispositions(rows: pd.DataFrame, rng: np.random.Generator) -> dict[str, object]:
    count = len(rows)
    criminal = rows["criminal"].to_numpy()
    cohort = (rows["kind"] != "outside").to_numpy()
    offence = np.where(
        criminal,
        weighted_choice(rng, _OFFENCES, (0.5, 0.1, 0.12, 0.1, 0.05, 0.03, 0.02, 0.08), count),
        weighted_choice(rng, _OFFENCES, (0.15, 0.25, 0.25, 0.08, 0.1, 0.04, 0.05, 0.08), count),
    )
    outcome = weighted_choice(rng, _OUTCOMES, (0.25, 0.15, 0.15, 0.25, 0.05, 0.1, 0.05), count)
    s45 = np.where(
        cohort,
        weighted_choice(
            rng, ("raised_accepted", "raised_rejected", "not_raised"), (0.15, 0.1, 0.75), count
        ),
        weighted_choice(
            rng, ("raised_accepted", "raised_rejected", "not_raised"), (0.002, 0.003, 0.995), count
        ),
    )
    return {"offence_category": offence, "outcome": outcome, "s45_defence": s45}


def justice_batches(
    people: pd.DataFrame,
    rng: np.random.Generator,
    rates: IdentifierErrorRates,
    *,
    pools: Mapping[str, NamePool],
    id_prefix: str,
) -> list[RawBatch]:
    """Offence records for ``people``: 2017-2019 in one XLSX, then one XLS per year."""
    rows = _offenders(people, rng)
    recorded = record_identifiers(rows, rng, rates, assessed_use=0.6)
    extras = rows[["person_id"]].merge(
        _person_extras(rows, rng, rates, pools), on="person_id", how="left"
    )
    pnc = extras["pnc_id"].to_numpy(dtype=object).copy()
    pnc[rng.random(len(rows)) < 0.1] = None
    records = pd.DataFrame(
        {
            "record_id": [f"{id_prefix}{index:07d}" for index in range(len(rows))],
            **{c: recorded[c] for c in ("forename", "surname", "dob", "sex", "postcode")},
            "pnc_id": pnc,
            "aliases": extras["aliases"],
            "dob_alt": extras["dob_alt"],
            "person_ref": extras["person_ref"],
            "offence_date": rows["offence_date"],
            **_dispositions(rows, rng),
            "person_id": rows["person_id"],
            "errors": recorded["errors"],
        }
    )
    year = rows["offence_date"].dt.year.to_numpy()
    batches = [
        RawBatch(
            table="offence",
            period="2017-2019",
            path="police_court_2017-2019.xlsx",
            style=RawStyle(date_style=NATIVE),
            records=records[year <= 2019].reset_index(drop=True),
        )
    ]
    for start in (2020, 2021, 2022):
        batches.append(
            RawBatch(
                table="offence",
                period="2020-2022",
                path=f"police_court_{start}.xls",
                style=RawStyle(date_style="%d.%m.%Y"),
                records=records[year == start].reset_index(drop=True),
            )
        )
    return batches
