"""Record-level identifier errors: how an agency's record differs from the true person.

``record_identifiers`` takes one row per record (the true person's identifiers, already
repeated per record) and returns what the agency wrote down, plus an ``errors`` column
naming every error applied (kept only in the truth files, for evaluation and tests).
All rates come from ``synth.rates.IdentifierErrorRates``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from anyascii import anyascii

from trelink.synth.names import NICKNAMES, TRANSLITERATIONS, ethiopic_abbreviation
from trelink.synth.rates import IdentifierErrorRates

__all__ = ["record_identifiers", "recorded_nhs_numbers", "typo"]

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def typo(text: str, draws: Sequence[float]) -> str:
    """One keyboard slip in ``text`` chosen by three uniform ``draws`` in [0, 1)."""
    if len(text) < 2:
        return text
    kind, where, letter = draws[0], draws[1], draws[2]
    position = min(int(where * len(text)), len(text) - 1)
    replacement = _LETTERS[min(int(letter * 26), 25)]
    if text[position].isupper():
        replacement = replacement.upper()
    if kind < 0.3:  # substitution
        return text[:position] + replacement + text[position + 1 :]
    if kind < 0.55:  # deletion
        return text[:position] + text[position + 1 :]
    if kind < 0.8 and position < len(text) - 1:  # transposition
        return text[:position] + text[position + 1] + text[position] + text[position + 2 :]
    return text[:position] + replacement + text[position:]  # insertion


class _Recorder:
    """Applies one error at a time to masked rows and notes its name per row."""

    def __init__(self, rng: np.random.Generator, count: int) -> None:
        self.rng = rng
        self.count = count
        self.errors = np.full(count, "", dtype=object)

    def mask(self, rate: float, eligible: np.ndarray | None = None) -> np.ndarray:
        chosen = self.rng.random(self.count) < rate
        return chosen if eligible is None else chosen & eligible

    def note(self, name: str, mask: np.ndarray) -> None:
        self.errors[mask] = self.errors[mask] + f"{name};"

    def apply(
        self, values: np.ndarray, mask: np.ndarray, change: Callable[[str, int], str], name: str
    ) -> None:
        """Replace ``values[mask]`` by ``change(value, row)``; note rows that changed."""
        rows = np.flatnonzero(mask)
        changed = np.zeros(self.count, dtype=bool)
        for row in rows.tolist():
            new = change(values[row], row)
            if new != values[row]:
                values[row] = new
                changed[row] = True
        self.note(name, changed)


def _variant_picker(
    rng: np.random.Generator, count: int, table: Mapping[str, tuple[str, ...]]
) -> Callable[[str, int], str]:
    picks = rng.random(count)

    def pick(value: str, row: int) -> str:
        options = table.get(value)
        if not options:
            return value
        return options[min(int(picks[row] * len(options)), len(options) - 1)]

    return pick


def _names(
    frame: pd.DataFrame, recorder: _Recorder, rates: IdentifierErrorRates
) -> tuple[np.ndarray, np.ndarray]:
    rng, count = recorder.rng, recorder.count
    forename = frame["forename"].to_numpy(dtype=object).copy()
    surname = frame["surname"].to_numpy(dtype=object).copy()
    for values, label in ((forename, "forename"), (surname, "surname")):
        has_variant = np.array([value in TRANSLITERATIONS for value in values])
        recorder.apply(
            values,
            recorder.mask(rates.transliteration, has_variant),
            _variant_picker(rng, count, TRANSLITERATIONS),
            f"{label}_transliteration",
        )
    has_nickname = np.array([value in NICKNAMES for value in forename])
    recorder.apply(
        forename,
        recorder.mask(rates.nickname, has_nickname),
        _variant_picker(rng, count, NICKNAMES),
        "nickname",
    )
    for values, label in ((forename, "forename"), (surname, "surname")):
        accented = np.array([not value.isascii() for value in values])
        recorder.apply(
            values,
            recorder.mask(rates.diacritics_dropped, accented),
            lambda value, _row: anyascii(value),
            f"{label}_diacritics_dropped",
        )
    abbreviable = np.array([ethiopic_abbreviation(value) is not None for value in surname])
    recorder.apply(
        surname,
        recorder.mask(rates.ethiopic_abbreviation, abbreviable),
        lambda value, _row: ethiopic_abbreviation(value) or value,
        "ethiopic_abbreviation",
    )
    draws = rng.random((count, 3))
    on_forename = rng.random(count) < 0.5
    typo_mask = recorder.mask(rates.typo)
    recorder.apply(
        forename,
        typo_mask & on_forename,
        lambda value, row: typo(value, draws[row]),
        "forename_typo",
    )
    recorder.apply(
        surname,
        typo_mask & ~on_forename,
        lambda value, row: typo(value, draws[row]),
        "surname_typo",
    )
    family_first = frame["origin"].isin(["vietnamese", "chinese"]).to_numpy()
    swap_rate = np.where(
        family_first, rates.name_order_swapped_family_first, rates.name_order_swapped
    )
    swap = rng.random(count) < swap_rate
    forename[swap], surname[swap] = surname[swap], forename[swap].copy()
    recorder.note("name_order_swapped", swap)
    return forename, surname


def _dates_of_birth(
    frame: pd.DataFrame, recorder: _Recorder, rates: IdentifierErrorRates, assessed_use: float
) -> np.ndarray:
    rng, count = recorder.rng, recorder.count
    true_dob = pd.DatetimeIndex(frame["dob"])
    assessed = pd.DatetimeIndex(frame["assessed_dob"])
    use_assessed = ~np.asarray(assessed.isna()) & (rng.random(count) < assessed_use)
    recorder.note("assessed_dob", use_assessed)
    chosen = np.where(use_assessed, assessed.to_numpy(), true_dob.to_numpy())
    years = pd.DatetimeIndex(chosen).year.to_numpy().copy()
    months = pd.DatetimeIndex(chosen).month.to_numpy().copy()
    days = pd.DatetimeIndex(chosen).day.to_numpy().copy()
    swap = recorder.mask(rates.dob_day_month_swapped, (days <= 12) & (days != months))
    months[swap], days[swap] = days[swap], months[swap].copy()
    recorder.note("dob_day_month_swapped", swap)
    slip = recorder.mask(rates.dob_typo)
    on_year = rng.random(count) < 0.5
    years = np.where(slip & on_year, years + rng.choice([-1, 1], size=count), years)
    days = np.where(slip & ~on_year, np.clip(days + rng.choice([-1, 1], size=count), 1, 28), days)
    recorder.note("dob_typo", slip)
    leap = (years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))
    days = np.where((months == 2) & (days == 29) & ~leap, 28, days)  # 29 Feb moved a year
    return pd.to_datetime({"year": years, "month": months, "day": days}).to_numpy()


def _postcodes(frame: pd.DataFrame, recorder: _Recorder, rates: IdentifierErrorRates) -> np.ndarray:
    rng, count = recorder.rng, recorder.count
    histories = frame["postcodes"].to_numpy()
    earlier = recorder.mask(rates.postcode_earlier_placement)
    picks = rng.random(count)
    chosen = np.empty(count, dtype=object)
    moved = np.zeros(count, dtype=bool)
    for row, history in enumerate(histories.tolist()):
        if earlier[row] and len(history) > 1:
            chosen[row] = history[int(picks[row] * (len(history) - 1))]
            moved[row] = True
        else:
            chosen[row] = history[-1]
    recorder.note("postcode_earlier_placement", moved)
    draws = rng.random((count, 3))
    recorder.apply(
        chosen,
        recorder.mask(rates.postcode_typo),
        lambda value, row: _postcode_typo(value, draws[row]),
        "postcode_typo",
    )
    return chosen


def _postcode_typo(postcode: str, draws: Sequence[float]) -> str:
    # A slip in the inward code keeps the outward code (district) intact, as usually seen.
    outward, _, inward = postcode.partition(" ")
    return f"{outward} {typo(inward, draws)}".upper()


def record_identifiers(
    frame: pd.DataFrame,
    rng: np.random.Generator,
    rates: IdentifierErrorRates,
    *,
    assessed_use: float | None = None,
) -> pd.DataFrame:
    """What an agency recorded for each row of ``frame`` (true identifiers per record).

    ``frame`` needs forename, surname, origin, dob, assessed_dob, sex and postcodes.
    ``assessed_use`` overrides ``rates.assessed_dob_used`` for this source. Returns
    forename, surname, dob (datetime64, NaT when missing), sex, postcode and errors.
    """
    count = len(frame)
    recorder = _Recorder(rng, count)
    forename, surname = _names(frame, recorder, rates)
    use = rates.assessed_dob_used if assessed_use is None else assessed_use
    dob = _dates_of_birth(frame, recorder, rates, use)
    postcode = _postcodes(frame, recorder, rates)
    sex = frame["sex"].to_numpy(dtype=object).copy()
    out = pd.DataFrame(
        {"forename": forename, "surname": surname, "dob": dob, "sex": sex, "postcode": postcode}
    )
    for column, rate in (
        ("forename", rates.missing_forename),
        ("surname", rates.missing_surname),
        ("dob", rates.missing_dob),
        ("sex", rates.missing_sex),
        ("postcode", rates.missing_postcode),
    ):
        missing = recorder.mask(rate)
        out.loc[missing, column] = None
        recorder.note(f"missing_{column}", missing)
    out["dob"] = pd.to_datetime(out["dob"])
    out["errors"] = [value.rstrip(";") for value in recorder.errors]
    return out


def recorded_nhs_numbers(
    frame: pd.DataFrame,
    rng: np.random.Generator,
    rates: IdentifierErrorRates,
    *,
    spaced_share: float = 0.0,
) -> np.ndarray:
    """The person's NHS number as a record holds it: often missing if unaccompanied.

    ``spaced_share`` of the numbers present are written '943 476 5919', as forms do.
    """
    values = frame["nhs_number"].to_numpy(dtype=object).copy()
    missing_rate = np.where(
        frame["unaccompanied"].to_numpy(dtype=bool),
        rates.nhs_number_missing_unaccompanied,
        rates.nhs_number_missing_other,
    )
    values[rng.random(len(frame)) < missing_rate] = None
    spaced = rng.random(len(frame)) < spaced_share
    for index in np.flatnonzero(spaced).tolist():
        text = values[index]
        if text is not None:
            values[index] = f"{text[:3]} {text[3:6]} {text[6:]}"
    return values
