"""Refuse to package direct identifiers: judged on the values, not only the column names.

Before a package is built every column of every member is examined:

* by name: the canonical identifier columns (``record_id``, ``forename``, ``surname``,
  ``dob``, ``postcode``, ``nhs_number``, ``upn``, ``pnc_id``, ``aliases``, ``dob_alt``)
  and common synonyms (``name``, ``date_of_birth``, ``address`` ...);
* by value, on up to ``SAMPLE`` distinct values in the first ``SAMPLE_ROWS`` rows of
  each text or integer column (50,000 rows are ample evidence, and quick):
  UK postcodes, NHS numbers with a valid check digit, UPNs with a valid check letter,
  PNC ids with a valid check letter (any of these in ``SHARE`` of the values), and
  *person names*: short alphabetic values of one to three capitalised words of which at
  least ``SHARE`` are known forenames or surnames (Faker's name lists for the
  languages trelink's populations speak);
* dates of birth: a date column whose name says birth, or whose values lie 0-25 years
  before another date in the same row for nearly every row (ages of children);
* the lookup: a column whose values are the owner's record ids.

Messages name the file and column and the kind of identifier, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from importlib import import_module
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pseudonymise.errors import IdentifierLeakError
from pseudonymise.normalise import (
    normalise_nhs_numbers,
    normalise_pnc_id,
    normalise_postcodes,
    normalise_surname,
    normalise_upn,
)

__all__ = ["SAMPLE", "SHARE", "check_members", "identifier_kind"]

SAMPLE = 5_000
SAMPLE_ROWS = 50_000
SHARE = 0.3
_AGE_ROWS = 0.95
_NAMED = re.compile(
    r"^(record_id|forename|surname|dob|postcode|nhs_number|upn|pnc_id|aliases|dob_alt"
    r"|(first|last|given|family|full|middle|sur|fore)_?names?|name|alias(es)?"
    r"|(date_of_)?birth(_?date)?|birthday|address(_line_?\d)?|phone|telephone|email)$"
)
_NAME_WORD = r"[^\W\d_](?:[^\W\d_]|['\-./]){0,30}"
_NAME_WORDS = re.compile(rf"^{_NAME_WORD}(?: {_NAME_WORD}){{0,2}}$")
# Names are many and varied; a category (a site, a town) repeats over many rows.
_NAME_MIN_DISTINCT_SHARE = 0.15
_LEXICON_LOCALES = (
    "en_GB",
    "en_US",
    "en_IE",
    "en_IN",
    "en_NG",
    "en_PK",
    "fr_FR",
    "es_ES",
    "it_IT",
    "ro_RO",
    "pl_PL",
    "tr_TR",
    "vi_VN",
    "cs_CZ",
    "hu_HU",
)  # fmt: skip  (Latin-script name lists; others transliterate poorly)
_LEXICON_ATTRIBUTES = ("first_names", "first_names_male", "first_names_female", "last_names")


def _lexicon() -> frozenset[str]:
    words: set[str] = set()
    for locale in _LEXICON_LOCALES:
        provider = import_module(f"faker.providers.person.{locale}").Provider
        for attribute in _LEXICON_ATTRIBUTES:
            values: Iterable[object] = getattr(provider, attribute, ())
            words.update(filter(None, map(normalise_surname, map(str, values))))
    return frozenset(words)


def _share(flags: Iterable[bool], total: int) -> float:
    return sum(flags) / total if total else 0.0


def _looks_like_names(values: Sequence[str], rows: int, lexicon: frozenset[str]) -> bool:
    shaped = [value for value in values if _NAME_WORDS.match(value.strip())]
    if len(values) < 5 or len(shaped) < 0.8 * len(values):
        return False
    if len(values) < 50 and len(values) < _NAME_MIN_DISTINCT_SHARE * rows:
        return False
    known = (
        any(normalise_surname(word) in lexicon for word in re.split(r"[ \-]", value.strip()))
        for value in shaped
    )
    return _share(known, len(values)) >= SHARE


def identifier_kind(
    values: Sequence[str], *, rows: int | None = None, lexicon: frozenset[str]
) -> str | None:
    """Which direct identifier ``values`` hold, if any.

    ``values`` are the distinct non-null values of a column of ``rows`` non-null rows.
    """
    if not values:
        return None
    found: list[tuple[str, list[bool]]] = [
        ("postcodes", [district is not None for district in normalise_postcodes(values)[2]]),
        ("NHS numbers", [number is not None for number in normalise_nhs_numbers(values)]),
        ("unique pupil numbers", [normalise_upn(value) is not None for value in values]),
        ("PNC ids", [normalise_pnc_id(value) is not None for value in values]),
    ]
    for kind, flags in found:
        if _share(flags, len(values)) >= SHARE:
            return kind
    rows_seen = rows if rows is not None else len(values)
    return "person names" if _looks_like_names(values, rows_seen, lexicon) else None


def _distinct_text(column: pa.ChunkedArray) -> tuple[list[str], int] | None:
    kind = column.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        column = pc.list_flatten(column)
        kind = column.type
    if pa.types.is_struct(kind):
        return None
    if not (
        pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)
    ):
        return None
    present = column.drop_null()
    if pa.types.is_integer(kind):
        present = pc.cast(present, pa.string())
    values: list[str] = pc.unique(present).slice(0, SAMPLE).to_pylist()
    return values, len(present)


def _date_columns(table: pa.Table) -> dict[str, pa.ChunkedArray]:
    return {
        name: pc.cast(table.column(name), pa.date32())
        for name in table.column_names
        if pa.types.is_date(table.schema.field(name).type)
        or pa.types.is_timestamp(table.schema.field(name).type)
    }


def _birth_dates(table: pa.Table) -> list[str]:
    """Date columns that sit 0-25 years before another date column in nearly every row."""
    dates = {
        name: column.to_numpy(zero_copy_only=False).astype("datetime64[D]").astype(np.float64)
        for name, column in _date_columns(table).items()
    }
    found: list[str] = []
    for name, values in dates.items():
        for other, other_values in dates.items():
            if other == name:
                continue
            gap = (other_values - values) / 365.25
            both = ~np.isnan(gap)
            if both.sum() < 5:
                continue
            ages = gap[both]
            if np.mean((ages >= 0) & (ages <= 25)) >= _AGE_ROWS and np.median(ages) >= 5:
                found.append(name)
                break
    return found


def _head(member: Path) -> pa.Table:
    """The first ``SAMPLE_ROWS`` rows: every check works on a sample of the rows."""
    parquet = pq.ParquetFile(member)
    batch = next(parquet.iter_batches(batch_size=SAMPLE_ROWS), None)
    return parquet.schema_arrow.empty_table() if batch is None else pa.Table.from_batches([batch])


def _record_ids(lookup: Path | None) -> set[str]:
    if lookup is None or not lookup.exists():
        return set()
    ids: list[str] = pq.read_table(lookup, columns=["record_id"]).column(0).to_pylist()
    return set(ids)


def _is_token(table: pa.Table, name: str, token_columns: frozenset[str]) -> bool:
    kind = table.schema.field(name).type
    if pa.types.is_list(kind):
        kind = kind.value_type
    return name in token_columns and kind == pa.int64()


def check_members(
    members: Sequence[Path],
    *,
    lookup: Path | None = None,
    token_columns: Iterable[str] = (),
) -> None:
    """Raise ``IdentifierLeakError`` listing every member column that holds identifiers.

    ``token_columns`` (int64 tokens named after what they encode, such as ``dob``) are
    exempt from the name check only; their values are still examined.
    """
    tokens = frozenset(token_columns)
    lexicon = _lexicon()
    record_ids = _record_ids(lookup)
    problems: list[str] = []
    for member in members:
        table = _head(member)
        if {"record_id", "record_pid"} <= set(table.column_names) and table.num_columns == 2:
            problems.append(f"{member.name}: is the owner's lookup")
            continue
        for name in table.column_names:
            if name == "record_pid":
                continue
            if _NAMED.match(name) and not _is_token(table, name, tokens):
                problems.append(f"{member.name}: column {name!r} is named as an identifier")
                continue
            found = _distinct_text(table.column(name))
            if found is None:
                continue
            values, rows = found
            if record_ids and _share((value in record_ids for value in values), len(values)) > 0.01:
                problems.append(f"{member.name}: column {name!r} holds the owner's record ids")
                continue
            kind = identifier_kind(values, rows=rows, lexicon=lexicon)
            if kind is not None:
                problems.append(
                    f"{member.name}: column {name!r} holds values that look like {kind}"
                )
        problems.extend(
            f"{member.name}: column {name!r} holds values that look like dates of birth"
            for name in _birth_dates(table)
        )
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise IdentifierLeakError(
            f"refusing to package direct identifiers:\n{listing}\n"
            "Drop these columns (`drop:` in the pseudonymise spec) and pseudonymise again."
        )
