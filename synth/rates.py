"""Every rate of record-level identifier error, in one place (documented in docs/data.md).

A *record* is one row of an owner's extract. Each rate is the probability that a
record shows that error, drawn independently; the generator never changes these
numbers anywhere else. Tests check the generated data against them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_RATES", "IdentifierErrorRates"]


@dataclass(frozen=True, kw_only=True)
class IdentifierErrorRates:
    """Probabilities per record of each identifier error."""

    # Names
    typo: float = 0.03  # one character inserted, deleted, substituted or transposed
    transliteration: float = 0.25  # a known variant spelling, when the name has one
    diacritics_dropped: float = 0.5  # Nguyễn -> Nguyen, when the name has diacritics
    ethiopic_abbreviation: float = 0.3  # Gebremedhin -> G/Medhin, when it applies
    name_order_swapped: float = 0.03  # forename and surname fields exchanged
    name_order_swapped_family_first: float = 0.25  # same, for Vietnamese and Chinese names
    nickname: float = 0.15  # a short form, when the forename has one
    # Dates of birth
    dob_day_month_swapped: float = 0.02  # only when the day is 12 or less
    dob_typo: float = 0.01  # one digit of the day or year off by one
    assessed_dob_used: float = 0.6  # age-assessed child: the estimated 1 January date recorded
    # Postcodes
    postcode_earlier_placement: float = 0.25  # a previous placement's postcode
    postcode_typo: float = 0.01
    # Missing values
    missing_forename: float = 0.01
    missing_surname: float = 0.01
    missing_dob: float = 0.02
    missing_sex: float = 0.01
    missing_postcode: float = 0.05
    # Source-specific identifiers
    nhs_number_missing_unaccompanied: float = 0.6
    nhs_number_missing_other: float = 0.05
    temporary_upn_unaccompanied: float = 0.5
    justice_alias_per_person: float = 0.35
    justice_extra_dob_per_person: float = 0.3


DEFAULT_RATES = IdentifierErrorRates()
