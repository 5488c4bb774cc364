"""Derive the match keys of ``specs/pseudonymise/match_keys.yaml`` from canonical columns.

Each ``Derivation`` named in the spec is computed here once per distinct value and
cached, so a part shared by several keys (the normalised surname feeds eight of them)
is computed once. A key made of several parts joins them with a unit separator, and
is missing when any part is. The result is the *message* of each key per row, still
in clear text: ``tokens`` hashes it, and nothing here ever leaves this process.

Derivations and what they mean:

========================  ==========================================================
``forename``              first forename (``normalise.normalise_forename``)
``surname``               whole surname (``normalise.normalise_surname``)
``name_set``              forename and surname in sorted order (order-insensitive)
``*_metaphone``           primary Double Metaphone code of the normalised name
``forename_initial``      first letter of the forename
``*_prefix4``             first four letters (the whole name when shorter);
                          ``forename_prefix3`` the first three
``*_tail``                the name from its first vowel on (YOHANNES and JOHANNES
                          give OHANNES, XHULIO and JULIO give ULIO): romanisations
                          differ most in a name's first consonants; none when fewer
                          than three letters remain
``*_deletions``           the name and every one-letter deletion of it; names of
                          four letters or more only (shorter ones share too much)
``alias_forename_surname`` each alias as forename + surname, normalised as above
``forename_formal_surname`` for a forename that is a nickname or has nicknames in the
                          ``nicknames`` package's English list (Bill, William): the
                          forename and every formal name it shortens, each + surname;
                          none for other forenames
``dob``                   ``YYYY-MM-DD``; a placeholder (1900-01-01) or a date after
                          today is missing and counted as invalid
``dob_day_month_swapped`` the date with day and month exchanged, when that is a
                          different valid date (day ≤ 12 and day ≠ month)
``dob_alternatives``      other recorded dates of birth, excluding ``dob``
``dob_year|month|day``    the component (only ever combined with another)
``postcode``              full postcode ``OUTWARD INWARD``
``postcode_sector``       outward code + first digit of the inward code
``postcode_district``     outward code (also from an outward code recorded alone)
``nhs_number|upn|pnc_id`` validated identifiers; invalid values count as missing
========================  ==========================================================

``sex`` is never a match key: alone it is a low-cardinality value, and it is kept as a
low-risk attribute in ``attributes.parquet`` where linkage can use it to block or
report by subgroup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import pyarrow as pa
from metaphone import doublemetaphone
from nicknames import NickNamer

from pseudonymise import normalise
from pseudonymise.encoded import SEPARATOR, Encoded, EncodedLists, Pair, encode, encode_lists
from trelink.specs.identifier_types import is_placeholder
from trelink.specs.match_keys import MatchKey, MatchKeySpec

__all__ = ["DerivedKeys", "derive_match_keys", "derive_parts", "implemented_derivations"]

Part = Encoded | EncodedLists
MIN_DELETION_LENGTH = 4


@dataclass
class DerivedKeys:
    """Per-row messages of every match key, and counts of values found invalid."""

    keys: dict[str, Part]
    invalid: dict[str, int] = field(default_factory=dict)


def _each(function: Callable[[str], str | None]) -> Callable[[list[str]], list[str | None]]:
    return lambda values: [function(value) for value in values]


def _metaphone(name: str) -> str | None:
    primary: str = doublemetaphone(name)[0]
    return primary or None


def _deletions(name: str) -> list[str]:
    if len(name) < MIN_DELETION_LENGTH:
        return []
    return sorted({name} | {name[:index] + name[index + 1 :] for index in range(len(name))})


# Longer values (addresses) have as many one-letter deletions as letters; past this
# length a one-edit level adds little and the lists grow, so only the value is kept.
MAX_DELETION_LENGTH = 48


def _long_deletions(text: str) -> list[str]:
    """The value and its one-character deletions (two values within one edit, or one
    adjacent transposition, share one); values under four characters only themselves."""
    if len(text) > MAX_DELETION_LENGTH or len(text) < MIN_DELETION_LENGTH:
        return [text]
    return _deletions(text)


def _words(text: str) -> list[str]:
    return sorted(set(text.split()))


def _email_local(text: str) -> str | None:
    local = text.partition("@")[0]
    return local if len(local) >= MIN_DELETION_LENGTH else None


def _sorted_characters(text: str) -> str:
    """The characters in sorted order: equal for ids that differ by transposed digits."""
    return "".join(sorted(text))


_NICKNAMER = NickNamer()


def _formal_names(forename: str) -> list[str]:
    """The forename and the formal names it is a nickname of; empty when it has none."""
    name = forename.lower()
    formal = _NICKNAMER.canonicals_of(name)
    if not formal and not _NICKNAMER.nicknames_of(name):
        return []
    return sorted({forename} | {item.upper() for item in formal})


def _formal_with_surname(pair_text: str) -> list[str]:
    forename, surname = pair_text.split(SEPARATOR)
    return [f"{formal}{SEPARATOR}{surname}" for formal in _formal_names(forename)]


_VOWELS = frozenset("AEIOU")
MIN_TAIL_LENGTH = 3


def _tail(name: str) -> str | None:
    """The name from its first vowel on, when at least three letters remain."""
    for index, letter in enumerate(name):
        if letter in _VOWELS:
            tail = name[index:]
            return tail if len(tail) >= MIN_TAIL_LENGTH else None
    return None


def _birth_date(date_text: str) -> str | None:
    """A date of birth as it enters match keys; None for a system's stand-in
    (``is_placeholder``: 1900-01-01, 9999-12-31) and for a date after today, which no
    one was born on (a two-digit year read as 2065 where 1965 was meant)."""
    if is_placeholder("dob", date_text) or date_text > dt.date.today().isoformat():
        return None
    return date_text


def _swapped(date_text: str) -> str | None:
    year, month, day = date_text[:4], date_text[5:7], date_text[8:10]
    if int(day) > 12 or day == month:
        return None
    return f"{year}-{day}-{month}"


class _Deriver:
    """Computes parts on demand from one canonical table, caching each by name."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table
        self._rows = table.num_rows
        self._cache: dict[str, Part] = {}
        self._postcodes: tuple[Encoded, normalise.PostcodeColumns] | None = None
        self._pairs: dict[tuple[str, str], Pair] = {}
        self.invalid: dict[str, int] = {}

    def _column(self, name: str) -> Encoded:
        if name not in self._table.column_names:
            return encode(pa.nulls(self._rows, pa.string()))
        # NHS numbers are the only identifier ever stored as an integer: 10 digits.
        return encode(self._table.column(name), pad_integers=10)

    def _normalised(
        self, column: str, function: Callable[[list[str]], Sequence[str | None]]
    ) -> Encoded:
        encoded, lost = self._column(column).map_all(function)
        if lost:
            self.invalid[column] = self.invalid.get(column, 0) + lost
        return encoded

    def part(self, name: str) -> Part:
        if name not in self._cache:
            self._cache[name] = self._derive(name)
        return self._cache[name]

    def scalar(self, name: str) -> Encoded:
        found = self.part(name)
        if not isinstance(found, Encoded):  # the spec model refuses list parts in combinations
            raise TypeError(f"derivation {name!r} yields lists, not one value per row")
        return found

    def _derive(self, name: str) -> Part:
        return self.derivations()[name]()

    def derivations(self) -> dict[str, Callable[[], Part]]:
        """Every derivation this module implements, by its spec name."""
        return {
            "forename": lambda: self._normalised("forename", _each(normalise.normalise_forename)),
            "surname": lambda: self._normalised("surname", _each(normalise.normalise_surname)),
            "name_set": lambda: self._pair("forename", "surname").joined(ordered=False),
            "forename_metaphone": lambda: self.scalar("forename").map(_metaphone)[0],
            "surname_metaphone": lambda: self.scalar("surname").map(_metaphone)[0],
            "forename_initial": lambda: self.scalar("forename").map(lambda text: text[0])[0],
            "forename_prefix3": lambda: self.scalar("forename").map(lambda text: text[:3])[0],
            "forename_prefix4": lambda: self.scalar("forename").map(lambda text: text[:4])[0],
            "surname_prefix4": lambda: self.scalar("surname").map(lambda text: text[:4])[0],
            "forename_tail": lambda: self.scalar("forename").map(_tail)[0],
            "surname_tail": lambda: self.scalar("surname").map(_tail)[0],
            "forename_deletions": lambda: self.scalar("forename").map_lists(_deletions),
            "surname_deletions": lambda: self.scalar("surname").map_lists(_deletions),
            "alias_forename_surname": self._aliases,
            "forename_formal_surname": lambda: (
                self._pair("forename", "surname").joined().map_lists(_formal_with_surname)
            ),
            "dob": lambda: self._normalised("dob", _each(_birth_date)),
            "dob_day_month_swapped": lambda: self.scalar("dob").map(_swapped)[0],
            "dob_alternatives": self._dob_alternatives,
            "dob_year": lambda: self.scalar("dob").map(lambda text: text[:4])[0],
            "dob_month": lambda: self.scalar("dob").map(lambda text: text[5:7])[0],
            "dob_day": lambda: self.scalar("dob").map(lambda text: text[8:10])[0],
            "postcode": lambda: self._postcode_part("full"),
            "postcode_sector": lambda: self._postcode_part("sector"),
            "postcode_district": lambda: self._postcode_part("district"),
            "nhs_number": lambda: self._normalised("nhs_number", normalise.normalise_nhs_numbers),
            "upn": lambda: self._normalised("upn", _each(normalise.normalise_upn)),
            "pnc_id": lambda: self._normalised("pnc_id", _each(normalise.normalise_pnc_id)),
            "middle_name": lambda: self._normalised(
                "middle_name", _each(normalise.normalise_surname)
            ),
            **self._free_text_derivations(),
        }

    def _free_text_derivations(self) -> dict[str, Callable[[], Part]]:
        """Address, locality, postcodes of any country, email, phone, free identifiers:
        the value itself, its one-edit neighbourhood and, where useful, another view."""
        normalisers: dict[str, Callable[[str | None], str | None]] = {
            "address": normalise.normalise_address,
            "locality": normalise.normalise_address,
            "postal_code": normalise.normalise_postal_code,
            "email": normalise.normalise_email,
            "phone": normalise.normalise_phone,
            "identifier": normalise.normalise_identifier,
        }
        found: dict[str, Callable[[], Part]] = {}
        for column, function in normalisers.items():
            found[column] = partial(self._normalised, column, _each(function))
            if column != "address":  # an address is compared by its words
                found[f"{column}_deletions"] = partial(self._deletions_of, column)
        found["address_words"] = lambda: self.scalar("address").map_lists(_words)
        found["email_local"] = lambda: self.scalar("email").map(_email_local)[0]
        found["identifier_sorted"] = lambda: self.scalar("identifier").map(_sorted_characters)[0]
        return found

    def _deletions_of(self, column: str) -> EncodedLists:
        return self.scalar(column).map_lists(_long_deletions)

    def _postcode_part(self, attribute: str) -> Encoded:
        if self._postcodes is None:  # parse every distinct postcode once, for all parts
            raw = self._column("postcode")
            self._postcodes = (raw, normalise.normalise_postcodes(raw.values))
        raw, (full, sector, district) = self._postcodes
        part = {"full": full, "sector": sector, "district": district}[attribute]
        encoded, lost = raw.map_all(lambda _values: part)
        if attribute == "district" and lost:  # invalid postcodes have no district
            self.invalid["postcode"] = lost
        return encoded

    def _list_rows(self, column: str) -> list[list[object] | None]:
        if column not in self._table.column_names:
            return [None] * self._rows
        rows: list[list[object] | None] = self._table.column(column).to_pylist()
        return rows

    def _aliases(self) -> EncodedLists:
        rows: list[list[str] | None] = []
        if "aliases" not in self._table.column_names:
            return EncodedLists.missing(self._rows)
        for aliases in self._list_rows("aliases"):
            names: list[str] = []
            for alias in aliases or []:
                if not isinstance(alias, dict):
                    continue
                forename = normalise.normalise_forename(alias.get("forename"))
                surname = normalise.normalise_surname(alias.get("surname"))
                if forename and surname:
                    names.append(f"{forename}\x1f{surname}")
            rows.append(names)
        return encode_lists(rows)

    def _dob_alternatives(self) -> EncodedLists:
        if "dob_alt" not in self._table.column_names:
            return EncodedLists.missing(self._rows)
        dob = self.scalar("dob")
        rows: list[list[str] | None] = []
        lost = 0
        for index, dates in enumerate(self._list_rows("dob_alt")):
            own = dob.values[dob.codes[index]] if dob.codes[index] >= 0 else None
            texts = [
                normalise.format_date(item) for item in dates or [] if isinstance(item, dt.date)
            ]
            births = [text for text in texts if _birth_date(text) is not None]
            lost += len(texts) - len(births)
            rows.append([text for text in births if text != own])
        if lost:
            self.invalid["dob_alt"] = self.invalid.get("dob_alt", 0) + lost
        return encode_lists(rows)

    def _pair(self, first: str, second: str) -> Pair:
        # fn_sn, sn_fn and name_set share the (forename, surname) pairs: find them once.
        if (first, second) not in self._pairs:
            if (second, first) in self._pairs:
                self._pairs[first, second] = self._pairs[second, first].swapped()
            else:
                self._pairs[first, second] = self.scalar(first).pair(self.scalar(second))
        return self._pairs[first, second]

    def key(self, match_key: MatchKey) -> Part:
        if match_key.list:
            return self.part(match_key.derive[0])
        if len(match_key.derive) == 2:
            return self._pair(*match_key.derive).joined()
        first, *rest = (self.scalar(part) for part in match_key.derive)
        return first.combine(*rest)


def derive_match_keys(
    table: pa.Table,
    spec: MatchKeySpec,
    *,
    on_key: Callable[[MatchKey, Part], None] | None = None,
) -> DerivedKeys:
    """Messages of every match key in ``spec`` for each row of a canonical ``table``.

    Missing source columns give missing keys; invalid values (a postcode that is not
    one, an NHS number with a wrong check digit) are missing and counted in
    ``invalid`` by source column. ``on_key`` is called as soon as each key is ready
    (so hashing can start while the next key is derived).
    """
    deriver = _Deriver(table)
    keys: dict[str, Part] = {}
    for match_key in spec.match_keys:
        keys[match_key.name] = deriver.key(match_key)
        if on_key is not None:
            on_key(match_key, keys[match_key.name])
    return DerivedKeys(keys, deriver.invalid)


def implemented_derivations() -> frozenset[str]:
    """The names of the derivations implemented here (a test ties them to the spec's
    ``Derivation`` list, both ways)."""
    return frozenset(_Deriver(pa.table({})).derivations())


def derive_parts(table: pa.Table, names: Sequence[str]) -> dict[str, Part]:
    """Individual derivations (``forename``, ``dob_year`` ...) of a canonical table."""
    deriver = _Deriver(table)
    return {name: deriver.part(name) for name in names}
