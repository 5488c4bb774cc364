"""The owner's pseudonymise spec (``trelink pseudonymise --spec``): optional settings.

Example (every key is optional except ``version``)::

    version: 1
    columns:                 # canonical name: name in the file
      record_id: case_ref
      forename: first_name
      surname: last_name
      dob: date_of_birth
    drop: [caseworker_notes] # attributes that must never leave the owner
    unique_record_id: true   # false lets record ids repeat (ICTG URNs); rows share a pid
    owner_ids: [person_ref]  # attributes replaced by an HMAC under the owner's key
    quasi_identifiers: [sex, age_group, nationality]
    risk:
      max_token_share: 0.05  # warn when one token value covers more than 5% of rows
      min_k: 5               # warn when a quasi-identifier group has fewer records
    match_keys: specs/pseudonymise/match_keys.yaml
    bloom: {fields: [forename, surname]}   # opt-in; see pseudonymise.bloom

Without ``--spec`` the defaults below apply: canonical column names, no drops, the
quasi-identifiers of ``DEFAULT_QUASI_IDENTIFIERS`` that the table has, and the shipped
match-key spec.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from pseudonymise.bloom import BloomSettings
from specs.loader import SpecModel, load_spec
from specs.match_keys import MatchKeySpec, load_match_key_spec

__all__ = [
    "DEFAULT_OWNER_IDS",
    "DEFAULT_QUASI_IDENTIFIERS",
    "PseudonymiseSpec",
    "RiskLimits",
    "load_pseudonymise_spec",
]

# System person numbers that group rows by person but must not leave in clear.
DEFAULT_OWNER_IDS: tuple[str, ...] = ("person_ref",)
DEFAULT_QUASI_IDENTIFIERS: tuple[str, ...] = (
    "sex",
    "age_group",
    "nationality",
    "ethnicity",
    "site",
    "local_authority",
)


class RiskLimits(BaseModel):
    """Thresholds above (or below) which the risk report warns."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_token_share: float = Field(default=0.05, gt=0, le=1)
    min_k: int = Field(default=5, ge=1)


class PseudonymiseSpec(SpecModel):
    """Column mapping, dropped attributes, quasi-identifiers and risk limits."""

    columns: dict[str, str] = Field(default_factory=dict)
    drop: tuple[str, ...] = ()
    # ICTG referral returns repeat a child's URN (copies, re-referrals): set false to let
    # record ids repeat in an identity table; the rows then share one record_pid.
    unique_record_id: bool = True
    owner_ids: tuple[str, ...] = DEFAULT_OWNER_IDS
    quasi_identifiers: tuple[str, ...] | None = None
    risk: RiskLimits = RiskLimits()
    match_keys: str | None = None
    bloom: BloomSettings | None = None  # opt-in Bloom-filter encodings of names

    def match_key_spec(self, *, relative_to: Path | None = None) -> MatchKeySpec:
        """The match-key spec this file names (paths relative to the spec file)."""
        if self.match_keys is None:
            return load_match_key_spec()
        path = Path(self.match_keys)
        if not path.is_absolute() and relative_to is not None and not path.exists():
            path = relative_to / path
        return load_match_key_spec(path)


def load_pseudonymise_spec(path: str | os.PathLike[str]) -> PseudonymiseSpec:
    """Load and validate a pseudonymise spec (all problems reported at once)."""
    return load_spec(path, PseudonymiseSpec)
