"""Normalisation: the variants the design says must agree do agree; it is idempotent."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pseudonymise import normalise

AGREE = [
    ("Nguyễn", "Nguyen", "NGUYEN"),
    ("Đặng", "Dang", "DANG"),
    ("G/Medhin", "Gebremedhin", "GEBREMEDHIN"),
    ("G / Medhin", "Gebre Medhin", "GEBREMEDHIN"),
    ("Ghebremedhin", "G/MEDHIN", "GEBREMEDHIN"),
    ("Weldemariam", "W/Mariam", "WOLDEMARIAM"),
    ("W/Mariam", "Wolde-Mariam", "WOLDEMARIAM"),
    ("Smith-Jones", "smith jones", "SMITHJONES"),
    ("O'Brien", "OBRIEN", "OBRIEN"),
    ("Mr. Smith", "SMITH", "SMITH"),
    ("Abdul Rahman", "Abdulrahman", "ABDULRAHMAN"),
    ("Şahin", "sahin", "SAHIN"),
    ("  smith  ", "Smith Jr", "SMITH"),
]


@pytest.mark.parametrize(("one", "other", "expected"), AGREE)
def test_surname_variants_agree(one: str, other: str, expected: str) -> None:
    assert normalise.normalise_surname(one) == normalise.normalise_surname(other) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Anne-Marie", "ANNE"),
        ("anne marie", "ANNE"),
        ("Miss Anne", "ANNE"),
        ("Dr John Paul", "JOHN"),
        ("G/Egziabher Tesfay", "GEBREEGZIABHER"),
        ("NK Smith", None),
        ("Na", "NA"),
        ("N/A", None),
        ("Not Known", None),
        ("", None),
        (None, None),
        ("Lord", "LORD"),
    ],
)
def test_forename_is_first_name_without_titles(raw: str | None, expected: str | None) -> None:
    assert normalise.normalise_forename(raw) == expected


@given(st.text(max_size=30))
def test_name_normalisation_is_idempotent(text: str) -> None:
    for function in (normalise.normalise_forename, normalise.normalise_surname):
        once = function(text)
        assert function(once) == once
        assert once is None or (once.isascii() and once.isalpha() and once.isupper())


@pytest.mark.parametrize(
    ("raw", "full", "sector", "district"),
    [
        ("sw1a1aa", "SW1A 1AA", "SW1A 1", "SW1A"),
        (" M1  1ae ", "M1 1AE", "M1 1", "M1"),
        ("B33-8TH", "B33 8TH", "B33 8", "B33"),
        ("SW1A", None, None, "SW1A"),
    ],
)
def test_postcodes(raw: str, full: str | None, sector: str | None, district: str) -> None:
    assert normalise.normalise_postcode(raw) == normalise.Postcode(full, sector, district)


@pytest.mark.parametrize("raw", ["hello", "12345", "SW1A 1A", "", None])
def test_not_postcodes(raw: str | None) -> None:
    assert normalise.normalise_postcode(raw) is None


def test_nhs_number_check_digit() -> None:
    assert normalise.normalise_nhs_number("943 476 5919") == "9434765919"
    assert normalise.normalise_nhs_number(9434765919) == "9434765919"
    assert normalise.normalise_nhs_number("9434765918") is None  # wrong check digit
    assert normalise.normalise_nhs_number("943476591") is None  # 9 digits
    assert normalise.normalise_nhs_number("1000000010") is None  # remainder gives 10


def test_upn_check_letter_permanent_and_temporary() -> None:
    permanent = "801201001001"
    valid = normalise.upn_check_letter(permanent) + permanent
    assert normalise.normalise_upn(valid.lower()) == valid
    wrong = ("B" if valid[0] == "A" else "A") + permanent
    assert normalise.normalise_upn(wrong) is None
    temporary = "80120100100K"
    valid_temporary = normalise.upn_check_letter(temporary) + temporary
    assert normalise.normalise_upn(valid_temporary) == valid_temporary
    assert normalise.normalise_upn(valid[:-1]) is None


def test_pnc_id_check_letter_and_canonical_form() -> None:
    letter = normalise.pnc_check_letter(4, 12345)
    assert normalise.normalise_pnc_id(f"2004/12345{letter}") == f"04/0012345{letter}"
    assert normalise.normalise_pnc_id(f"04/0012345{letter.lower()}") == f"04/0012345{letter}"
    other = "A" if letter != "A" else "B"
    assert normalise.normalise_pnc_id(f"04/0012345{other}") is None
    assert normalise.normalise_pnc_id("0012345") is None


words = st.text(alphabet="ABCDEFGHIJKLMNOPRSTUVWYZ", min_size=2, max_size=9)
accented = str.maketrans({"E": "É", "A": "Ä", "O": "Ø", "U": "Ü", "N": "Ñ", "C": "Ç"})


@given(first=words, second=words, title=st.sampled_from(["Mr", "Miss", "Dr", "Mrs."]))
def test_design_variants_agree(first: str, second: str, title: str) -> None:
    # Particles join the next word, titles and suffixes go: those are the rules, not variants.
    special = {"ABD", "ABDUL", "ABDEL", "ABU", "AL", "EL", "GEBRE", "WOLDE", "HAILE", "JR"}
    special |= {"JNR", "SR", "SNR", "MR", "MRS", "MISS", "MS", "MX", "MASTER", "DR", "PROF"}
    special |= {"REV", "SIR", "DAME", "LADY", "LORD"}
    assume(first not in special and second not in special)
    # GHEBRE and WELDE are respelled GEBRE and WOLDE, particles themselves.
    assume(not any(word.startswith(("GHEBRE", "WELDE")) for word in (first, second)))
    forename = normalise.normalise_forename
    surname = normalise.normalise_surname
    assert forename(first) == forename(first.lower()) == forename(f"  {first.title()} ")
    assert forename(first) == forename(f"{title} {first}") == forename(f"{first}-{second}")
    assert forename(first) == forename(first.translate(accented))
    assert surname(f"{first}-{second}") == surname(f"{first} {second}") == surname(first + second)
    assert surname(f"{first}'{second}") == surname(f"{first}{second}".lower())


@pytest.mark.parametrize(
    "placeholder",
    ["unknown@unknown.com", "UNKNOWN@UNKNOWN.COM", "noemail@nhs.net", "no.email@gmail.com",
     "none@none.com", "n.a@x.org", "xxx@xxx.com", "aaaa@gmail.com", "someone@example.org",
     "a@mail.example.com", "test@test.com", "donotreply@trust.nhs.uk", "x@unknown.co.uk"],
)  # fmt: skip
def test_placeholder_email_addresses_are_missing(placeholder: str) -> None:
    """Stand-ins written where no address is known would make false links: missing."""
    assert normalise.normalise_email(placeholder) is None


@pytest.mark.parametrize(
    "real", ["anna.kowalska@example-mail.org", "j@smith.net", "na.lee@gmail.com",
             "testa@school.sch.uk", "info@email.com"],
)  # fmt: skip
def test_real_email_addresses_are_kept(real: str) -> None:
    assert normalise.normalise_email(real) == real.lower()


@pytest.mark.parametrize(
    "placeholder",
    ["0000000000", "07000000000", "+44 0000 000000", "99999999999", "0123456789",
     "01234 567890", "0987654321", "1111111"],
)  # fmt: skip
def test_placeholder_phone_numbers_are_missing(placeholder: str) -> None:
    assert normalise.normalise_phone(placeholder) is None


def test_real_phone_numbers_are_kept() -> None:
    assert normalise.normalise_phone("07700 900123") == "700900123"
    assert normalise.normalise_phone("020 7946 0000") == "079460000"


def test_repeated_digit_nhs_numbers_and_identifiers_are_missing() -> None:
    """Every repeated-digit NHS number passes the modulus-11 check: a stand-in all the same."""
    repeated = [str(digit) * 10 for digit in range(10)]
    assert normalise.normalise_nhs_numbers([*repeated, "9434765919"]) == [None] * 10 + [
        "9434765919"
    ]
    for placeholder in ("000000", "99999999", "XXXXXX", "x-x-x-x"):
        assert normalise.normalise_identifier(placeholder) is None
    for real in ("11", "A1111111", "4066625"):
        assert normalise.normalise_identifier(real) == real


# Values whose normalised form a rule change would alter: names with titles, particles,
# abbreviations and placeholders, and the stand-ins and formats of every identifier.
_VERSIONED_SAMPLE: tuple[tuple[str, str], ...] = (
    ("normalise_forename", "Dr Anne-Marie"),
    ("normalise_forename", "Baby of"),
    ("normalise_forename", "Na"),
    ("normalise_surname", "G/Medhin"),
    ("normalise_surname", "Ghebre Medhin"),
    ("normalise_surname", "O'Brien-Nguyễn Jr"),
    ("normalise_surname", "N/A"),
    ("normalise_surname", "Lord"),
    ("title_free_words", "Mrs. Jane Smith III"),
    ("normalise_postal_code", "sw1a 1aa"),
    ("normalise_nhs_number", "943 476 5919"),
    ("normalise_nhs_number", "0000000000"),
    ("normalise_nhs_number", "4444444444"),
    ("normalise_upn", "x801200100123"),
    ("normalise_pnc_id", "1999/1234567b"),
    ("normalise_identifier", "ab-123"),
    ("normalise_identifier", "0000000000"),
    ("normalise_identifier", "n/a"),
    ("normalise_email", " Jane.Doe@NHS.net "),
    ("normalise_email", "unknown@unknown.com"),
    ("normalise_email", "a@example.org"),
    ("normalise_phone", "+44 7700 900123"),
    ("normalise_phone", "07000000000"),
    ("normalise_phone", "0123456789"),
    ("normalise_address", "12 St. Mary's Rd"),
)
# The digest of the sample's normalised forms under each NORMALISATION_VERSION.
_DIGESTS = {2: "160548466e87364c"}


def test_a_change_in_what_values_normalise_to_raises_the_version() -> None:
    """Datasets of different versions are refused at linkage; a rule that changes a
    value's normalised form (and so its tokens) without a new version would let them
    link and silently disagree. If this fails: raise ``NORMALISATION_VERSION``, say what
    changed in ``pseudonymise.normalise``'s docstring and record the new digest here."""
    outputs = [
        [function, value, getattr(normalise, function)(value)]
        for function, value in _VERSIONED_SAMPLE
    ]
    digest = hashlib.sha256(json.dumps(outputs).encode()).hexdigest()[:16]
    assert _DIGESTS.get(normalise.NORMALISATION_VERSION) == digest, (
        f"normalisation version {normalise.NORMALISATION_VERSION}: digest {digest}"
    )
