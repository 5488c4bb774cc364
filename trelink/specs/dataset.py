"""The dataset spec: how one owner's raw extract maps onto trelink's canonical tables.

One YAML file per raw source (``specs/datasets/{nrm,ictg,education,health,justice}.yaml``)
describes each canonical *table* the source yields (NRM yields ``referral``; ICTG yields
``referral``, ``monthly`` and ``contact``) as

* ``columns``: the canonical columns, each with a type, an identifier *role* (which
  canonical identifier it is, or ``attribute``) and, for categories, the code list with
  every known spelling of each code;
* ``periods``: for each period of the raw files, which files hold the table (globs
  relative to the ``--in`` directory), how they are encoded, which date formats occur,
  and the *labels* (synonyms) each canonical column has in that period's headers.

``trelink prepare`` compiles this into its readers; nothing about a source's layout is
written in code. Every problem in a file is reported at once by ``specs.load_spec``.
"""

from __future__ import annotations

import os
import re
import unicodedata
from typing import Literal

from pydantic import Field, model_validator

from trelink.specs.identifier_types import (
    CANONICAL_COLUMNS,
    IdentifierTypeSpec,
    IdentityRole,
    OwnerType,
)
from trelink.specs.loader import FrozenModel, SpecModel, load_spec, spec_path

__all__ = [
    "EXCEL_SERIAL",
    "ColumnSpec",
    "ColumnType",
    "CoverageSpec",
    "DatasetIdentifier",
    "DatasetSpec",
    "PeriodSpec",
    "Role",
    "TableSpec",
    "dataset_spec_path",
    "label_key",
    "load_dataset_spec",
]

# A date "format" meaning: a whole number of days since Excel's 1899-12-30 epoch.
EXCEL_SERIAL = "excel_serial"

ColumnType = Literal[
    "string",
    "integer",
    "number",
    "boolean",
    "date",
    "category",
    "category_list",
    "alias_list",
    "date_list",
]
# A column's role: one of the identity table's columns (the registry of identifier
# types, ``trelink.specs.identifier_types``, lists them) or an attribute.
Role = IdentityRole | Literal["attribute"]

# The type each identifier role must have, so prepare always writes the canonical schema.
_KIND_TYPES = {  # a registry column kind: the ColumnType it is prepared as
    "text": "string",
    "date": "date",
    "date_list": "date_list",
    "alias_list": "alias_list",
}
ROLE_TYPES: dict[str, frozenset[str]] = {
    "record_id": frozenset({"string"}),
    "sex": frozenset({"category"}),
    **{name: frozenset({_KIND_TYPES[c.kind]}) for name, c in CANONICAL_COLUMNS.items()},
}
_CODED_TYPES = frozenset({"category", "category_list"})
_DATE_TYPES = frozenset({"date", "date_list", "alias_list"})
_SNAKE = r"^[a-z][a-z0-9_]*$"


def label_key(label: str) -> str:
    """How raw header labels and category spellings are compared: case, spaces, dots ignored.

    Real headers drift by case and stray spaces ('Date of Birth ', 'date of birth'), and
    by how Unicode is composed (a Mac writes 'é' as 'e' and an accent); the spec lists
    only variants that differ in letters.
    """
    return re.sub(r"[\s._]+", " ", unicodedata.normalize("NFKC", label)).strip().casefold()


class DatasetIdentifier(IdentifierTypeSpec):
    """An identifier column's type, as the registry of identifier types names it
    (``trelink.specs.identifier_types``; the pseudonymise spec's ``identifiers:``
    section uses the same names): ``given_name``, ``date_of_birth``, ``postcode``, or
    ``{type: identifier, check: nhs_number}`` ..."""

    type: OwnerType


# The column type an identifier type is prepared as, where it is not text.
_IDENTIFIER_TYPES: dict[str, ColumnType] = {
    "date_of_birth": "date",
    "other_date_of_birth": "date_list",
    "aliases": "alias_list",
    "sex": "category",
}


class ColumnSpec(FrozenModel):
    """One canonical column of a prepared table.

    An identity column says which identifier it is either by ``identifier:`` (an owner
    type of the registry, as in the pseudonymise spec: the column's name, role and type
    follow from it) or, as older specs do, by ``role:`` (the canonical column itself).
    """

    name: str = Field(pattern=_SNAKE)
    type: ColumnType = "string"
    role: Role = "attribute"
    identifier: DatasetIdentifier | None = None
    required: bool = False
    description: str = ""
    # code -> spellings seen in raw files; the code itself always matches.
    categories: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # raw values meaning "not recorded"; they become null without counting as unknown.
    missing_values: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_identifier(cls, value: object) -> object:
        if not isinstance(value, dict) or value.get("identifier") is None:
            return value
        declared = value["identifier"]
        kind = declared.get("type") if isinstance(declared, dict) else declared
        if kind == "full_name":
            raise ValueError(
                "identifier full_name: a dataset spec prepares one column per canonical "
                "identifier; declare a full name in the pseudonymise spec's `identifiers:` "
                "(it splits it)"
            )
        if kind == "category":
            raise ValueError("identifier category: declare a category as an attribute column")
        if not isinstance(kind, str):
            return value  # the field's own validation names the problem
        identifier = DatasetIdentifier.model_validate(declared)
        canonical = identifier.canonical
        role = value.get("role", canonical)
        if role != canonical:
            raise ValueError(
                f"identifier {kind} fills {canonical}, but the column says role {role}"
            )
        filled = {"name": canonical, "role": canonical, **value}
        if kind in _IDENTIFIER_TYPES:
            filled.setdefault("type", _IDENTIFIER_TYPES[kind])
        return filled

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        problems: list[str] = []
        if self.role == "record_id" and self.name != "record_id":
            problems.append(f"column {self.name!r}: role record_id must be named record_id")
        allowed = ROLE_TYPES.get(self.role)
        if allowed is not None and self.type not in allowed:
            problems.append(
                f"column {self.name!r}: role {self.role} needs type {sorted(allowed)[0]}, "
                f"not {self.type}"
            )
        if self.role != "attribute" and self.role != "record_id" and self.name != self.role:
            problems.append(f"column {self.name!r}: role {self.role} must be named {self.role}")
        if self.type in _CODED_TYPES and not self.categories:
            problems.append(f"column {self.name!r}: type {self.type} needs `categories`")
        if self.categories and self.type not in _CODED_TYPES:
            problems.append(f"column {self.name!r}: `categories` only apply to category types")
        if self.role == "sex" and set(self.categories) != {"F", "M"}:
            problems.append(f"column {self.name!r}: sex categories must be exactly F and M")
        problems.extend(self._spelling_clashes())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _spelling_clashes(self) -> list[str]:
        owner: dict[str, str] = {}
        problems: list[str] = []
        for code, spellings in self.categories.items():
            for spelling in (code, *spellings):
                key = label_key(spelling)
                if key in owner and owner[key] != code:
                    problems.append(
                        f"column {self.name!r}: spelling {spelling!r} belongs to both "
                        f"{owner[key]!r} and {code!r}"
                    )
                owner[key] = code
        for missing in self.missing_values:
            if label_key(missing) in owner:
                problems.append(
                    f"column {self.name!r}: {missing!r} is both a missing value and a category"
                )
        return problems

    def category_lookup(self) -> dict[str, str]:
        """Map every known spelling (compared by ``label_key``) to its code."""
        lookup: dict[str, str] = {}
        for code, spellings in self.categories.items():
            for spelling in (code, *spellings):
                lookup[label_key(spelling)] = code
        return lookup


class PeriodSpec(FrozenModel):
    """Where one period's raw files are and how their headers and values are written."""

    period: str = Field(min_length=1)
    files: tuple[str, ...] = Field(min_length=1)
    encoding: Literal["auto", "utf-8", "utf-8-sig", "cp1252"] = "auto"
    date_formats: tuple[str, ...] = ()
    list_separator: str = Field(default=";", min_length=1)
    labels: dict[str, tuple[str, ...]]

    @model_validator(mode="after")
    def _no_duplicate_synonyms(self) -> PeriodSpec:
        owner: dict[str, str] = {}
        problems: list[str] = []
        for column, labels in self.labels.items():
            if not labels:
                problems.append(f"period {self.period!r}: column {column!r} has no labels")
            for label in labels:
                key = label_key(label)
                if key in owner:
                    problems.append(
                        f"period {self.period!r}: label {label!r} is a synonym of both "
                        f"{owner[key]!r} and {column!r}"
                    )
                owner[key] = column
        if problems:
            raise ValueError("; ".join(problems))
        return self


class TableSpec(FrozenModel):
    """One canonical table a source yields, and its layout in every period."""

    name: str = Field(pattern=_SNAKE)
    kind: Literal["identity", "events"]
    unique_record_id: bool
    # ICTG: the folder holding a file names its group (DW, RPC, Missing).
    groups: tuple[str, ...] = ()
    columns: tuple[ColumnSpec, ...] = Field(min_length=1)
    periods: tuple[PeriodSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> TableSpec:
        problems: list[str] = []
        names = [column.name for column in self.columns]
        for name in sorted({name for name in names if names.count(name) > 1}):
            problems.append(f"table {self.name!r}: column {name!r} is declared twice")
        reserved = {"period", "group"} & set(names)
        if reserved:
            problems.append(f"table {self.name!r}: {sorted(reserved)} are added by prepare")
        if "record_id" not in names:
            problems.append(f"table {self.name!r}: needs a record_id column")
        if self.kind == "events":
            identifiers = [c.name for c in self.columns if c.role not in ("attribute", "record_id")]
            if identifiers:
                problems.append(
                    f"table {self.name!r}: event tables carry no identifiers, found {identifiers}"
                )
        problems.extend(self._period_problems(set(names)))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _period_problems(self, names: set[str]) -> list[str]:
        problems: list[str] = []
        required = [c.name for c in self.columns if c.required]
        needs_dates = any(c.type in _DATE_TYPES for c in self.columns)
        seen: set[str] = set()
        for period in self.periods:
            where = f"table {self.name!r} period {period.period!r}"
            if period.period in seen:
                problems.append(f"{where}: period declared twice")
            seen.add(period.period)
            for unknown in sorted(set(period.labels) - names):
                problems.append(f"{where}: labels for unknown column {unknown!r}")
            for column in required:
                if column not in period.labels:
                    problems.append(f"{where}: required column {column!r} has no labels")
            if needs_dates and not period.date_formats:
                problems.append(f"{where}: the table has dates, so give `date_formats`")
        return problems

    def column(self, name: str) -> ColumnSpec:
        """The column called ``name`` (KeyError if absent)."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


class CoverageSpec(FrozenModel):
    """Who can be in the dataset, said through an attribute the OTHER datasets carry.

    The linkage report divides a dataset's linkage rate to this one by the records that
    could be here, so absence is not read as a missed link. The TRE holds no dates of
    birth, so an age range is given through a coded attribute (``age_group: [child]``
    for a school census) rather than computed from dates.
    """

    description: str = Field(min_length=1)  # in words, e.g. the ages and years covered
    attribute: str = Field(pattern=_SNAKE)
    values: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct_values(self) -> CoverageSpec:
        twice = sorted({value for value in self.values if self.values.count(value) > 1})
        if twice:
            raise ValueError(f"coverage values listed more than once: {twice}")
        if any(not value.strip() for value in self.values):
            raise ValueError("coverage values must not be blank")
        return self


class DatasetSpec(SpecModel):
    """A raw source (one owner's extract) and the canonical tables it yields."""

    dataset: str = Field(pattern=_SNAKE)
    description: str = ""
    tables: tuple[TableSpec, ...] = Field(min_length=1)
    # Optional: who can be in the dataset, for linkage rates (``CoverageSpec``).
    coverage: CoverageSpec | None = None

    @model_validator(mode="after")
    def _unique_tables(self) -> DatasetSpec:
        names = [table.name for table in self.tables]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"tables declared twice: {twice}")
        return self

    def table(self, name: str) -> TableSpec:
        """The table called ``name`` (KeyError if absent)."""
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)


def dataset_spec_path(dataset: str) -> str:
    """Path of a shipped dataset spec, e.g. ``dataset_spec_path("nrm")``."""
    return str(spec_path("datasets", f"{dataset}.yaml"))


def load_dataset_spec(path: str | os.PathLike[str]) -> DatasetSpec:
    """Load and validate a dataset spec; ``SpecError`` lists every problem at once."""
    return load_spec(path, DatasetSpec)
