"""Refuse to package direct identifiers, judged on the values wherever they hide.

Before a package is built, every row of every member is read (in batches of
``BATCH_ROWS``, so memory does not grow with the rows read, only with the distinct values
kept) and every column of any type is examined: text, integers, integral floats, binary,
dates and timestamps, and the fields of structs and the elements of lists and maps. Each
value is examined whole and for what it holds inside free text:

* **by name**: columns named as identifiers (``record_id``, ``forename``, ``dob``,
  ``address`` ...), unless they are the int64 tokens the manifest lists;
* **postcodes, NHS numbers, unique pupil numbers, PNC ids**: whole values (``SHARE`` of
  the distinct values) or, with a valid check digit or letter where there is one,
  found inside text in ``MIN_HITS`` distinct values; **e-mail addresses and UK mobile
  numbers** in ``MIN_HITS`` distinct values, whole or inside text;
* **person names**: whole values of one to three words of which many are known forenames
  or surnames (Faker's name lists), or forename + surname pairs and "name is X" phrases
  inside text;
* **dates of birth**: dates in any common format (ISO, D/M/Y, YYYYMMDD, DDMMYYYY,
  "24 May 2000", "May 24, 2000"), typed or inside text or integers, that lie 0-110 years
  (median at least 5) before another date of the same record in nearly every row, in
  this member or another one joined on ``record_pid``; or any date written after
  "born", "birth" or "DOB";
* **record ids**: with the owner's lookup beside the extract, any value equal to a
  record id or holding one inside text, and any value that is a near-copy of its own
  row's record id (a prefix or suffix added, punctuation changed, digits only);
* **re-identification keys**: whatever the lookup's whereabouts, a column of id-like
  values (up to three words, with digits) one-to-one with ``record_pid`` is a key back
  to the owner's records; a member made only of such a column and the pids is the
  lookup under another name;
* **pids**: every member must carry ``record_pid`` holding pseudonymous ids (32 hex
  digits), so a record id cannot ship as the pid itself.

Messages name the member, the column and the kind of identifier, never a value.
``docs/threat-model.md`` says what this guarantees and what it does not.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
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
from trelink.specs.identifier_types import IDENTITY_ROLES

__all__ = ["BATCH_ROWS", "MIN_HITS", "SHARE", "check_members"]

BATCH_ROWS = 262_144
SHARE = 0.3
MIN_HITS = 3
_NAME_PAIRS = 5
_DIVERSE_NAMES = 15
_DIVERSE_SHARE = 0.05
_AGE_ROWS = 0.95
_MAX_AGE_YEARS = 110
_ONE_TO_ONE = 0.95
_MIN_KEY_VALUES = 10
_MIN_DISTRICTS = 20
_DIGIT_COPY_SHARE = 0.01
_INTEGER_LIMIT = 10**12  # tokens are 64-bit HMACs; identifiers hidden as numbers are shorter
# The identity table's columns (the registry's, but sex: a released attribute) and the
# usual spellings of names, dates of birth and contact details.
_NAMED = re.compile(
    "^("
    + "|".join(role for role in IDENTITY_ROLES if role != "sex")
    + r"|(first|last|given|family|full|middle|sur|fore)_?names?|name|alias(es)?"
    r"|(date_of_)?birth(_?date)?|birthday|address(_line_?\d)?|phone|telephone|email)$"
)
_PID = r"^[0-9a-f]{32}$"
_ID_LIKE = r"^[A-Za-z0-9][A-Za-z0-9_\-/.:#]*(?: [A-Za-z0-9_\-/.:#]+){0,2}$"  # up to 3 words
_NAME_WORD = r"\pL[\pL'\-./]*"  # no counted repetition: RE2 would compile it slowly
_NAME_VALUE = rf"^\s*{_NAME_WORD}(?:,? {_NAME_WORD}){{0,2}}\s*$"  # "HAILE, Amira" too
_NAME_LENGTH = 80
_NOT_ASCII_LETTER = re.compile(r"[^A-Z]+")
_WORD = re.compile(r"[^\W\d_][^\W\d_'\-]*")
_CONTEXT = r"(?:name is|named|called|known as|aka|alias|forename|surname)"
_CONTEXT_NAME = re.compile(
    rf"(?i:\b{_CONTEXT})\W{{1,3}}([^\W\d_][^\W\d_'\-]+)(?:\s+([^\W\d_][^\W\d_'\-]+))?"
)
_TITLE_PAIR = r"\p{Lu}\p{Ll}+\s+\p{Lu}\p{Ll}+"
_CONTEXT_WORDS = rf"(?i)\b{_CONTEXT}\b"
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = rf"(?P<mon>{'|'.join(_MONTHS)})[a-z]*\.?"
_YEAR = r"(?P<y>(?:19|20)\d\d)"
_NOT_DIGIT_BEFORE, _NOT_DIGIT_AFTER = r"(?:^|\D)", r"(?:$|\D)"
_DATE_PATTERNS = (
    rf"{_NOT_DIGIT_BEFORE}{_YEAR}[-/.](?P<m>\d{{1,2}})[-/.](?P<d>\d{{1,2}}){_NOT_DIGIT_AFTER}",
    rf"{_NOT_DIGIT_BEFORE}(?P<d>\d{{1,2}})[-/. ](?P<m>\d{{1,2}})[-/. ]{_YEAR}{_NOT_DIGIT_AFTER}",
    rf"{_NOT_DIGIT_BEFORE}{_YEAR}(?P<m>[01]\d)(?P<d>[0-3]\d){_NOT_DIGIT_AFTER}",
    rf"{_NOT_DIGIT_BEFORE}(?P<d>[0-3]\d)(?P<m>[01]\d){_YEAR}{_NOT_DIGIT_AFTER}",
    rf"(?i){_NOT_DIGIT_BEFORE}(?P<d>\d{{1,2}})(?:st|nd|rd|th)?[\s\-/.,]*(?:of\s+)?{_MONTH}"
    rf"[\s\-/.,]*{_YEAR}{_NOT_DIGIT_AFTER}",
    rf"(?i)\b{_MONTH}[\s\-/.]*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?[\s\-/.]*{_YEAR}{_NOT_DIGIT_AFTER}",
)
_BIRTH_WORDS = r"(?i)(?:\bborn\b|\bbirth|\bdob\b|\bd\.o\.b\b)"
_POSTCODE_IN_TEXT = (
    r"(?i)(?:^|[^a-z0-9])(?P<c>[a-z]{1,2}[0-9][a-z0-9]?\s?[0-9][a-z]{2})(?:$|[^a-z0-9])"
)
_EMAIL_IN_TEXT = r"(?i)(?P<c>[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,})"
# Numbers inside text are bounded by anything but a letter or digit: hex digests (pids,
# owner-keyed HMACs) hold long runs of digits between letters.
_MOBILE_IN_TEXT = (
    r"(?i)(?:^|[^a-z0-9+])(?P<c>(?:\+44\s?|0044\s?|0)7\d{3}[\s\-]?\d{3}[\s\-]?\d{3})"
    r"(?:$|[^a-z0-9])"
)
_ANY_CODE_IN_TEXT = (
    r"(?i)[a-z][0-9][a-z0-9]?\s?[0-9][a-z]{2}|[0-9]{3}[ \-]?[0-9]{3}[ \-]?[0-9]{4}"
    r"|[a-z][0-9]{11}|[0-9]/[0-9]{1,7}[a-z]|@|7[0-9]{3}"
)
_WHOLE_POSTCODE = r"(?i)^\s*[a-z]{1,2}[0-9][a-z0-9]?(?:[\s\-]*[0-9][a-z]{2})?\s*$"
_NHS_IN_TEXT = r"(?i)(?:^|[^a-z0-9])(?P<c>\d{3}[ \-]?\d{3}[ \-]?\d{4})(?:$|[^a-z0-9])"
_UPN_IN_TEXT = r"(?i)(?:^|[^a-z0-9])(?P<c>[a-z]\d{11}[a-z0-9])(?:$|[^a-z0-9])"
_PNC_IN_TEXT = r"(?i)(?:^|[^a-z0-9/])(?P<c>\d{2,4}/\d{1,7}[a-z])(?:$|[^a-z0-9])"
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
_FORENAME_ATTRIBUTES = ("first_names", "first_names_male", "first_names_female")
_SURNAME_ATTRIBUTES = ("last_names",)

Days = npt.NDArray[np.float64]


# --- what is known before scanning ------------------------------------------------------


@dataclass(frozen=True)
class _Lexicon:
    """Known forenames and surnames, normalised as ``_normalised_words`` does."""

    forenames: frozenset[str]
    names: frozenset[str]  # forenames and surnames
    array: pa.Array  # ``names`` for Arrow look-ups


def _lexicon() -> _Lexicon:
    found: dict[str, list[str]] = {"fore": [], "sur": []}
    for locale in _LEXICON_LOCALES:
        provider = import_module(f"faker.providers.person.{locale}").Provider
        for kind, attributes in (("fore", _FORENAME_ATTRIBUTES), ("sur", _SURNAME_ATTRIBUTES)):
            for attribute in attributes:
                values: Iterable[object] = getattr(provider, attribute, ())
                found[kind].extend(map(str, values))
    forenames = _normalised_words(pc.unique(pa.array(found["fore"], pa.string())))
    surnames = _normalised_words(pc.unique(pa.array(found["sur"], pa.string())))
    names = pc.unique(pa.concat_arrays([forenames, surnames]))
    names = pc.filter(names, pc.not_equal(names, ""))
    return _Lexicon(frozenset(forenames.to_pylist()) - {""}, frozenset(names.to_pylist()), names)


def _pid_keys(pids: pa.Array) -> npt.NDArray[np.bytes_]:
    """Pids as fixed-width bytes, for sorting and binary search without Python objects:
    a view of Arrow's buffer when every pid is 32 characters (as ``record_pid`` is)."""
    pids = pc.cast(pids, pa.string())
    if isinstance(pids, pa.ChunkedArray):
        pids = pids.combine_chunks()
    if len(pids) and not pids.null_count and pc.all(pc.equal(pc.binary_length(pids), 32)).as_py():
        offsets = np.frombuffer(pids.buffers()[1], dtype=np.int32, count=len(pids) + 1,
                                offset=4 * pids.offset)  # fmt: skip
        return np.frombuffer(
            pids.buffers()[2], dtype="S32", count=len(pids), offset=int(offsets[0])
        )
    keys: npt.NDArray[np.bytes_] = np.asarray(
        pc.fill_null(pc.cast(pids, pa.binary()), b"").to_numpy(zero_copy_only=False),
        dtype="S32",
    )
    return keys


class _RecordIds:
    """The owner's record ids (from the lookup), by pid and in comparable forms; each
    form is computed when first needed, so a clean member costs only the read."""

    def __init__(self, ids: pa.Array, pids: pa.Array) -> None:
        self._ids, self._pids = ids, pids

    @classmethod
    def load(cls, lookup: Path | None) -> _RecordIds | None:
        if lookup is None or not lookup.exists():
            return None
        table = pq.read_table(lookup, columns=["record_id", "record_pid"])
        ids = pc.cast(table.column("record_id"), pa.string()).combine_chunks()
        return cls(ids, table.column("record_pid").combine_chunks())

    @functools.cached_property
    def _by_pid(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bytes_]]:
        keys = _pid_keys(self._pids)
        order = np.argsort(keys, kind="stable")
        return order, keys[order]

    def rows_of(self, pids: pa.Array) -> npt.NDArray[np.intp]:
        """The lookup row of each pid, or -1."""
        order, ordered = self._by_pid
        keys = _pid_keys(pids)
        if not len(ordered):
            return np.full(len(keys), -1, dtype=np.intp)
        found = np.minimum(np.searchsorted(ordered, keys), len(ordered) - 1)
        return np.where(ordered[found] == keys, order[found], -1)

    def record_id(self, row: int) -> str:
        value = self._ids[row].as_py()
        return "" if value is None else str(value)

    @functools.cached_property
    def last_digits(self) -> npt.NDArray[np.str_]:
        """Each id's last run of digits, without leading zeros ("" when it has none)."""
        runs = pc.struct_field(pc.extract_regex(self._ids, r"(?P<run>[0-9]+)[^0-9]*$"), "run")
        trimmed = pc.fill_null(pc.utf8_ltrim(runs, characters="0"), "")
        digits: npt.NDArray[np.str_] = np.asarray(
            trimmed.to_numpy(zero_copy_only=False), dtype=np.dtypes.StringDType()
        )
        return digits

    @functools.cached_property
    def letters(self) -> str | None:
        """A regex of the ids' leading letters, when they are few (say NRM, URN)."""
        found = pc.extract_regex(self._ids, r"^(?P<letters>[A-Za-z]+)")
        prefixes = pc.unique(pc.utf8_upper(pc.struct_field(found, "letters"))).drop_null()
        if not 0 < len(prefixes) <= 20:
            return None
        return "(?i)" + "|".join(
            "[^a-z0-9]*".join(re.escape(char) for char in prefix)
            for prefix in sorted(prefixes.to_pylist())
        )

    @functools.cached_property
    def distinctive(self) -> pa.Array:
        """Canonical ids with a letter and a digit, 5+ long."""
        return _distinctive(_canonical(self._ids))


def _distinctive(canonical: pa.Array) -> pa.Array:
    """Ids that cannot turn up by chance: a letter, a digit, five characters or more."""
    letters = pc.match_substring_regex(canonical, r"[A-Z]")
    digits = pc.match_substring_regex(canonical, r"[0-9]")
    long = pc.greater_equal(pc.utf8_length(canonical), 5)
    keep = pc.fill_null(pc.and_(pc.and_(letters, digits), long), False)
    return pc.unique(pc.filter(canonical, keep))


_ALPHANUMERIC = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NOT_ALPHANUMERIC = re.compile(r"[^A-Z0-9]+")
_NOT_DIGIT = re.compile(r"[^0-9]+")


def _canonical(text: pa.Array) -> pa.Array:
    """Upper case, letters A-Z and digits only (literal removals: RE2 replaces are slow)."""
    upper = pc.utf8_upper(text)
    characters = set("".join(pc.unique(upper).drop_null().to_pylist()))
    for character in sorted(characters - _ALPHANUMERIC):
        upper = pc.replace_substring(upper, character, "")
    return upper


def _near_copy(value: str, record_id: str) -> int:
    """How surely ``value`` is ``record_id``: 2 when the id (with a letter) is inside it
    once punctuation and case are gone; 1 when only digits agree (the same digits, four
    or more, or an all-digit id inside it), which a number can do by chance; else 0."""
    canonical_value = _NOT_ALPHANUMERIC.sub("", value.upper())
    canonical_id = _NOT_ALPHANUMERIC.sub("", record_id.upper())
    inside = bool(canonical_id) and (
        canonical_value == canonical_id
        or (len(canonical_id) >= 4 and canonical_id in canonical_value)
    )
    if inside and not canonical_id.isdigit():
        return 2
    digits_id = _NOT_DIGIT.sub("", record_id).lstrip("0")
    same_digits = len(digits_id) >= 4 and _NOT_DIGIT.sub("", value).lstrip("0") == digits_id
    return 1 if inside or same_digits else 0


# --- views of a column --------------------------------------------------------------------


def _leaves(label: str, array: pa.Array, aligned: bool) -> Iterator[tuple[str, pa.Array, bool]]:
    """Every scalar leaf of a column: struct fields, list and map elements, decoded
    dictionaries. ``aligned`` is False once list elements no longer match the rows."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        yield from _leaves(label, array.dictionary_decode(), aligned)
    elif pa.types.is_struct(kind):
        for index in range(kind.num_fields):
            child = pc.struct_field(array, [index])
            yield from _leaves(f"{label}.{kind.field(index).name}", child, aligned)
    elif pa.types.is_map(kind):
        yield from _leaves(f"{label}.key", array.keys, False)
        yield from _leaves(f"{label}.value", array.items, False)
    elif (
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    ):
        yield from _leaves(label, pc.list_flatten(array), False)
    else:
        yield label, array, aligned


def _as_text(array: pa.Array) -> pa.Array | None:
    """A text view of any scalar leaf, or None for dates, booleans and the like."""
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return array
    if (
        pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
    ):
        try:
            return pc.cast(array, pa.string())
        except pa.ArrowInvalid:  # not UTF-8: read it as Latin-1, which always decodes
            return pa.array(
                [None if value is None else value.decode("latin-1") for value in array.to_pylist()],
                pa.string(),
            )
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        values = pc.cast(array, pa.float64())
        integral = pc.and_(pc.equal(values, pc.floor(values)), pc.less(pc.abs(values), 1e15))
        array = pc.cast(pc.if_else(integral, values, None), pa.int64())
        kind = array.type
    if pa.types.is_integer(kind):
        if kind.bit_width <= 32:  # every value is short enough to read
            return pc.cast(array, pa.string())
        small = pc.less(array, pa.scalar(_INTEGER_LIMIT, kind))
        if pa.types.is_signed_integer(kind):
            small = pc.and_(small, pc.greater(array, pa.scalar(-_INTEGER_LIMIT, kind)))
        if not pc.any(small).as_py():  # tokens: 64-bit HMACs, nothing short to read
            return None
        return pc.cast(pc.if_else(small, array, None), pa.string())
    return None


def _typed_days(array: pa.Array) -> Days | None:
    kind = array.type
    if not (pa.types.is_date(kind) or pa.types.is_timestamp(kind)):
        return None
    try:
        dates = pc.cast(array, pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    days: Days = pc.cast(dates, pa.int32()).to_numpy(zero_copy_only=False).astype(np.float64)
    return days


def _int_field(parts: pa.Array, name: str) -> npt.NDArray[np.int64]:
    values: npt.NDArray[np.int64] = pc.cast(pc.struct_field(parts, name), pa.int64()).to_numpy(
        zero_copy_only=False
    )
    return values


def _days_from_parts(
    years: npt.NDArray[np.int64], months: npt.NDArray[np.int64], days: npt.NDArray[np.int64]
) -> Days:
    swap = (months > 12) & (days <= 12)  # month/day/year
    months, days = np.where(swap, days, months), np.where(swap, months, days)
    ok = (months >= 1) & (months <= 12) & (days >= 1) & (days <= 31)
    month_start = ((years - 1970) * 12 + np.clip(months, 1, 12) - 1).astype("datetime64[M]")
    day = month_start.astype("datetime64[D]") + (np.clip(days, 1, 31) - 1)
    ok &= day.astype("datetime64[M]") == month_start
    return np.where(ok, day.astype(np.int64).astype(np.float64), np.nan)


def _parse_dates(text: pa.Array) -> Days:
    """Days since 1970 of the first date written in each value (NaN where there is none)."""
    result = np.full(len(text), np.nan)
    todo = np.flatnonzero(
        pc.fill_null(pc.match_substring_regex(text, r"(?:19|20)\d\d"), False).to_numpy(
            zero_copy_only=False
        )
    )
    for pattern in _DATE_PATTERNS:
        if not len(todo):
            break
        candidates = text.take(pa.array(todo))
        parts = pc.extract_regex(candidates, pattern)
        found = np.asarray(parts.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if not found.any():
            continue
        matched = parts.filter(pa.array(found))
        if "mon" in pattern:
            names = pc.utf8_slice_codeunits(pc.utf8_lower(pc.struct_field(matched, "mon")), 0, 3)
            months = (
                pc.index_in(names, value_set=pa.array(_MONTHS)).to_numpy(zero_copy_only=False) + 1
            )
        else:
            months = _int_field(matched, "m")
        days = _days_from_parts(_int_field(matched, "y"), months, _int_field(matched, "d"))
        positions = todo[found]
        result[positions] = days
        todo = np.concatenate([todo[~found], positions[np.isnan(days)]])
    return result


# --- evidence gathered over the batches ---------------------------------------------------


@dataclass
class _Column:
    """What the batches of one member column showed."""

    label: str
    aligned: bool
    rows: int = 0
    distinct: list[pa.Array] = field(default_factory=list)
    dates: list[tuple[int, Days]] = field(default_factory=list)  # (first row, days)
    key_pairs: list[pa.Table] = field(default_factory=list)
    copies_of_row_id: int = 0  # with letters: sure
    digit_copies_of_row_id: int = 0  # digits only: a number may agree by chance
    is_key: bool = False

    def all_distinct(self) -> pa.Array:
        if not self.distinct:
            return pa.array([], pa.string())
        return pc.unique(pa.chunked_array(self.distinct, pa.string()))

    def days(self, rows: int) -> Days | None:
        """One day number (or NaN) per row of the member, when five or more are dates."""
        if not self.aligned or sum(np.count_nonzero(~np.isnan(d)) for _, d in self.dates) < 5:
            return None
        days = np.full(rows, np.nan)
        for start, part in self.dates:
            days[start : start + len(part)] = part
        return days


@dataclass
class _Member:
    path: Path
    columns: dict[str, _Column] = field(default_factory=dict)
    pids: list[pa.Array] = field(default_factory=list)
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    def column(self, label: str, aligned: bool) -> _Column:
        if label not in self.columns:
            self.columns[label] = _Column(label, aligned)
        return self.columns[label]

    def refuse(self, label: str, what: str) -> None:
        problem = f"{self.path.name}: column {label!r} {what}"
        if problem not in self.problems:
            self.problems.append(problem)


def _same_row_copies(
    text: pa.Array, row_ids: npt.NDArray[np.intp], ids: _RecordIds
) -> tuple[int, int]:
    """Rows whose value is a near copy of its own record id, sure and by digits only
    (``_near_copy``). Only rows whose value holds the id's last digits are compared."""
    valid = (row_ids >= 0) & pc.fill_null(text.is_valid(), False).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(valid)
    if len(rows) < MIN_HITS:
        return 0, 0
    runs = ids.last_digits[row_ids[rows]]
    values = np.asarray(
        text.take(pa.array(rows)).to_numpy(zero_copy_only=False), dtype=np.dtypes.StringDType()
    )
    maybe = (np.strings.str_len(runs) > 0) & (np.strings.find(values, runs) >= 0)
    found = [
        _near_copy(str(values[index]), ids.record_id(int(row_ids[rows[index]])))
        for index in np.flatnonzero(maybe)
    ]
    return found.count(2), found.count(1)


def _key_shaped(values: pa.Array) -> pa.Array:
    """Id-like values: short, at most three words, a digit in each."""
    return pc.and_(
        pc.and_(
            pc.match_substring_regex(values, _ID_LIKE), pc.match_substring_regex(values, r"\d")
        ),
        pc.less_equal(pc.utf8_length(values), 40),
    )


def _key_pairs(distinct: pa.Array, pids: pa.Array, text: pa.Array) -> pa.Table | None:
    """The distinct (pid, value) pairs of a batch's id-like values, when there are about as
    many of them as records: a key candidate. Placeholders around them ("n/a") are left
    out; dates (judged as dates of birth instead), pids and owner-keyed HMACs (32 hex
    digits) are not keys."""
    if len(distinct) < _MIN_KEY_VALUES:
        return None
    sample = distinct.slice(0, 2_000)
    if len(distinct) > 2_000 and not _count(_key_shaped(sample)):
        return None  # a sample decides most free text and categories cheaply
    keys = pc.filter(distinct, _key_shaped(distinct))
    if len(keys) < _MIN_KEY_VALUES or _share(pc.match_substring_regex(keys, _PID)) >= 0.5:
        return None
    if np.mean(np.isnan(_parse_dates(keys.slice(0, 2_000)))) < 0.5:
        return None
    pairs = pa.table({"pid": pids, "value": pc.cast(text, pa.string())})
    pairs = pairs.filter(pc.fill_null(pc.is_in(pairs.column("value"), value_set=keys), False))
    if len(keys) < 0.5 * pc.count_distinct(pairs.column("pid")).as_py():
        return None  # a category or a count: not one value per record
    return pairs.group_by(["pid", "value"]).aggregate([])


def _row_days(text: pa.Array, distinct: pa.Array) -> Days | None:
    """The date written in each row's value, parsed once per distinct value."""
    if len(distinct) > 0.5 * len(text):  # mostly distinct: parse the rows themselves
        days = _parse_dates(pc.fill_null(text, ""))
        return None if np.isnan(days).all() else days
    parsed = _parse_dates(distinct)
    if np.isnan(parsed).all():
        return None
    positions = pc.fill_null(pc.index_in(text, value_set=distinct), -1).to_numpy(
        zero_copy_only=False
    )
    return np.where(positions >= 0, parsed[np.maximum(positions, 0)], np.nan)


class _Batch:
    """One batch of a member: its pids, and their lookup rows when first needed."""

    def __init__(self, pids: pa.Array | None, ids: _RecordIds | None) -> None:
        self.pids, self.ids = pids, ids

    @functools.cached_property
    def row_ids(self) -> npt.NDArray[np.intp] | None:
        if self.pids is None or self.ids is None:
            return None
        return self.ids.rows_of(self.pids)


def _scan_leaf(column: _Column, array: pa.Array, start: int, batch: _Batch) -> None:
    days = _typed_days(array)
    if days is not None:
        column.dates.append((start, days))
        return
    text = _as_text(array)
    if text is None:
        return
    present = text.drop_null()
    if len(present) == 0:
        return
    column.rows += len(present)
    distinct = pc.unique(present)
    column.distinct.append(pc.cast(distinct, pa.string()))
    if not column.aligned:
        return
    days = _row_days(text, distinct)
    if days is not None:
        column.dates.append((start, days))
    if batch.ids is not None and len(distinct) >= max(MIN_HITS, 0.05 * len(present)):
        row_ids = batch.row_ids
        if row_ids is not None:
            sure, by_digits = _same_row_copies(text, row_ids, batch.ids)
            column.copies_of_row_id += sure
            column.digit_copies_of_row_id += by_digits
    # Judged batch by batch: a key hidden after rows of filler is still a key.
    if batch.pids is not None:
        pairs = _key_pairs(pc.cast(distinct, pa.string()), batch.pids, text)
        if pairs is not None:
            column.key_pairs.append(pairs)


def _scan_batch(
    member: _Member, batch: pa.RecordBatch, pid_name: str | None, ids: _RecordIds | None
) -> None:
    pids = None if pid_name is None else pc.cast(batch.column(pid_name), pa.string())
    if pids is not None:
        member.pids.append(pids)
    context = _Batch(pids, ids)
    for name in batch.schema.names:
        if name == pid_name:
            continue
        for label, array, aligned in _leaves(name, batch.column(name), True):
            column = member.column(label, aligned)
            _scan_leaf(column, array, member.rows, context)
    member.rows += batch.num_rows


# --- judging the distinct values ----------------------------------------------------------


def _share(flags: pa.Array | pa.ChunkedArray) -> float:
    if len(flags) == 0:
        return 0.0
    return float(pc.mean(pc.cast(pc.fill_null(flags, False), pa.float64())).as_py())


def _count(flags: pa.Array) -> int:
    return int(pc.sum(pc.cast(pc.fill_null(flags, False), pa.int64())).as_py() or 0)


def _extracted(values: pa.Array, pattern: str) -> list[str]:
    """The first match of ``pattern``'s group ``c`` in each value that has one."""
    parts = pc.extract_regex(values, pattern)
    found = parts.filter(parts.is_valid())
    if len(found) == 0:
        return []
    matches: list[str] = pc.struct_field(found, "c").to_pylist()
    return matches


def _valid_count(candidates: list[str], kind: str) -> int:
    if kind == "NHS numbers":
        return sum(found is not None for found in normalise_nhs_numbers(candidates))
    check = normalise_upn if kind == "unique pupil numbers" else normalise_pnc_id
    return sum(check(found) is not None for found in candidates)


def _coded_kind(values: pa.Array) -> str | None:
    """Postcodes, NHS numbers, pupil numbers, PNC ids, e-mail addresses or mobile phone
    numbers, whole or inside text."""
    postcode = pc.match_substring_regex(values, _WHOLE_POSTCODE)
    shaped = pc.filter(values, postcode).to_pylist()
    full, _, district = normalise_postcodes(shaped)
    enough = max(SHARE * len(values), 1)
    if sum(code is not None for code in full) >= enough:
        return "postcodes"
    # Outward codes alone (postcode districts) only when many: "A1", "B2" may be bands.
    if sum(code is not None for code in district) >= max(enough, _MIN_DISTRICTS):
        return "postcode districts"
    for kind, whole_shape in (
        ("NHS numbers", r"^\s*[0-9]{3}[\s\-]*[0-9]{3}[\s\-]*[0-9]{4}\s*$"),
        ("unique pupil numbers", r"(?i)^\s*[a-z][\s\-]*(?:[0-9][\s\-]*){11}[a-z0-9]\s*$"),
        ("PNC ids", r"(?i)^\s*[0-9]{2,4}\s*/\s*[0-9]{1,7}\s*[a-z]\s*$"),
    ):
        whole = pc.filter(values, pc.match_substring_regex(values, whole_shape)).to_pylist()
        if len(whole) >= SHARE * len(values) and _valid_count(whole, kind) >= max(
            SHARE * len(values), 1
        ):
            return kind
    # One pass finds the values that may hold any of them; only those are read closely.
    values = pc.filter(values, pc.match_substring_regex(values, _ANY_CODE_IN_TEXT))
    postcodes = _extracted(values, _POSTCODE_IN_TEXT)
    if sum(full is not None for full in normalise_postcodes(postcodes)[0]) >= MIN_HITS:
        return "postcodes"
    for kind, pattern in (("e-mail addresses", _EMAIL_IN_TEXT), ("phone numbers", _MOBILE_IN_TEXT)):
        # Whole or inside text alike: distinct addresses or mobile numbers are people's.
        if len(set(_extracted(values, pattern))) >= MIN_HITS:
            return kind
    for kind, pattern in (
        ("NHS numbers", _NHS_IN_TEXT),
        ("unique pupil numbers", _UPN_IN_TEXT),
        ("PNC ids", _PNC_IN_TEXT),
    ):
        candidates = sorted(set(_extracted(values, pattern)))
        valid = _valid_count(candidates, kind)
        # A valid check digit is a weak sign alone (1 in 11 random numbers has one).
        if valid >= MIN_HITS and valid >= 0.5 * len(candidates):
            return kind
    return None


def _normalised_words(words: pa.Array) -> pa.Array:
    """Each word upper case, letters only (``normalise_surname`` where not ASCII)."""
    upper = pc.replace_substring_regex(pc.utf8_upper(words), r"[^A-Z]+", "")
    ascii_only = pc.fill_null(pc.string_is_ascii(words), True)
    if _share(ascii_only) == 1.0:
        return upper
    others = pc.unique(pc.filter(words, pc.invert(ascii_only)))
    mapped = pa.array([normalise_surname(word) or "" for word in others.to_pylist()], pa.string())
    positions = pc.index_in(words, value_set=others)
    return pc.if_else(ascii_only, upper, pc.take(mapped, positions))


def _whole_names(values: pa.Array, rows: int, lexicon: _Lexicon) -> bool:
    """Whole values that are names: a large share, or many different known names."""
    short = pc.less_equal(pc.utf8_length(values), _NAME_LENGTH)
    shaped = pc.filter(values, pc.and_(short, pc.match_substring_regex(values, _NAME_VALUE)))
    if len(values) < 5 or len(shaped) == 0:
        return False
    words = pc.split_pattern_regex(pc.utf8_trim_whitespace(shaped), r"[ ,\-]+")
    flat, parents = pc.list_flatten(words), pc.list_parent_indices(words)
    known_words = pc.is_in(_normalised_words(flat), value_set=lexicon.array)
    hits = np.asarray(pc.filter(parents, known_words).to_numpy(zero_copy_only=False))
    known = len(np.unique(hits))
    many_values = len(values) >= 50 or len(values) >= 0.15 * rows
    mostly = len(shaped) >= 0.8 * len(values) and known >= SHARE * len(values) and many_values
    # Names diluted by distinct filler: many known names in a column of mostly distinct
    # values. A category (countries: Jordan, Chad, Georgia) repeats, so it is not one.
    diverse = (
        known >= _DIVERSE_NAMES
        and known >= _DIVERSE_SHARE * len(values)
        and len(values) >= 0.5 * rows
    )
    return mostly or diverse


def _names_in_text(values: pa.Array, lexicon: _Lexicon) -> bool:
    """Forename + surname pairs, or "name is X", inside text, in enough distinct values."""
    candidates = pc.filter(
        values,
        pc.or_(
            pc.match_substring_regex(values, _TITLE_PAIR),
            pc.match_substring_regex(values, _CONTEXT_WORDS),
        ),
    ).to_pylist()
    cache: dict[str, str] = {}

    def norm(word: str) -> str:
        if word not in cache:
            ascii_word = word.isascii()
            cache[word] = (
                _NOT_ASCII_LETTER.sub("", word.upper())
                if ascii_word
                else (normalise_surname(word) or "")
            )
        return cache[word]

    def title(word: str) -> bool:
        return word[0].isupper() and not word.isupper()

    found: set[tuple[str, str]] = set()
    for value in candidates:
        for match in _CONTEXT_NAME.finditer(value):
            named, following = match.group(1), match.group(2) or ""
            if norm(named) not in lexicon.names:
                continue
            # "name is Amira", "name is AMIRA"; in lower case only with a known surname
            # after it ("name is amira haile"), since "called back" is not a name.
            if title(named) or named.isupper() or norm(following) in lexicon.names:
                found.add(("", norm(named)))
        words = list(_WORD.finditer(value))
        for first, second in itertools.pairwise(words):
            between = value[first.end() : second.start()]
            if between.strip() or not (title(first.group()) and title(second.group())):
                continue
            pair = (norm(first.group()), norm(second.group()))
            if pair[0] in lexicon.forenames and pair[1] in lexicon.names:
                found.add(pair)
        if len(found) >= _NAME_PAIRS:
            return True
    return False


def _birth_dates_in_text(values: pa.Array) -> bool:
    """Any value that writes a date after "born", "birth" or "DOB"."""
    near = pc.filter(values, pc.match_substring_regex(values, _BIRTH_WORDS))
    return bool(len(near)) and not np.isnan(_parse_dates(near)).all()


def _record_ids_in(values: pa.Array, ids: _RecordIds) -> bool:
    """A value equal to a distinctive record id, or one inside text."""
    if ids.letters is not None:  # only values with the ids' letters can hold one
        values = pc.filter(values, pc.match_substring_regex(values, ids.letters))
    values = pc.filter(values, pc.match_substring_regex(values, r"[0-9]"))
    if len(values) == 0 or len(ids.distinctive) == 0:
        return False
    tokens = pc.list_flatten(pc.split_pattern_regex(values, r"[\s,;:=()\[\]{}<>\"']+"))
    for candidates in (_canonical(values), _canonical(tokens)):
        if _count(pc.is_in(candidates, value_set=ids.distinctive)):
            return True
    return False


def _one_to_one(column: _Column) -> bool:
    if not column.key_pairs:
        return False
    pairs = pa.concat_tables(column.key_pairs).group_by(["pid", "value"]).aggregate([])
    values = pc.count_distinct(pairs.column("value")).as_py()
    pids = pc.count_distinct(pairs.column("pid")).as_py()
    return bool(
        values >= _MIN_KEY_VALUES
        and values >= _ONE_TO_ONE * pairs.num_rows
        and pids >= _ONE_TO_ONE * pairs.num_rows
    )


def _judge_values(
    member: _Member, column: _Column, lexicon: _Lexicon, ids: _RecordIds | None
) -> None:
    values = column.all_distinct()
    if len(values) == 0:
        return
    # Digits alone agree by chance about once per column of wide-ranging numbers.
    digit_copies = column.digit_copies_of_row_id >= max(MIN_HITS, _DIGIT_COPY_SHARE * column.rows)
    copies = column.copies_of_row_id >= MIN_HITS or digit_copies
    if ids is not None and (copies or _record_ids_in(values, ids)):
        member.refuse(column.label, "holds the owner's record ids")
    if column.aligned and _one_to_one(column):
        column.is_key = True
        member.refuse(
            column.label,
            "holds a key one-to-one with record_pid (a re-identification key, like the "
            "owner's lookup)",
        )
    kind = _coded_kind(values)
    if kind is not None:
        member.refuse(column.label, f"holds values that look like {kind}")
    if _whole_names(values, column.rows, lexicon) or _names_in_text(values, lexicon):
        member.refuse(column.label, "holds values that look like person names")
    if _birth_dates_in_text(values):
        member.refuse(column.label, "holds values that look like dates of birth")


# --- dates of birth across columns and members --------------------------------------------


@dataclass(frozen=True)
class _DateColumn:
    member: _Member
    label: str
    days: Days


class _PidJoin:
    """Moves one member's per-row values onto another member's rows by record_pid."""

    def __init__(self) -> None:
        self._pids: dict[int, list[str] | None] = {}
        self._positions: dict[tuple[int, int], npt.NDArray[np.intp] | None] = {}

    def _pids_of(self, member: _Member) -> list[str] | None:
        if id(member) not in self._pids:
            self._pids[id(member)] = (
                pa.chunked_array(member.pids, pa.string()).to_pylist() if member.pids else None
            )
        return self._pids[id(member)]

    def positions(self, source: _Member, target: _Member) -> npt.NDArray[np.intp] | None:
        """For each row of ``target``, the first row of ``source`` with its pid, or -1."""
        key = (id(source), id(target))
        if key not in self._positions:
            source_pids, target_pids = self._pids_of(source), self._pids_of(target)
            found = None
            if source_pids is not None and target_pids is not None:
                index = pd.Index(source_pids)
                first = np.flatnonzero(~index.duplicated())
                hit = pd.Index(index[first]).get_indexer(pd.Index(target_pids))
                found = np.where(hit >= 0, first[np.maximum(hit, 0)], -1)
            self._positions[key] = found
        return self._positions[key]

    def aligned(self, reference: _DateColumn, onto: _Member) -> Days | None:
        if reference.member is onto:
            return reference.days
        positions = self.positions(reference.member, onto)
        if positions is None:
            return None
        return np.where(positions >= 0, reference.days[np.maximum(positions, 0)], np.nan)


def _looks_like_birth(candidate: Days, reference: Days | None) -> bool:
    if reference is None or len(candidate) != len(reference):
        return False
    ages = (reference - candidate) / 365.25
    ages = ages[~np.isnan(ages)]
    if len(ages) < 5:
        return False
    plausible = np.mean((ages >= 0) & (ages <= _MAX_AGE_YEARS))
    return bool(plausible >= _AGE_ROWS and np.median(ages) >= 5)


def _birth_dates(members: Sequence[_Member]) -> None:
    """Refuse date columns that lie 0-110 years before another date of the same record."""
    columns = [
        _DateColumn(member, column.label, days)
        for member in members
        for column in member.columns.values()
        if (days := column.days(member.rows)) is not None
    ]
    join = _PidJoin()
    for candidate in columns:
        for reference in columns:
            if reference is candidate:
                continue
            if _looks_like_birth(candidate.days, join.aligned(reference, candidate.member)):
                candidate.member.refuse(
                    candidate.label, "holds values that look like dates of birth"
                )
                break


# --- members ------------------------------------------------------------------------------


def _is_token(schema: pa.Schema, name: str, tokens: frozenset[str]) -> bool:
    kind = schema.field(name).type
    if pa.types.is_list(kind):
        kind = kind.value_type
    return name in tokens and kind == pa.int64()


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _pid_column(parquet: pq.ParquetFile) -> str | None:
    """``record_pid``, or a column of pid-shaped values under another name."""
    names: list[str] = parquet.schema_arrow.names
    if "record_pid" in names:
        return "record_pid"
    first = next(parquet.iter_batches(batch_size=1_000), None)
    if first is None:
        return None
    for name in names:
        array = first.column(name)
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            present = array.drop_null()
            if len(present) and _share(pc.match_substring_regex(present, _PID)) == 1.0:
                return name
    return None


def _scan_member(
    path: Path, tokens: frozenset[str], lexicon: _Lexicon, ids: _RecordIds | None
) -> _Member:
    member = _Member(path)
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        member.problems.append(
            f"{path.name}: cannot be read as Parquet ({type(error).__name__}); pseudonymise again"
        )
        return member
    schema = parquet.schema_arrow
    names = set(schema.names)
    if {"record_id", "record_pid"} <= names and len(names) == 2:
        member.problems.append(f"{path.name}: is the owner's lookup")
        return member
    for name in schema.names:
        if _NAMED.match(name) and not _is_token(schema, name, tokens):
            member.refuse(name, "is named as an identifier")
    pid_name = _pid_column(parquet)
    if pid_name is not None and not _is_text(schema.field(pid_name).type):
        member.refuse(pid_name, "does not hold pseudonymous ids (32 hex digits) only")
        pid_name = None  # read as any other column
    elif pid_name is None:
        member.problems.append(
            f"{path.name}: has no record_pid column of pseudonymous ids; only the members "
            "`trelink pseudonymise` writes can be packaged"
        )
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
        if pid_name is not None:
            pids = pc.cast(batch.column(pid_name), pa.string())
            if _share(pc.match_substring_regex(pids.drop_null(), _PID)) < 1.0 or pids.null_count:
                member.refuse(pid_name, "does not hold pseudonymous ids (32 hex digits) only")
        _scan_batch(member, batch, pid_name, ids)
    return member


def _judge_member(member: _Member, lexicon: _Lexicon, ids: _RecordIds | None) -> None:
    for column in member.columns.values():
        _judge_values(member, column, lexicon, ids)
    keys = [column for column in member.columns.values() if column.is_key]
    if keys and len(member.columns) == 1:
        member.problems.insert(0, f"{member.path.name}: is the owner's lookup under another name")


def check_members(
    members: Sequence[Path],
    *,
    lookup: Path | None = None,
    token_columns: Iterable[str] = (),
) -> None:
    """Raise ``IdentifierLeakError`` listing every member column that holds identifiers.

    ``lookup`` is the owner's ``record_id → record_pid`` table when it is at hand; without
    it record ids are still refused when a column is one-to-one with ``record_pid``.
    ``token_columns`` (int64 tokens named after what they encode, such as ``dob``) are
    exempt from the name check only; their values are still examined.
    """
    tokens = frozenset(token_columns)
    lexicon = _lexicon()
    ids = _RecordIds.load(lookup)
    scanned = [_scan_member(path, tokens, lexicon, ids) for path in members]
    for member in scanned:
        _judge_member(member, lexicon, ids)
    _birth_dates(scanned)
    problems = [problem for member in scanned for problem in member.problems]
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise IdentifierLeakError(
            f"refusing to package direct identifiers:\n{listing}\n"
            "Drop these columns (`drop:` in the pseudonymise spec) and pseudonymise again."
        )
