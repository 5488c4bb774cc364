"""The registry of identifier types: what a data owner may declare a column to be.

A data owner describes an extract by saying, for each identifying column, which *type*
it holds (``given_name``, ``date_of_birth``, ``address_line``, ``email`` ...). Each type
fills one *canonical column* of the identity table (``forename``, ``dob``, ``address``
...), from which ``pseudonymise`` derives match keys and the TRE builds comparisons,
blocking rules and training blocks. Nothing in trelink knows a source by name: a new
dataset is a spec, never a code change.

=========================  ===================  ============================================
owner type                 canonical column     notes
=========================  ===================  ============================================
``given_name``             ``forename``         first word kept; middle words dropped
``middle_name``            ``middle_name``
``family_name``            ``surname``
``full_name``              ``forename``,        split on spaces: first word the forename,
                           ``surname``,         last word the surname, words between the
                           ``middle_name``      middle name (``order: family_first`` reverses)
``aliases``                ``aliases``          ``forename|surname`` pairs separated by ``;``
``date_of_birth``          ``dob``              ``format``: any strftime format
``other_date_of_birth``    ``dob_alt``          dates separated by ``;``
``sex``                    ``sex``              kept as a low-risk attribute, never a token
``postcode``               ``postcode``         ``country: uk`` (checked UK format)
                           ``postal_code``      ``country: other`` or ``free`` (any format)
``address_line``           ``address``          several lines are joined in spec order
``locality``               ``locality``         town, suburb, city
``identifier``             ``identifier``       ``check: none`` (default): any id;
                           ``nhs_number``,      ``check: nhs_number``, ``upn`` or ``pnc_id``
                           ``upn``, ``pnc_id``  validate the check digit or letter
``email``                  ``email``
``phone``                  ``phone``
``category``               (the column itself)  a released attribute
=========================  ===================  ============================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CANONICAL_COLUMNS",
    "CHANGEABLE_COLUMNS",
    "CHECK_DIGIT_COLUMNS",
    "IDENTITY_ROLES",
    "LIST_COLUMNS",
    "OWNER_TYPES",
    "CanonicalColumn",
    "IdentityRole",
    "OwnerType",
    "canonical_of",
]

OwnerType = Literal[
    "given_name",
    "middle_name",
    "family_name",
    "full_name",
    "aliases",
    "date_of_birth",
    "other_date_of_birth",
    "sex",
    "postcode",
    "address_line",
    "locality",
    "identifier",
    "email",
    "phone",
    "category",
]
OWNER_TYPES: tuple[str, ...] = OwnerType.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CanonicalColumn:
    """One identifier column of a canonical identity table."""

    name: str
    description: str
    # A person can legitimately change it (move house, new email): a model that treats
    # disagreement on it as near-proof of a non-match is degenerate.
    changeable: bool = False
    # Column of dates or lists rather than text.
    kind: Literal["text", "date", "date_list", "alias_list"] = "text"


CANONICAL_COLUMNS: dict[str, CanonicalColumn] = {
    column.name: column
    for column in (
        CanonicalColumn("forename", "first given name"),
        CanonicalColumn("middle_name", "middle names"),
        CanonicalColumn("surname", "family name", changeable=True),
        CanonicalColumn("aliases", "other names, forename|surname pairs", kind="alias_list"),
        CanonicalColumn("dob", "date of birth", kind="date"),
        CanonicalColumn("dob_alt", "other recorded dates of birth", kind="date_list"),
        CanonicalColumn("postcode", "UK postcode", changeable=True),
        CanonicalColumn("postal_code", "postcode of another country or free form", True),
        CanonicalColumn("address", "address lines, joined", changeable=True),
        CanonicalColumn("locality", "town, suburb or city", changeable=True),
        CanonicalColumn("email", "email address", changeable=True),
        CanonicalColumn("phone", "telephone number", changeable=True),
        CanonicalColumn("nhs_number", "NHS number (modulus-11 check digit)"),
        CanonicalColumn("upn", "unique pupil number (check letter)"),
        CanonicalColumn("pnc_id", "Police National Computer id (check letter)"),
        CanonicalColumn("identifier", "any other person identifier"),
    )
}
CHANGEABLE_COLUMNS: frozenset[str] = frozenset(
    name for name, column in CANONICAL_COLUMNS.items() if column.changeable
)
LIST_COLUMNS: frozenset[str] = frozenset({"aliases", "dob_alt"})
# Identifier checks an owner may ask for, and the canonical column each fills.
CHECK_DIGIT_COLUMNS: dict[str, str] = {
    "nhs_number": "nhs_number",
    "upn": "upn",
    "pnc_id": "pnc_id",
}

# The columns of a canonical identity table, in the order ``prepare`` writes them: the
# record id, the canonical identifier columns above, and sex (kept as a low-risk
# attribute, never a token). A dataset spec's column ``role`` is one of these or
# ``attribute``; the leak scanner refuses a package member column named like one of
# them (but ``sex``) that is not a token.
IdentityRole = Literal[
    "record_id",
    "forename",
    "surname",
    "dob",
    "sex",
    "postcode",
    "nhs_number",
    "upn",
    "pnc_id",
    "aliases",
    "dob_alt",
    "middle_name",
    "postal_code",
    "address",
    "locality",
    "email",
    "phone",
    "identifier",
]
IDENTITY_ROLES: tuple[str, ...] = IdentityRole.__args__  # type: ignore[attr-defined]


# Owner types whose canonical column has another name (the rest fill their namesake).
_OWNER_CANONICAL: dict[str, str] = {
    "given_name": "forename",
    "family_name": "surname",
    "full_name": "forename",
    "date_of_birth": "dob",
    "other_date_of_birth": "dob_alt",
    "address_line": "address",
}


def canonical_of(owner_type: str, *, country: str = "uk", check: str = "none") -> str:
    """The canonical column an owner type fills: ``postcode`` by ``country`` (``uk``
    or another), ``identifier`` by its ``check`` (a check-digit type fills its own
    column). A full name fills three columns; this names the first, ``forename``."""
    if owner_type == "postcode":
        return "postcode" if country == "uk" else "postal_code"
    if owner_type == "identifier":
        return CHECK_DIGIT_COLUMNS.get(check, "identifier")
    return _OWNER_CANONICAL.get(owner_type, owner_type)
