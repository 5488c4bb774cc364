"""The match-key spec: what owners tokenise and how the TRE compares the tokens.

One YAML file (``specs/pseudonymise/match_keys.yaml``) is read by both sides of the
boundary: ``pseudonymise`` derives and tokenises every entry of ``match_keys``;
``linkage`` turns every entry of ``comparisons`` into one Splink comparison whose
levels run from strongest to weakest. Cross-references are checked on load.

A comparison level is a list of *terms*, combined with ``all`` (AND) or ``any`` (OR):

``{equal: k}``          left and right tokens of key ``k`` are equal
``{cross: [a, b]}``     ``a`` on one side equals ``b`` on the other (either direction);
                        ``a`` and ``b`` must share a token domain
``{overlap: k}``        list key ``k`` shares at least one token between the sides
``{member: [a, b]}``    scalar ``a`` on one side is in list ``b`` on the other (either
                        direction); same domain
``{similar: k, at_least: x}``  list key ``k``: the Jaccard similarity of the two sides'
                        token sets is at least ``x`` (words of an address)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from trelink.specs.identifier_types import CANONICAL_COLUMNS
from trelink.specs.loader import FrozenModel, SpecModel, load_spec, spec_path

__all__ = [
    "DEFAULT_MATCH_KEY_SPEC",
    "BlockingRuleSpec",
    "ComparisonLevelSpec",
    "ComparisonSpec",
    "CrossTerm",
    "Derivation",
    "EqualTerm",
    "MatchKey",
    "MatchKeySpec",
    "MemberTerm",
    "OverlapTerm",
    "SimilarTerm",
    "Term",
    "load_match_key_spec",
    "source_columns",
    "term_keys",
]

DEFAULT_MATCH_KEY_SPEC = spec_path("pseudonymise", "match_keys.yaml")

Derivation = Literal[
    "forename",
    "surname",
    "name_set",
    "forename_metaphone",
    "surname_metaphone",
    "forename_initial",
    "forename_prefix3",
    "forename_prefix4",
    "forename_tail",
    "surname_prefix4",
    "surname_tail",
    "forename_deletions",
    "surname_deletions",
    "alias_forename_surname",
    "forename_formal_surname",
    "dob",
    "dob_day_month_swapped",
    "dob_alternatives",
    "dob_year",
    "dob_month",
    "dob_day",
    "postcode",
    "postcode_sector",
    "postcode_district",
    "nhs_number",
    "upn",
    "pnc_id",
    "middle_name",
    "address",
    "address_words",
    "locality",
    "locality_deletions",
    "postal_code",
    "postal_code_deletions",
    "email",
    "email_local",
    "email_deletions",
    "phone",
    "phone_deletions",
    "identifier",
    "identifier_sorted",
    "identifier_deletions",
]

# Parts that yield one value per record; the others yield a list of values.
LIST_DERIVATIONS: frozenset[str] = frozenset(
    {
        "forename_deletions",
        "surname_deletions",
        "alias_forename_surname",
        "forename_formal_surname",
        "dob_alternatives",
        "address_words",
        "locality_deletions",
        "postal_code_deletions",
        "email_deletions",
        "phone_deletions",
        "identifier_deletions",
    }
)
# Parts with few distinct values: never allowed to make up a token on their own.
LOW_CARDINALITY_DERIVATIONS: frozenset[str] = frozenset(
    {
        "forename_metaphone",
        "surname_metaphone",
        "forename_initial",
        "forename_prefix3",
        "dob_year",
        "dob_month",
        "dob_day",
    }
)


class MatchKey(FrozenModel):
    """One token column of ``identity.parquet``."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    domain: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    derive: tuple[Derivation, ...] = Field(min_length=1)
    list: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> MatchKey:
        parts = set(self.derive)
        if len(self.derive) == 1 and self.derive[0] in LOW_CARDINALITY_DERIVATIONS:
            raise ValueError(
                f"match key {self.name!r} is a low-cardinality value on its own "
                f"({self.derive[0]}); combine it with another part"
            )
        makes_list = bool(parts & LIST_DERIVATIONS)
        if makes_list and len(self.derive) != 1:
            raise ValueError(f"match key {self.name!r}: a list part must stand alone")
        if makes_list != self.list:
            raise ValueError(
                f"match key {self.name!r}: set `list: {str(makes_list).lower()}` "
                f"for the parts {list(self.derive)}"
            )
        return self


class EqualTerm(FrozenModel):
    equal: str


class CrossTerm(FrozenModel):
    cross: tuple[str, str]


class OverlapTerm(FrozenModel):
    overlap: str


class MemberTerm(FrozenModel):
    member: tuple[str, str]


class SimilarTerm(FrozenModel):
    """List key ``similar`` shares at least ``at_least`` of the two sides' distinct
    tokens (Jaccard similarity of the token sets)."""

    similar: str
    at_least: float = Field(gt=0, le=1)


Term = EqualTerm | CrossTerm | OverlapTerm | MemberTerm | SimilarTerm


class ComparisonLevelSpec(FrozenModel):
    """One level of a comparison: its terms combined by ``all`` or ``any``."""

    label: str
    all: tuple[Term, ...] = ()
    any: tuple[Term, ...] = ()
    tf: str | None = None  # term-frequency adjustment on this scalar key

    @model_validator(mode="after")
    def _one_combiner(self) -> ComparisonLevelSpec:
        if bool(self.all) == bool(self.any):
            raise ValueError(f"level {self.label!r}: give exactly one of `all` or `any`")
        return self

    @property
    def terms(self) -> tuple[Term, ...]:
        return self.all or self.any


class ComparisonSpec(FrozenModel):
    """One Splink comparison: null when every key in ``null_when_missing`` is missing."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    null_when_missing: tuple[str, ...] = Field(min_length=1)
    levels: tuple[ComparisonLevelSpec, ...] = Field(min_length=1)


class BlockingRuleSpec(FrozenModel):
    """Candidate pairs are those on which every term holds.

    ``max_block_size`` skips the blocks (records sharing the rule's values, over all
    datasets) larger than that: a common value pairs mostly different people, and its
    pairs grow with the square of the data, while a rare one is worth comparing even
    with nothing else in common. A capped rule takes at most one ``cross`` term (its
    blocks count the records holding a value on either side of it).
    """

    all: tuple[EqualTerm | CrossTerm, ...] = Field(min_length=1)
    max_block_size: int | None = Field(default=None, ge=2)

    @model_validator(mode="after")
    def _capped_rules_cross_at_most_once(self) -> BlockingRuleSpec:
        if (
            self.max_block_size is not None
            and sum(isinstance(term, CrossTerm) for term in self.all) > 1
        ):
            raise ValueError("max_block_size applies to rules with at most one `cross` term")
        return self

    @property
    def keys(self) -> tuple[str, ...]:
        keys: list[str] = []
        for term in self.all:
            keys.extend((term.equal,) if isinstance(term, EqualTerm) else term.cross)
        return tuple(keys)


def source_columns(match_key: MatchKey) -> set[str]:
    """The canonical identifier columns a match key is derived from.

    Derivations are named after their column (``postcode_sector``, ``address_words``,
    ``forename_deletions``); ``name_set`` and aliases read both names.
    """
    columns: set[str] = set()
    for derivation in match_key.derive:
        if derivation in ("name_set", "alias_forename_surname", "forename_formal_surname"):
            columns |= {"forename", "surname"}
            continue
        prefixes = [name for name in CANONICAL_COLUMNS if derivation.startswith(name)]
        if prefixes:
            columns.add(max(prefixes, key=len))
    return columns


def term_keys(term: Term) -> tuple[str, ...]:
    """The match keys (token columns) a term reads."""
    if isinstance(term, EqualTerm):
        return (term.equal,)
    if isinstance(term, OverlapTerm):
        return (term.overlap,)
    if isinstance(term, CrossTerm):
        return term.cross
    if isinstance(term, SimilarTerm):
        return (term.similar,)
    return term.member


class MatchKeySpec(SpecModel):
    """The whole match-key file."""

    token_bits: Literal[64] = 64
    match_keys: tuple[MatchKey, ...] = Field(min_length=1)
    comparisons: tuple[ComparisonSpec, ...] = ()
    # How the TRE finds candidate pairs and trains m, in terms of these match keys.
    blocking: tuple[BlockingRuleSpec, ...] = ()
    em_blocks: tuple[tuple[str, ...], ...] = ()

    def key(self, name: str) -> MatchKey:
        """The match key called ``name`` (``KeyError`` if there is none)."""
        for match_key in self.match_keys:
            if match_key.name == name:
                return match_key
        raise KeyError(name)

    @property
    def token_columns(self) -> tuple[str, ...]:
        return tuple(match_key.name for match_key in self.match_keys)

    @model_validator(mode="after")
    def _cross_references(self) -> MatchKeySpec:
        problems: list[str] = []
        names = [match_key.name for match_key in self.match_keys]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            problems.append(f"match_keys: duplicate names {duplicated}")
        by_name = {match_key.name: match_key for match_key in self.match_keys}
        for comparison in self.comparisons:
            where = f"comparisons.{comparison.name}"
            for name in comparison.null_when_missing:
                if name not in by_name:
                    problems.append(f"{where}.null_when_missing: unknown match key {name!r}")
            for level in comparison.levels:
                here = f"{where}.levels[{level.label}]"
                problems.extend(_level_problems(level, by_name, here))
        for index, rule in enumerate(self.blocking):
            problems.extend(_block_problems(rule.keys, by_name, f"blocking[{index}]"))
        for index, block in enumerate(self.em_blocks):
            problems.extend(_block_problems(block, by_name, f"em_blocks[{index}]"))
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _block_problems(keys: tuple[str, ...], by_name: dict[str, MatchKey], here: str) -> list[str]:
    unknown = [name for name in keys if name not in by_name]
    if unknown:
        return [f"{here}: unknown match key(s) {unknown}"]
    listed = [name for name in keys if by_name[name].list]
    if listed:
        return [f"{here}: blocking needs scalar keys, {listed} are lists"]
    return []


def _level_problems(
    level: ComparisonLevelSpec, by_name: dict[str, MatchKey], here: str
) -> list[str]:
    problems: list[str] = []
    for term in level.terms:
        keys = term_keys(term)
        unknown = [name for name in keys if name not in by_name]
        if unknown:
            problems.append(f"{here}: unknown match key(s) {unknown}")
            continue
        found = [by_name[name] for name in keys]
        if isinstance(term, EqualTerm) and found[0].list:
            problems.append(f"{here}: `equal` needs a scalar key, {term.equal!r} is a list")
        if isinstance(term, OverlapTerm) and not found[0].list:
            problems.append(f"{here}: `overlap` needs a list key, {term.overlap!r} is scalar")
        if isinstance(term, SimilarTerm) and not found[0].list:
            problems.append(f"{here}: `similar` needs a list key, {term.similar!r} is scalar")
        if isinstance(term, CrossTerm | MemberTerm) and found[0].domain != found[1].domain:
            problems.append(f"{here}: {list(keys)} are in different token domains")
        if isinstance(term, MemberTerm) and (found[0].list or not found[1].list):
            problems.append(f"{here}: `member` needs [scalar key, list key]")
    if level.tf is not None and (level.tf not in by_name or by_name[level.tf].list):
        problems.append(f"{here}.tf: {level.tf!r} must be a scalar match key")
    return problems


def load_match_key_spec(path: str | os.PathLike[str] | None = None) -> MatchKeySpec:
    """Load the match-key spec (the shipped default when ``path`` is None)."""
    return load_spec(Path(path) if path is not None else DEFAULT_MATCH_KEY_SPEC, MatchKeySpec)
