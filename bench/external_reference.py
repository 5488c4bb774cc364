"""The cleartext reference: Splink 5 at Splink's own example settings, on the same fields.

Two recipes, each a fact sheet of the settings in Splink's documentation (written here
from those facts, not copied):

* ``febrl``: the FEBRL examples. Link (febrl4): Jaro-Winkler name comparisons with term
  frequencies, date of birth, Damerau-Levenshtein on soc_sec_id and postcode, street
  number exact; blocking on both names, swapped names, date of birth, soc_sec_id,
  state + address_1 (address_1 alone here: no field group carries state), street
  number + address_1, postcode; prior from soc_sec_id and
  names + date of birth at recall 0.8; u by random sampling; EM blocks date of birth
  and postcode, without term frequencies. Dedupe (febrl3): the same comparisons
  without name term frequencies, soc_sec_id at distance 2, postcode exact; blocking on
  soc_sec_id, each name, date of birth, postcode; prior also from swapped names at
  recall 0.9; EM blocks date of birth and postcode. Generator extracts use this recipe
  too, their columns renamed by identifier type (NHS number as soc_sec_id).
* ``fake_1000``: Splink's evaluation example on fake_1000's labels (the settings of its
  getting-started tutorial, with one blocking rule per field): forename-surname
  comparison (Jaro-Winkler, swaps), date of birth, city exact with term frequencies,
  email; blocking on first name, surname, dob and email, each alone; prior from first
  name or surname + dob within one edit, first name + surname within two edits, and
  email, at recall 0.7; u from 1e6 pairs; EM blocks dob, email, first name + surname,
  without term frequencies.

Restricted to the fields a run gives both linkers: a comparison or training block that
needs a missing column is left out; a blocking rule keeps the columns present (first
name + city without city blocks on first name). When fewer than two EM blocks
remain, both names and date of birth (the tutorial's EM blocks) fill in, so every
comparison still gets an m estimate.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import splink.comparison_library as cl
from external_data import FieldDeclarations, LinkType
from splink import block_on

__all__ = ["ReferenceModel", "reference_columns", "reference_model"]

# Generator (and any other family's) columns, by identifier type, as the FEBRL recipe
# names them.
_FEBRL_NAMES = {
    "given_name": "given_name",
    "family_name": "surname",
    "date_of_birth": "date_of_birth",
    "postcode": "postcode",
    "identifier": "soc_sec_id",
}


# A comparison, blocking rule or training block, with the columns it needs.
_Item = tuple[tuple[str, ...], Any]


@dataclass(frozen=True)
class ReferenceModel:
    """Settings and a training plan, restricted to the columns present."""

    comparisons: list[Any]
    blocking_rules: list[Any]
    prior_rules: list[Any]
    prior_recall: float
    u_max_pairs: float
    u_seed: int
    em_blocks: list[Any]
    em_without_term_frequencies: bool
    notes: tuple[str, ...]


def reference_columns(fields: FieldDeclarations, columns: Collection[str]) -> dict[str, str]:
    """Column in the data -> column name the recipe uses (FEBRL names for the generator)."""
    if fields.family != "generator":
        return {column: column for column in columns}
    return {column: _FEBRL_NAMES[fields.identifier_type(column)] for column in columns}


def _keep(items: list[_Item], present: Collection[str]) -> list[Any]:
    return [item for needs, item in items if all(column in present for column in needs)]


def _blocking(items: list[_Item], present: Collection[str]) -> list[Any]:
    """Blocking rules on the columns present: a rule on several columns keeps those present.

    (first_name + city without city blocks on first_name.) A SQL rule needs all its
    columns; rules that become the same are kept once.
    """
    rules: list[Any] = []
    seen: set[tuple[str, ...]] = set()
    for needs, rule in items:
        if isinstance(rule, str):
            if all(column in present for column in needs):
                rules.append(rule)
            continue
        kept = tuple(column for column in needs if column in present)
        if kept and kept not in seen:
            seen.add(kept)
            rules.append(block_on(*kept))
    return rules


def _febrl(present: Collection[str], link_type: LinkType, date_format: str) -> ReferenceModel:
    link = link_type == "link_only"

    def name(column: str) -> Any:
        comparison = cl.NameComparison(column)
        return comparison.configure(term_frequency_adjustments=True) if link else comparison

    comparisons: list[_Item] = [
        (("given_name",), name("given_name")),
        (("surname",), name("surname")),
        (
            ("date_of_birth",),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format=date_format
            ),
        ),
        (("soc_sec_id",), cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2] if link else [2])),
        (
            ("street_number",),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        ),
        (
            ("postcode",),
            (
                cl.DamerauLevenshteinAtThresholds("postcode", [1, 2])
                if link
                else cl.ExactMatch("postcode")
            ).configure(term_frequency_adjustments=True),
        ),
    ]
    swapped = "l.given_name = r.surname AND l.surname = r.given_name"
    if link:
        blocking: list[_Item] = [
            (("given_name", "surname"), block_on("given_name", "surname")),
            (("given_name", "surname"), swapped),
            (("date_of_birth",), block_on("date_of_birth")),
            (("soc_sec_id",), block_on("soc_sec_id")),
            (("state", "address_1"), block_on("state", "address_1")),
            (("street_number", "address_1"), block_on("street_number", "address_1")),
            (("postcode",), block_on("postcode")),
        ]
    else:
        blocking = [
            (("soc_sec_id",), block_on("soc_sec_id")),
            (("given_name",), block_on("given_name")),
            (("surname",), block_on("surname")),
            (("date_of_birth",), block_on("date_of_birth")),
            (("postcode",), block_on("postcode")),
        ]
    prior: list[_Item] = [
        (("soc_sec_id",), block_on("soc_sec_id")),
        (
            ("given_name", "surname", "date_of_birth"),
            block_on("given_name", "surname", "date_of_birth"),
        ),
    ]
    if not link:
        prior.append(
            (
                ("given_name", "surname", "date_of_birth"),
                swapped + " AND l.date_of_birth = r.date_of_birth",
            )
        )
    em: list[_Item] = [
        (("date_of_birth",), block_on("date_of_birth")),
        (("postcode",), block_on("postcode")),
    ]
    fallback: list[_Item] = [
        (("date_of_birth",), block_on("date_of_birth")),
        (("given_name", "surname"), block_on("given_name", "surname")),
    ]
    return _restricted(
        present,
        comparisons=comparisons,
        blocking=blocking,
        prior=prior,
        em=em,
        fallback=fallback,
        prior_recall=0.8 if link else 0.9,
        u_max_pairs=1e6,
        u_seed=2,
        em_without_term_frequencies=link,
    )


def _fake_1000(present: Collection[str]) -> ReferenceModel:
    near_dob = "levenshtein(r.dob::VARCHAR, l.dob::VARCHAR) <= 1"
    comparisons: list[_Item] = [
        (("first_name", "surname"), cl.ForenameSurnameComparison("first_name", "surname")),
        (
            ("dob",),
            cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y-%m-%d"),
        ),
        (("city",), cl.ExactMatch("city").configure(term_frequency_adjustments=True)),
        (("email",), cl.EmailComparison("email")),
    ]
    blocking: list[_Item] = [
        (("first_name",), block_on("first_name")),
        (("surname",), block_on("surname")),
        (("dob",), block_on("dob")),
        (("email",), block_on("email")),
    ]
    prior: list[_Item] = [
        (("first_name", "dob"), f"l.first_name = r.first_name AND {near_dob}"),
        (("surname", "dob"), f"l.surname = r.surname AND {near_dob}"),
        (
            ("first_name", "surname"),
            "l.first_name = r.first_name AND levenshtein(r.surname, l.surname) <= 2",
        ),
        (("email",), "l.email = r.email"),
    ]
    em: list[_Item] = [
        (("dob",), block_on("dob")),
        (("email",), block_on("email")),
        (("first_name", "surname"), block_on("first_name", "surname")),
    ]
    return _restricted(
        present,
        comparisons=comparisons,
        blocking=blocking,
        prior=prior,
        em=em,
        fallback=em,
        prior_recall=0.7,
        u_max_pairs=1e6,
        u_seed=5,
        em_without_term_frequencies=True,
    )


def _restricted(
    present: Collection[str],
    *,
    comparisons: list[_Item],
    blocking: list[_Item],
    prior: list[_Item],
    em: list[_Item],
    fallback: list[_Item],
    prior_recall: float,
    u_max_pairs: float,
    u_seed: int,
    em_without_term_frequencies: bool,
) -> ReferenceModel:
    notes: list[str] = []
    em_kept = [(needs, item) for needs, item in em if all(c in present for c in needs)]
    if len(em_kept) < 2:
        for needs, item in fallback:
            if all(c in present for c in needs) and needs not in [n for n, _ in em_kept]:
                em_kept.append((needs, item))
                notes.append(f"EM block on {' + '.join(needs)} added (example's blocks missing)")
            if len(em_kept) == 2:
                break
    return ReferenceModel(
        comparisons=_keep(comparisons, present),
        blocking_rules=_blocking(blocking, present),
        prior_rules=_keep(prior, present),
        prior_recall=prior_recall,
        u_max_pairs=u_max_pairs,
        u_seed=u_seed,
        em_blocks=[item for _needs, item in em_kept],
        em_without_term_frequencies=em_without_term_frequencies,
        notes=tuple(notes),
    )


def reference_model(
    fields: FieldDeclarations, columns: Collection[str], link_type: LinkType
) -> ReferenceModel:
    """The example settings for ``fields.family``, on ``columns`` (the recipe's names)."""
    if fields.family == "fake_1000":
        return _fake_1000(columns)
    dob = next(
        (c for c in fields.identifiers if fields.identifier_type(c) == "date_of_birth"), None
    )
    date_format = fields.option(dob, "format", "%Y-%m-%d") if dob else "%Y-%m-%d"
    return _febrl(columns, link_type, date_format)
