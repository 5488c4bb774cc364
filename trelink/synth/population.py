"""The person-level population: true identities before any agency writes them down.

Every record in every extract is derived from one row here; the truth files are built
from these rows. Generation is vectorised with numpy so a million people take seconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from trelink.specs.classifications import NATIONALITY_GROUPS
from trelink.synth.identifiers import nhs_numbers
from trelink.synth.names import NamePool, draw_names
from trelink.synth.postcodes import postcode_histories

__all__ = [
    "NATIONALITY_GROUPS",
    "NATIONALITY_ORIGINS",
    "PersonKind",
    "make_people",
]

# Nationality -> name origins a person of that nationality draws from.
NATIONALITY_ORIGINS: Mapping[str, tuple[str, ...]] = {
    "british": ("english",),
    "albanian": ("albanian",),
    "vietnamese": ("vietnamese",),
    "sudanese": ("arabic_sudan",),
    "eritrean": ("tigrinya",),
    "afghan": ("pashto_dari",),
    "iranian": ("persian",),
    "romanian": ("romanian",),
    "iraqi": ("arabic_gulf_iraq",),
    "ethiopian": ("amharic", "tigrinya"),
    "kuwaiti": ("arabic_gulf_iraq",),
    "chinese": ("chinese",),
    "polish": ("polish",),
    "nigerian": ("yoruba",),
    "other": ("english", "arabic_sudan", "romanian", "yoruba", "polish"),
}


# Proportions loosely follow published NRM statistics for 2017-2022.
_NATIONALITY_MIX: Mapping[str, Mapping[str, float]] = {
    "child": {
        "british": 0.40,
        "albanian": 0.10,
        "vietnamese": 0.08,
        "sudanese": 0.05,
        "eritrean": 0.05,
        "afghan": 0.04,
        "iranian": 0.03,
        "romanian": 0.025,
        "iraqi": 0.03,
        "ethiopian": 0.015,
        "kuwaiti": 0.005,
        "chinese": 0.01,
        "polish": 0.01,
        "nigerian": 0.02,
        "other": 0.13,
    },
    "adult": {
        "british": 0.12,
        "albanian": 0.20,
        "vietnamese": 0.08,
        "sudanese": 0.05,
        "eritrean": 0.05,
        "afghan": 0.02,
        "iranian": 0.03,
        "romanian": 0.06,
        "iraqi": 0.03,
        "ethiopian": 0.02,
        "kuwaiti": 0.005,
        "chinese": 0.03,
        "polish": 0.03,
        "nigerian": 0.04,
        "other": 0.215,
    },
    "outside": {
        "british": 0.80,
        "albanian": 0.01,
        "vietnamese": 0.01,
        "sudanese": 0.005,
        "eritrean": 0.005,
        "afghan": 0.01,
        "iranian": 0.005,
        "romanian": 0.03,
        "iraqi": 0.01,
        "ethiopian": 0.005,
        "kuwaiti": 0.0,
        "chinese": 0.01,
        "polish": 0.03,
        "nigerian": 0.02,
        "other": 0.05,
    },
}
# Share male by nationality among trafficked children (most non-UK referrals are boys).
_MALE_SHARE: Mapping[str, float] = {
    "british": 0.72,
    "albanian": 0.88,
    "vietnamese": 0.85,
    "sudanese": 0.95,
    "eritrean": 0.80,
    "afghan": 0.95,
    "iranian": 0.90,
    "iraqi": 0.90,
    "kuwaiti": 0.90,
}
_EXPLOITATION_TYPES = ("criminal", "sexual", "labour", "domestic_servitude", "organ_harvesting")
_WINDOW_START = dt.date(2016, 11, 1)
_WINDOW_END = dt.date(2022, 12, 31)

# A trafficked child, a trafficked adult, or a child outside the trafficked cohort.
PersonKind = Literal["child", "adult", "outside"]


@dataclass(frozen=True, kw_only=True)
class _Draw:
    rng: np.random.Generator
    n: int


def _nationalities(draw: _Draw, kind: PersonKind) -> np.ndarray:
    mix = _NATIONALITY_MIX[kind]
    names = np.array(list(mix))
    weights = np.array(list(mix.values()), dtype=float)
    chosen: np.ndarray = draw.rng.choice(names, size=draw.n, p=weights / weights.sum())
    return chosen


def _sexes(draw: _Draw, kind: PersonKind, nationality: np.ndarray) -> np.ndarray:
    share = np.array([_MALE_SHARE.get(value, 0.5) for value in nationality])
    if kind == "outside":
        share = np.full(draw.n, 0.51)
    elif kind == "adult":
        share = np.full(draw.n, 0.6)
    return np.where(draw.rng.random(draw.n) < share, "M", "F")


def _dates(draw: _Draw, start: dt.date, end: dt.date) -> np.ndarray:
    span = (end - start).days
    offsets = draw.rng.integers(0, span + 1, size=draw.n)
    return np.datetime64(start, "D") + offsets.astype("timedelta64[D]")


def _birth_dates(draw: _Draw, kind: PersonKind, first_event: np.ndarray) -> np.ndarray:
    if kind == "child":
        # Age at first referral: mostly 14-17, some younger.
        ages = draw.rng.choice(np.arange(8, 18), size=draw.n, p=_child_age_weights())
    elif kind == "adult":
        ages = draw.rng.integers(18, 55, size=draw.n)
    else:
        ages = draw.rng.integers(4, 18, size=draw.n)
    days = ages * 365 + draw.rng.integers(0, 365, size=draw.n)
    births: np.ndarray = first_event - days.astype("timedelta64[D]")
    return births


def _child_age_weights() -> np.ndarray:
    weights = np.array([1, 1, 2, 3, 4, 6, 9, 13, 16, 16], dtype=float)
    normalised: np.ndarray = weights / weights.sum()
    return normalised


def _names(
    draw: _Draw,
    nationality: np.ndarray,
    sex: np.ndarray,
    pools: Mapping[str, NamePool],
    family: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    follower, head = family
    origins = np.empty(draw.n, dtype=object)
    forenames = np.empty(draw.n, dtype=object)
    surnames = np.empty(draw.n, dtype=object)
    for value, choices in NATIONALITY_ORIGINS.items():
        rows = np.flatnonzero(nationality == value)
        if rows.size == 0:
            continue
        origins[rows] = draw.rng.choice(np.array(choices), size=rows.size)
    origins[follower] = origins[head]  # siblings' forenames fit the family's origin
    for origin, pool in pools.items():
        for sex_code in ("M", "F"):
            rows = np.flatnonzero((origins == origin) & (sex == sex_code))
            if rows.size:
                forenames[rows] = draw_names(draw.rng, *pool.forenames(sex_code), size=rows.size)
        rows = np.flatnonzero(origins == origin)
        if rows.size:
            surnames[rows] = _surnames(draw, pool, rows.size)
    surnames[follower] = surnames[head]
    return origins, forenames, surnames


def _surnames(draw: _Draw, pool: NamePool, size: int) -> np.ndarray:
    """``size`` surnames: the father's given name for ``pool.patronymic`` of them.

    Where naming is patronymic (Eritrea, Ethiopia, Sudan) a child's second name is the
    father's given name, so it is drawn from the male forenames with their weights; the
    others draw from the family names. Siblings get the head's surname afterwards.
    """
    surnames = draw_names(draw.rng, pool.surnames, pool.surname_weights, size)
    if pool.patronymic > 0.0:
        fathers = np.flatnonzero(draw.rng.random(size) < pool.patronymic)
        surnames[fathers] = draw_names(
            draw.rng, pool.forenames_male, pool.forenames_male_weights, fathers.size
        )
    return surnames


def _exploitation(
    draw: _Draw, kind: PersonKind, nationality: np.ndarray, sex: np.ndarray
) -> list[tuple[str, ...]]:
    if kind == "outside":
        return [() for _ in range(draw.n)]
    # Weights over (criminal, sexual, labour, domestic servitude, organ harvesting).
    profiles = {
        "british": (0.75, 0.22, 0.02, 0.01, 0.0),
        "albanian": (0.45, 0.15, 0.35, 0.05, 0.0),
        "vietnamese": (0.6, 0.08, 0.3, 0.02, 0.0),
    }
    default = (0.25, 0.2, 0.4, 0.14, 0.01)
    types: list[tuple[str, ...]] = []
    uniform = draw.rng.random((draw.n, 3))
    for index in range(draw.n):
        weights = np.array(profiles.get(str(nationality[index]), default))
        if sex[index] == "F":
            weights = weights * np.array([0.6, 3.0, 0.6, 2.0, 1.0])
        cumulative = np.cumsum(weights / weights.sum())
        first = int(np.searchsorted(cumulative, uniform[index, 0]))
        chosen = {_EXPLOITATION_TYPES[min(first, 4)]}
        if uniform[index, 1] < 0.12:  # a second type alongside the first
            second = int(np.searchsorted(cumulative, uniform[index, 2]))
            chosen.add(_EXPLOITATION_TYPES[min(second, 4)])
        types.append(tuple(sorted(chosen)))
    return types


def _families(rng: np.random.Generator, count: int, share: float) -> tuple[np.ndarray, np.ndarray]:
    """(follower, head): each follower is a younger sibling of the person just before it.

    A head is never itself a follower, so one copy from head to follower is enough.
    """
    follower = np.flatnonzero(rng.random(count) < share)
    follower = follower[follower > 0]
    follower = follower[~np.isin(follower - 1, follower)]
    return follower, follower - 1


def _link_families(
    frame: pd.DataFrame, rng: np.random.Generator, family: tuple[np.ndarray, np.ndarray]
) -> None:
    """Siblings share family id, care status and first placement postcode.

    A third of sibling pairs are twins who also share the date of birth (their sexes
    were drawn independently, so about half are same-sex). Surname, nationality and
    origin were shared when they were drawn.
    """
    follower, head = family
    for column in ("unaccompanied", "family_id"):
        values = frame[column].to_numpy().copy()
        values[follower] = values[head]
        frame[column] = values
    histories = frame["postcodes"].to_numpy()
    for row, lead in zip(follower.tolist(), head.tolist(), strict=True):
        histories[row] = (histories[lead][0], *histories[row][1:])
    twins = follower[rng.random(follower.size) < 1 / 3]
    dob = frame["dob"].to_numpy().copy()
    dob[twins] = dob[twins - 1]
    frame["dob"] = dob
    twin = np.zeros(len(frame), dtype=bool)
    twin[twins] = True
    frame["twin"] = twin


def make_people(
    rng: np.random.Generator,
    *,
    count: int,
    kind: PersonKind,
    pools: Mapping[str, NamePool],
    id_prefix: str,
    sibling_share: float = 0.1,
) -> pd.DataFrame:
    """``count`` people of one kind, with true identifiers and attributes.

    Columns: person_id, kind, nationality, nationality_group, origin, sex, dob,
    assessed_dob (1 January estimate or NaT), forename, surname, postcodes (tuple, the
    placement history, first = earliest), unaccompanied, exploitation_types (tuple),
    first_event_date, family_id, twin, nhs_number (true).
    """
    draw = _Draw(rng=rng, n=count)
    family = _families(rng, count, sibling_share)
    nationality = _nationalities(draw, kind)
    nationality[family[0]] = nationality[family[1]]
    sex = _sexes(draw, kind, nationality)
    first_event = _dates(draw, _WINDOW_START, _WINDOW_END)
    dob = _birth_dates(draw, kind, first_event)
    origins, forenames, surnames = _names(draw, nationality, sex, pools, family)
    unaccompanied = (nationality != "british") & (
        rng.random(count) < (0.8 if kind != "outside" else 0.05)
    )
    if kind == "adult":
        unaccompanied = np.zeros(count, dtype=bool)
    frame = pd.DataFrame(
        {
            "person_id": [f"{id_prefix}{index:07d}" for index in range(count)],
            "kind": kind,
            "nationality": nationality,
            "nationality_group": [NATIONALITY_GROUPS[value] for value in nationality],
            "origin": origins,
            "sex": sex,
            "dob": dob,
            "forename": forenames,
            "surname": surnames,
            "postcodes": postcode_histories(rng, count, moves_mean=1.2 if kind == "child" else 0.4),
            "unaccompanied": unaccompanied,
            "exploitation_types": _exploitation(draw, kind, nationality, sex),
            "first_event_date": first_event,
            "family_id": [f"{id_prefix}F{index:07d}" for index in range(count)],
            "twin": False,
            "nhs_number": nhs_numbers(rng, count),
        }
    )
    _link_families(frame, rng, family)
    frame["assessed_dob"] = _assessed_dobs(rng, frame)
    return frame


def _assessed_dobs(rng: np.random.Generator, frame: pd.DataFrame) -> pd.Series:
    """1 January of the assessed birth year for age-assessed unaccompanied children.

    Two in five unaccompanied children are age-assessed; the assessed year is the true
    one, or one either side (assessments are often wrong by a year).
    """
    n = len(frame)
    assessed = frame["unaccompanied"].to_numpy() & (rng.random(n) < 0.4)
    years = pd.DatetimeIndex(frame["dob"]).year.to_numpy() + rng.choice([-1, 0, 0, 1], size=n)
    values = pd.to_datetime({"year": years, "month": 1, "day": 1})
    return values.where(assessed)
