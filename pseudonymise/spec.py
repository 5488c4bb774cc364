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
    date_formats: ["%Y%m%d", "%d/%m/%Y"]   # every date column (default ISO, then D/M/Y)
    values:                  # code: spellings; other values become null and are counted
      sex: {F: [female, f, 2], M: [male, m, 1]}

Without ``--spec`` the defaults below apply: canonical column names, no drops, the
quasi-identifiers of ``DEFAULT_QUASI_IDENTIFIERS`` that the table has, and the shipped
match-key spec.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from pseudonymise.bloom import BloomSettings
from pseudonymise.canonical import AttributeLists
from pseudonymise.dates import DEFAULT_DATE_FORMATS, date_format_problem
from pseudonymise.declarations import IdentifierDeclaration, column_key, declaration_clashes
from trelink.specs.loader import FrozenModel, SpecModel, load_spec
from trelink.specs.match_keys import MatchKeySpec, load_match_key_spec

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

# Columns whose values are identifiers or ids: a value mapping would corrupt them.
_NO_VALUE_MAPPING = frozenset(
    {"record_id", "forename", "surname", "dob", "postcode", "nhs_number", "upn", "pnc_id",
     "aliases", "dob_alt"}
)  # fmt: skip


class RiskLimits(FrozenModel):
    """Thresholds above (or below) which the risk report warns."""

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
    # column in the file -> identifier type (specs/identifier_types.py): bring your own
    identifiers: dict[str, IdentifierDeclaration] = Field(default_factory=dict)
    # strftime formats (or excel_serial) for every date column, tried in this order
    date_formats: tuple[str, ...] = Field(default=DEFAULT_DATE_FORMATS, min_length=1)
    # column -> code -> spellings (compared trimmed and case-folded); other values: null.
    # Every column named here and in drop, owner_ids and quasi_identifiers is found as
    # a header is (trimmed, case-folded; by the file's name or the canonical one), and
    # one the file lacks is refused when the file is read.
    values: dict[str, dict[str, tuple[str, ...]]] = Field(default_factory=dict)

    @field_validator("values", mode="before")
    @classmethod
    def _values_as_text(cls, values: Any) -> Any:
        # YAML reads `M: [male, 1]` with an integer; codes and spellings are text.
        if not isinstance(values, dict):
            return values
        return {
            column: {
                str(code): [str(item) for item in spellings]
                if isinstance(spellings, list)
                else spellings
                for code, spellings in codes.items()
            }
            if isinstance(codes, dict)
            else codes
            for column, codes in values.items()
        }

    @model_validator(mode="after")
    def _formats_and_values_usable(self) -> PseudonymiseSpec:
        problems = [
            f"date_formats: {problem}"
            for problem in map(date_format_problem, self.date_formats)
            if problem is not None
        ]
        problems.extend(declaration_clashes(self.identifiers, mapped=self.columns))
        for column, codes in self.values.items():
            # Compared as headers are: `values: {SEX: ...}` recodes the column sex.
            if column_key(column) in _NO_VALUE_MAPPING:
                problems.append(f"values.{column}: identifiers cannot be recoded")
            if column_key(column) == "sex" and not set(codes) <= {"F", "M"}:
                problems.append(
                    "values.sex: the codes are F and M (the canonical sex codes); list "
                    "other spellings under them, and values listed nowhere become null"
                )
            seen: dict[str, str] = {}
            for code, spellings in codes.items():
                for spelling in (code, *spellings):
                    key = spelling.strip().casefold()
                    if seen.setdefault(key, code) != code:
                        problems.append(
                            f"values.{column}: spelling {spelling!r} belongs to both "
                            f"{seen[key]!r} and {code!r}"
                        )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def attribute_lists(self) -> AttributeLists:
        """``drop``, ``owner_ids`` and ``quasi_identifiers`` (defaults filled in), for
        ``read_canonical`` and ``pseudonymise_table`` to find in the file."""
        given = {"drop"} | ({"owner_ids"} & self.model_fields_set)
        if self.quasi_identifiers is not None:
            given.add("quasi_identifiers")
        return AttributeLists(
            drop=self.drop,
            owner_ids=self.owner_ids,
            quasi_identifiers=self.quasi_identifiers
            if self.quasi_identifiers is not None
            else DEFAULT_QUASI_IDENTIFIERS,
            given=frozenset(given),
        )

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
