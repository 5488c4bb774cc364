"""Every rate the generator draws by, in one place (documented in docs/data.md).

A *record* is one row of an owner's extract. Each identifier-error rate is the
probability that a record shows that error, drawn independently; the ICTG repeat rates
say how often a referral comes back as a copy or a child is referred again. The
generator never changes these numbers anywhere else. Tests check the generated data
against them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFAULT_RATES",
    "NO_ICTG_REPEATS",
    "REALISTIC_ICTG_REPEATS",
    "IctgRepeatRates",
    "IdentifierErrorRates",
]


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


@dataclass(frozen=True, kw_only=True)
class IctgRepeatRates:
    """How often an ICTG referral is returned twice, and how often a child is re-referred.

    ``copy`` and ``reentry`` are exact shares (that many rows or children are chosen),
    the others probabilities per copy. Copies keep the URN, site and identifiers of the
    referral they repeat; a re-entry keeps the URN and is a new referral in every other
    way. Published totals count rows as received, so the generator draws fewer children
    when repeats are on (``rows_per_child``).
    """

    # Copies: the same referral in a second return (same URN and site).
    copy: float = 0.035  # share of referral rows (with a URN) returned a second time
    copy_to_missing: float = 0.4  # of copies: in the same period's 'Missing' file
    copy_to_later_return: float = 0.25  # of copies: in the group's next-period file
    # (the rest: twice in the same return, DW or RPC)
    copy_date_shifted: float = 0.35  # the copy's referral date 1-5 days off the original's
    copy_field_blank: float = 0.3  # nationality, worker type or exploitation types blank
    closure_only_in_copy: float = 0.5  # closed case: the first return predates the closure
    copy_events: float = 0.5  # 'Missing' copy: that period's monthly and contact rows too
    # Re-entries: referred again after the case closed (a new episode, same URN).
    reentry: float = 0.03  # share of ICTG children
    reentry_other_site: float = 0.3  # re-referred to another site open at the time
    reentry_gap_days: tuple[int, float] = (60, 150.0)  # minimum, then exponential mean
    reentry_closure_unrecorded: float = 0.15  # the earlier closure was never written down

    def rows_per_child(self) -> float:
        """Referral rows written per child drawn: first referral, re-entries, copies."""
        return (1 + self.reentry) * (1 + self.copy)


REALISTIC_ICTG_REPEATS = IctgRepeatRates()
# One referral row per URN: what pseudonymise and linkage accept today for an identity
# table (they refuse repeated record ids), hence the generator's default.
NO_ICTG_REPEATS = IctgRepeatRates(copy=0.0, reentry=0.0)
