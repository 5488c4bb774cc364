"""Normalise identifier values before they are derived into match keys and hashed.

Each function takes one raw value and returns its canonical form, or ``None`` when the
value is missing or invalid. They are pure and idempotent (normalising a normalised
value changes nothing), and callers apply them once per DISTINCT value, never per row.

Names:

1. Unicode NFKC, then transliteration to ASCII with anyascii (Nguyễn → Nguyen,
   Đặng → Dang, Şahin → Sahin), then upper case.
2. Tigrinya and Amharic abbreviations: ``G/`` → ``GEBRE``, ``W/`` → ``WOLDE``
   (G/Medhin → GEBRE MEDHIN); the spellings GHEBRE and WELDE at the start of a word
   become GEBRE and WOLDE; and the prefix particles ABD, ABDUL, ABDEL, ABU, AL, EL,
   GEBRE, WOLDE, HAILE are joined to the word after them, so G/Medhin, Gebre Medhin,
   Ghebremedhin and Gebremedhin all become GEBREMEDHIN.
3. Apostrophes vanish (O'Brien → OBRIEN); digits and every other punctuation mark,
   including hyphens, become spaces.
4. Leading titles (MR, MRS, MISS, MS, MX, MASTER, DR, PROF, REV, SIR, DAME, LADY,
   LORD) and trailing suffixes (JR, JNR, SR, SNR) are dropped while another word
   remains, so a surname Lord stays LORD.
5. Placeholders (UNKNOWN, NOT KNOWN, NK, N/A, NONE, NULL, BABY, BABY OF) are missing;
   NA written without a slash is a name (Vietnamese, Korean) and is kept.
6. Forename: the first remaining word only; middle names are dropped, so Anne-Marie,
   Anne Marie and Anne all give ANNE. Surname: every word joined without spaces, so
   Smith-Jones, Smith Jones and SmithJones agree.

Name order is not guessed here: a family name recorded as the forename is caught by
the swapped match keys (``sn_fn``), which the linkage compares across columns.

Postcodes: upper case, spaces removed, checked against the UK format (outward code of
2-4 characters, inward code digit + 2 letters) and written ``OUTWARD INWARD``. An
outward code alone (``SW1A``) is kept as a district only.

Identifiers: NHS numbers are 10 digits whose last is the modulus-11 check digit; UPNs
(unique pupil numbers) are 13 characters with a modulus-23 check letter first, and
temporary UPNs (last character a letter) are accepted; PNC ids are ``YY/NNNNNNNL``
(two-digit year, serial of up to 7 digits, modulus-23 check letter). Invalid values
are treated as missing and counted, never guessed.

Placeholders: an email address, telephone number, NHS number or free identifier that the
registry of identifier types calls a stand-in (``is_placeholder`` in
``trelink.specs.identifier_types``: ``unknown@unknown.com``, ``0000000000``) is missing,
as an invalid value is, so that records without one do not agree on it.

``NORMALISATION_VERSION`` is recorded in every pseudonymised extract's manifest, and
``trelink link`` refuses datasets of different versions (``linkage.inputs``): a rule
that changes what a value normalises to changes its tokens. Raise it with any such
change.

1. The rules up to December 2026.
2. Stand-ins are missing (``is_placeholder``): emails, telephone numbers, NHS numbers
   and free identifiers here, dates of birth in ``pseudonymise.match_keys``; declared
   full names lose titles and suffixes before they are split
   (``title_free_words``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from anyascii import anyascii

from trelink.specs.identifier_types import is_placeholder

__all__ = [
    "NORMALISATION_VERSION",
    "Postcode",
    "format_date",
    "normalise_address",
    "normalise_email",
    "normalise_forename",
    "normalise_identifier",
    "normalise_nhs_number",
    "normalise_nhs_numbers",
    "normalise_phone",
    "normalise_pnc_id",
    "normalise_postal_code",
    "normalise_postcode",
    "normalise_postcodes",
    "normalise_surname",
    "normalise_upn",
    "normalise_words",
    "pnc_check_letter",
    "title_free_words",
    "upn_check_letter",
]

NORMALISATION_VERSION = 2

_TITLES = frozenset(
    {"MR", "MRS", "MISS", "MS", "MX", "MASTER", "DR", "PROF", "REV", "SIR", "DAME", "LADY"}
    | {"LORD"}
)
_SUFFIXES = frozenset({"JR", "JNR", "SR", "SNR"})
# Generation numbers end a whole name (John Smith III); in a surname field alone they
# are left to the surname, as before.
_GENERATIONS = frozenset({"II", "III", "IV"})
_PARTICLES = frozenset({"ABD", "ABDUL", "ABDEL", "ABU", "AL", "EL", "GEBRE", "WOLDE", "HAILE"})
_PLACEHOLDERS = frozenset(
    # "N/A" is a placeholder, but NA alone is a name (Vietnamese, Korean), so it stays.
    {"UNKNOWN", "NOT KNOWN", "NK", "N A", "NONE", "NULL", "BABY", "BABY OF"}
)
_PREFIX_SPELLINGS = (("GHEBRE", "GEBRE"), ("WELDE", "WOLDE"))
_ETHIOPIC_ABBREVIATION = re.compile(r"\b([GW])\s*/\s*")
_ABBREVIATION_WORDS = {"G": "GEBRE ", "W": "WOLDE "}
_APOSTROPHES = re.compile(r"['`\u2018\u2019]")
_NOT_LETTER = re.compile(r"[^A-Z]+")


def normalise_words(value: str | None) -> list[str]:
    """Steps 1-5 above: the words of a name, or ``[]`` when it is missing."""
    if value is None:
        return []
    text = anyascii(unicodedata.normalize("NFKC", value)).upper()
    text = _ETHIOPIC_ABBREVIATION.sub(lambda match: _ABBREVIATION_WORDS[match.group(1)], text)
    text = _APOSTROPHES.sub("", text)
    words = [_respell(word) for word in _NOT_LETTER.sub(" ", text).split()]
    while len(words) > 1 and words[0] in _TITLES:
        words = words[1:]
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words = words[:-1]
    if " ".join(words) in _PLACEHOLDERS or "".join(words) in _PLACEHOLDERS:
        return []
    return _join_particles(words)


def title_free_words(text: str) -> list[str]:
    """The words of a whole name as written, without leading titles (``Dr``, ``Mrs.``)
    and trailing suffixes (``Jr``, ``III``), keeping at least one word.

    A full name is split into forename and surname by position, so the titles must go
    first: ``Dr John Smith`` is John Smith, not forename Dr.
    """
    words = text.split()

    def key(word: str) -> str:
        return _NOT_LETTER.sub("", anyascii(unicodedata.normalize("NFKC", word)).upper())

    while len(words) > 1 and key(words[0]) in _TITLES:
        words = words[1:]
    while len(words) > 1 and key(words[-1]) in _SUFFIXES | _GENERATIONS:
        words = words[:-1]
    return words


def _respell(word: str) -> str:
    for spelling, canonical in _PREFIX_SPELLINGS:
        if word.startswith(spelling):
            return canonical + word[len(spelling) :]
    return word


def _join_particles(words: list[str]) -> list[str]:
    joined: list[str] = []
    pending = ""
    for word in words:
        if word in _PARTICLES:
            pending += word
        else:
            joined.append(pending + word)
            pending = ""
    if pending:
        joined.append(pending)
    return joined


def normalise_forename(value: str | None) -> str | None:
    """The first forename, normalised; ``None`` when missing."""
    words = normalise_words(value)
    # "NA Smith" or "Baby Smith" in a forename field records no forename at all.
    return words[0] if words and words[0] not in _PLACEHOLDERS else None


def normalise_surname(value: str | None) -> str | None:
    """The whole surname, normalised, words joined without spaces; ``None`` when missing."""
    words = normalise_words(value)
    return "".join(words) if words else None


@dataclass(frozen=True)
class Postcode:
    """A UK postcode split into the parts match keys use. ``full`` is None for an
    outward code alone."""

    full: str | None
    sector: str | None
    district: str


_OUTWARD = r"(?:[A-Z]{1,2}[0-9][A-Z0-9]?|GIR)"
_FULL_POSTCODE = rf"^(?P<outward>{_OUTWARD})(?P<inward>[0-9][A-Z]{{2}})$"
_OUTWARD_ONLY = rf"^{_OUTWARD}$"
_SPACES_AND_DASHES = r"[\s\-]+"


def _compact_upper(values: Sequence[str | None]) -> pa.Array:
    text = pa.array(values, pa.string())
    if not pc.all(pc.string_is_ascii(text)).as_py():  # NFKC leaves ASCII unchanged
        text = pc.utf8_normalize(text, "NFKC")
    return pc.replace_substring_regex(pc.utf8_upper(text), _SPACES_AND_DASHES, "")


PostcodeColumns = tuple[list[str | None], list[str | None], list[str | None]]


def normalise_postcodes(values: Sequence[str | None]) -> PostcodeColumns:
    """``normalise_postcode`` for many values at once, vectorised with Arrow.

    Returns three lists (full postcode, sector, district); district is None exactly
    when the value is not a postcode.
    """
    text = _compact_upper(values)
    parts = pc.extract_regex(text, _FULL_POSTCODE)
    outward, inward = pc.struct_field(parts, "outward"), pc.struct_field(parts, "inward")
    full = pc.binary_join_element_wise(outward, inward, " ").to_pylist()
    sector = pc.binary_join_element_wise(outward, pc.utf8_slice_codeunits(inward, 0, 1), " ")
    district = pc.if_else(
        pc.is_valid(outward),
        outward,
        pc.if_else(pc.match_substring_regex(text, _OUTWARD_ONLY), text, None),
    ).to_pylist()
    return full, sector.to_pylist(), district


def normalise_postcode(value: str | None) -> Postcode | None:
    """Parse a UK postcode (any spacing or case); ``None`` when it is not one."""
    (full,), (sector,), (district,) = normalise_postcodes([value])
    return None if district is None else Postcode(full, sector, district)


_NHS_WEIGHTS = np.arange(10, 1, -1)


def normalise_nhs_numbers(values: Sequence[str | None]) -> list[str | None]:
    """``normalise_nhs_number`` for many values at once, vectorised with NumPy.

    The modulus-11 rule is ``stdnum.gb.nhs``'s; calling it once per value is several
    times slower on a million-row column (``bench/bench_check_digits.py``), so the rule is
    applied to the whole column here and ``tests/pseudonymise/test_check_digits.py``
    holds the two to the same answers.
    """
    text = pc.replace_substring_regex(pa.array(values, pa.string()), _SPACES_AND_DASHES, "")
    shaped = pc.fill_null(pc.match_substring_regex(text, r"^[0-9]{10}$"), False)
    candidates = np.flatnonzero(shaped.to_numpy(zero_copy_only=False))
    digits_text = pc.take(text, pa.array(candidates)).to_pylist()
    digits = (
        np.frombuffer("".join(digits_text).encode("ascii"), dtype=np.uint8).reshape(-1, 10) - 48
    ).astype(np.int64)
    check = 11 - (digits[:, :9] @ _NHS_WEIGHTS) % 11
    check[check == 11] = 0
    valid = (check != 10) & (check == digits[:, 9])
    results: list[str | None] = [None] * len(values)
    for position, number, ok in zip(candidates.tolist(), digits_text, valid.tolist(), strict=True):
        if ok and not is_placeholder("nhs_number", number):
            results[position] = number
    return results


def normalise_nhs_number(value: str | int | None) -> str | None:
    """A 10-digit NHS number with a valid modulus-11 check digit, else ``None``."""
    return normalise_nhs_numbers([None if value is None else str(value)])[0]


# DfE "Unique Pupil Number" guidance: check letters omit I, O and S.
_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_UPN = re.compile(r"[A-Z][0-9]{11}[0-9A-Z]")


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it (weights 2..13, modulus 23).

    A letter in the last place (a temporary UPN) counts as its index in the
    check-letter alphabet. Computed by ``python-stdnum`` (``stdnum.gb.upn``), whose
    full validation is not used: it also refuses local-authority codes outside its own
    list, which real extracts (and older codes) do not always keep to.
    """
    from stdnum.gb import upn

    return str(upn.calc_check_digit(body))


def normalise_upn(value: str | None) -> str | None:
    """A 13-character UPN (permanent or temporary) with a valid check letter, else None."""
    if value is None:
        return None
    text = re.sub(_SPACES_AND_DASHES, "", value).upper()
    if not _UPN.fullmatch(text) or (text[-1].isalpha() and text[-1] not in _UPN_LETTERS):
        return None
    return text if upn_check_letter(text[1:]) == text[0] else None


# Police National Computer ids: the check letter is (YY * 10^7 + serial) mod 23 indexed
# into this alphabet (again without I, O, S).
_PNC_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"
_PNC = re.compile(r"(\d{2}|\d{4})/(\d{1,7})([A-Z])")


def pnc_check_letter(year: int, serial: int) -> str:
    """Check letter of PNC id ``YY/serial`` (two-digit year)."""
    return _PNC_LETTERS[(year % 100 * 10_000_000 + serial) % 23]


def normalise_pnc_id(value: str | None) -> str | None:
    """A PNC id in canonical ``YY/NNNNNNNL`` form with a valid check letter, else None.

    Four-digit years (2004/123456K) and short serials are accepted and rewritten.
    """
    if value is None:
        return None
    match = _PNC.fullmatch(re.sub(_SPACES_AND_DASHES, "", value).upper())
    if match is None:
        return None
    year, serial, letter = int(match.group(1)) % 100, int(match.group(2)), match.group(3)
    if pnc_check_letter(year, serial) != letter:
        return None
    return f"{year:02d}/{serial:07d}{letter}"


_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")
_PHONE_DIGITS = 9  # a national number without its trunk 0 or country code
_MIN_PHONE_DIGITS = 6


def _ascii_upper(value: str) -> str:
    return anyascii(unicodedata.normalize("NFKC", value)).upper()


def normalise_address(value: str | None) -> str | None:
    """Address or locality text: ASCII upper case, words of letters and digits, single
    spaces (``12 St. Mary's Rd`` → ``12 ST MARYS RD``); ``None`` when nothing remains."""
    if value is None:
        return None
    text = _NOT_ALNUM.sub(" ", _APOSTROPHES.sub("", _ascii_upper(value))).strip()
    return text or None


def normalise_postal_code(value: str | None) -> str | None:
    """A postcode of any country: its letters and digits, upper case (``2602``, ``75008``)."""
    if value is None:
        return None
    text = _NOT_ALNUM.sub("", _ascii_upper(value))
    return text or None


def normalise_identifier(value: str | None) -> str | None:
    """A free identifier (no check digit): letters and digits, upper case; leading zeros
    kept. ``None`` when fewer than two characters remain."""
    if value is None:
        return None
    text = _NOT_ALNUM.sub("", _ascii_upper(value))
    return text if len(text) >= 2 and not is_placeholder("identifier", text) else None


def normalise_email(value: str | None) -> str | None:
    """An email address in lower case without spaces; ``None`` unless it has one ``@``
    with text on both sides, and for a placeholder (``unknown@unknown.com``)."""
    if value is None:
        return None
    text = "".join(anyascii(unicodedata.normalize("NFKC", value)).lower().split())
    local, at, domain = text.partition("@")
    if not at or not local or not domain or "@" in domain:
        return None
    return None if is_placeholder("email", text) else text


def normalise_phone(value: str | None) -> str | None:
    """The last nine digits of a telephone number (drops country code and trunk 0:
    ``+44 7700 900123`` and ``07700900123`` agree); ``None`` under six digits and for a
    placeholder (``0000000000``, ``07000000000``, ``0123456789``)."""
    if value is None:
        return None
    digits = re.sub(r"[^0-9]", "", value)
    if len(digits) < _MIN_PHONE_DIGITS:
        return None
    kept = digits[-_PHONE_DIGITS:]
    return None if is_placeholder("phone", kept) else kept


def format_date(value: dt.date) -> str:
    """Dates enter match keys as ``YYYY-MM-DD``."""
    return value.isoformat()
