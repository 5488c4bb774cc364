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
``full_name``              ``forename``,        titles and suffixes dropped, then split on
                           ``surname``,         spaces: first word the forename, last word
                           ``middle_name``      the surname, words between the middle name
                                                (``order: family_first`` reverses; a comma
                                                ends the surname: ``Smith, John``)
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

Most types are single-valued: a file declares at most one column of each (two dates of
birth would leave one silently unused). ``REPEATABLE_OWNER_TYPES`` may be declared on
several columns, whose values are combined (address lines and middle names joined in
spec order, aliases and other dates listed together); each category is its own column.

Placeholders: values a system writes where it has none (``unknown@unknown.com``,
``0000000000``, ``n/a``, a date of birth of ``1900-01-01``) would otherwise agree with
each other across records of different people. ``is_placeholder`` says which normalised
values of a column are such stand-ins; normalisation treats them as missing and counts
them, whichever path (``prepare`` or a declared CSV) the values came by.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, Self

from pydantic import model_validator

from trelink.specs.loader import FrozenModel

__all__ = [
    "CANONICAL_COLUMNS",
    "CHANGEABLE_COLUMNS",
    "CHECK_DIGIT_COLUMNS",
    "IDENTITY_ROLES",
    "LIST_COLUMNS",
    "OWNER_TYPES",
    "REPEATABLE_OWNER_TYPES",
    "CanonicalColumn",
    "IdentifierTypeSpec",
    "IdentityRole",
    "OwnerType",
    "canonical_of",
    "filled_columns",
    "is_placeholder",
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
# Owner types a file may declare on several columns (see the module docstring).
REPEATABLE_OWNER_TYPES: frozenset[str] = frozenset(
    {"middle_name", "aliases", "other_date_of_birth", "address_line", "category"}
)


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
    # Which stand-in values ``is_placeholder`` recognises in it.
    placeholders: Literal["none", "repeated", "phone", "email", "date"] = "none"


CANONICAL_COLUMNS: dict[str, CanonicalColumn] = {
    column.name: column
    for column in (
        CanonicalColumn("forename", "first given name"),
        CanonicalColumn("middle_name", "middle names"),
        CanonicalColumn("surname", "family name", changeable=True),
        CanonicalColumn("aliases", "other names, forename|surname pairs", kind="alias_list"),
        CanonicalColumn("dob", "date of birth", kind="date", placeholders="date"),
        CanonicalColumn(
            "dob_alt", "other recorded dates of birth", kind="date_list", placeholders="date"
        ),
        CanonicalColumn("postcode", "UK postcode", changeable=True),
        CanonicalColumn("postal_code", "postcode of another country or free form", True),
        CanonicalColumn("address", "address lines, joined", changeable=True),
        CanonicalColumn("locality", "town, suburb or city", changeable=True),
        CanonicalColumn("email", "email address", changeable=True, placeholders="email"),
        CanonicalColumn("phone", "telephone number", changeable=True, placeholders="phone"),
        # 0000000000 and every other repeated digit pass the modulus-11 check.
        CanonicalColumn(
            "nhs_number", "NHS number (modulus-11 check digit)", placeholders="repeated"
        ),
        CanonicalColumn("upn", "unique pupil number (check letter)"),
        CanonicalColumn("pnc_id", "Police National Computer id (check letter)"),
        CanonicalColumn("identifier", "any other person identifier", placeholders="repeated"),
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


def filled_columns(owner_type: str, *, country: str = "uk", check: str = "none") -> tuple[str, ...]:
    """Every column an owner type fills: a full name fills three, a category none (it
    stays an attribute under its own name), any other type ``canonical_of``'s one."""
    if owner_type == "full_name":
        return ("forename", "middle_name", "surname")
    if owner_type == "category":
        return ()
    return (canonical_of(owner_type, country=country, check=check),)


# Mailboxes and host names written where no address is known (compared lower case, with
# dots, dashes and underscores removed): unknown@unknown.com, no.email@nhs.net, x@none.
_EMAIL_PLACEHOLDER_HOSTS = frozenset(
    {"unknown", "notknown", "noemail", "nomail", "none", "nil", "null", "na", "nk",
     "test", "dummy", "example", "invalid", "fake"}
)  # fmt: skip
_EMAIL_PLACEHOLDER_MAILBOXES = _EMAIL_PLACEHOLDER_HOSTS | frozenset(
    {"noaddress", "notapplicable", "notprovided", "notgiven", "declined", "refused",
     "noreply", "donotreply", "email", "xxx"}
)  # fmt: skip
# Domains that cannot hold a real mailbox (RFC 2606 and 6761 reserved names).
_EMAIL_PLACEHOLDER_DOMAINS = frozenset({"example", "test", "invalid", "localhost"})
# Digit runs written as a number by people who have none (after the last nine digits
# are kept, as the phone normalisation does).
_PHONE_RUNS = frozenset({"123456789", "234567890", "987654321", "876543210", "012345678"})
# Dates systems write for an unknown date of birth (ISO text): their day zero, the
# first of 1900, the end of time.
_DATE_PLACEHOLDERS = frozenset(
    {"0001-01-01", "1800-01-01", "1899-12-30", "1899-12-31", "1900-01-01", "9999-12-31"}
)
# Shorter runs of one character can be real (an identifier 11, a mailbox j@).
_SHORTEST_REPEAT = 3


def _repeated(value: str) -> bool:
    return len(value) >= _SHORTEST_REPEAT and len(set(value)) == 1


def _alphanumeric(text: str) -> str:
    return "".join(character for character in text if character.isalnum())


def _email_placeholder(value: str) -> bool:
    mailbox, _, domain = value.lower().partition("@")
    squeezed = _alphanumeric(mailbox)
    labels = [label for label in domain.split(".") if label]
    if not squeezed or not labels:
        return True
    if squeezed in _EMAIL_PLACEHOLDER_MAILBOXES or _repeated(squeezed):
        return True
    return (
        _alphanumeric(labels[0]) in _EMAIL_PLACEHOLDER_HOSTS
        or labels[-1] in _EMAIL_PLACEHOLDER_DOMAINS
        or (len(labels) > 1 and labels[-2] in _EMAIL_PLACEHOLDER_DOMAINS)
    )


def is_placeholder(column: str, value: str) -> bool:
    """Whether ``value``, already normalised for canonical ``column``, is a stand-in a
    system writes where it has no value (see the module docstring), not a real one.

    A telephone number or identifier of one character repeated three times or more
    (``000000000``, ``999999``, ``XXXXXX``), a telephone number that counts up or down
    (``123456789``), an email address whose mailbox or domain says it has none
    (``unknown@unknown.com``, ``noemail@nhs.net``, ``a@example.org``, ``xxx@x.com``), a
    date of birth (``YYYY-MM-DD``) that is a system's stand-in (``1900-01-01``,
    ``1899-12-30``, Excel's day zero, ``9999-12-31``).
    """
    rule = CANONICAL_COLUMNS[column].placeholders if column in CANONICAL_COLUMNS else "none"
    if rule == "repeated":
        return _repeated(value)
    if rule == "phone":
        return _repeated(value) or value in _PHONE_RUNS
    if rule == "email":
        return _email_placeholder(value)
    if rule == "date":
        return value in _DATE_PLACEHOLDERS
    return False


class IdentifierTypeSpec(FrozenModel):
    """An identifier type as a spec names it: ``given_name``, or a mapping with options
    (``{type: postcode, country: other}``, ``{type: identifier, check: upn}``) that
    choose its canonical column. The dataset spec's ``identifier:``
    (``trelink.specs.dataset.DatasetIdentifier``) and the pseudonymise spec's
    ``identifiers:`` (``pseudonymise.declarations.IdentifierDeclaration``) extend it,
    each naming the types it takes."""

    type: str
    # postcode: uk (checked UK format) or other / free (any country, kept as written).
    country: Literal["uk", "other", "free"] = "uk"
    # identifier: validate a check digit and fill that canonical column.
    check: Literal["none", "nhs_number", "upn", "pnc_id"] = "none"

    # The types each option applies to: given to another type, it would silently do
    # nothing, so it is refused (a subclass adds its own options).
    OPTION_TYPES: ClassVar[dict[str, frozenset[str]]] = {
        "country": frozenset({"postcode"}),
        "check": frozenset({"identifier"}),
    }

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _options_fit_the_type(self) -> Self:
        misplaced = [
            f"`{option}` applies to {' and '.join(sorted(types))} only, not {self.type}"
            for option, types in self.OPTION_TYPES.items()
            if option in self.model_fields_set and self.type not in types
        ]
        if misplaced:
            raise ValueError("; ".join(misplaced))
        return self

    @property
    def canonical(self) -> str:
        """The canonical column this type fills (a full name fills three: ``filled``)."""
        return canonical_of(self.type, country=self.country, check=self.check)
