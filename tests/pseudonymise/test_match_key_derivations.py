"""Every derivation the match-key spec may name is implemented, and nothing is
implemented that the spec cannot name; each yields what the spec says it yields."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from pseudonymise.encoded import Encoded, EncodedLists
from pseudonymise.match_keys import derive_parts, implemented_derivations
from trelink.specs.match_keys import LIST_DERIVATIONS, Derivation, load_match_key_spec

DECLARED = frozenset(Derivation.__args__)  # type: ignore[attr-defined]


def test_declared_and_implemented_derivations_are_the_same() -> None:
    assert sorted(DECLARED - implemented_derivations()) == []  # declared, not implemented
    assert sorted(implemented_derivations() - DECLARED) == []  # implemented, not declared


def test_the_default_spec_names_only_declared_derivations() -> None:
    used = {part for key in load_match_key_spec().match_keys for part in key.derive}
    assert used and used <= DECLARED


def test_every_derivation_yields_lists_exactly_when_the_spec_says_so() -> None:
    alias = pa.struct([("forename", pa.string()), ("surname", pa.string())])
    table = pa.table(
        {
            "forename": ["William", None],
            "surname": ["Haile", "Tran"],
            "middle_name": ["Tesfay", None],
            "dob": pa.array([dt.date(2005, 3, 7), None], pa.date32()),
            "dob_alt": pa.array([[dt.date(2005, 7, 3)], None], pa.list_(pa.date32())),
            "aliases": pa.array([[{"forename": "Bill", "surname": "Hale"}], None], pa.list_(alias)),
            "postcode": ["B1 1AB", "not one"],
            "nhs_number": ["9434765919", None],
            "upn": [None, None],
            "pnc_id": [None, None],
            "address": ["1 High Street", None],
            "locality": ["Birmingham", None],
            "postal_code": ["75001", None],
            "email": ["a.b@mail.org", None],
            "phone": ["0121 496 0000", None],
            "identifier": ["AB-1234", None],
        }
    )
    parts = derive_parts(table, sorted(DECLARED))
    kinds = {name: isinstance(part, EncodedLists) for name, part in parts.items()}
    assert {name for name, is_list in kinds.items() if is_list} == LIST_DERIVATIONS
    assert all(isinstance(part, Encoded | EncodedLists) for part in parts.values())


def test_placeholder_and_future_dates_of_birth_are_missing_and_counted() -> None:
    """1900-01-01 (a system's unknown date) agreed across everyone given it; 2065 is a
    two-digit year read a century late. Neither enters a match key; both are counted."""
    from pseudonymise.match_keys import derive_match_keys

    table = pa.table(
        {
            "record_id": ["a", "b", "c", "d"],
            "forename": ["Ann", "Ben", "Cat", "Dan"],
            "surname": ["Lee", "Kay", "Day", "Orr"],
            "dob": pa.array(
                [dt.date(1900, 1, 1), dt.date(2065, 2, 1), dt.date(2001, 4, 23), None],
                pa.date32(),
            ),
            "dob_alt": pa.array(
                [[dt.date(1899, 12, 30), dt.date(1990, 5, 6)], None, None, None],
                pa.list_(pa.date32()),
            ),
        }
    )
    derived = derive_match_keys(table, load_match_key_spec())
    dob = derived.keys["dob"]
    assert isinstance(dob, Encoded)
    assert (dob.codes < 0).tolist() == [True, True, False, True]
    assert derived.invalid == {"dob": 2, "dob_alt": 1}
    alternatives = derive_parts(table, ["dob_alternatives"])["dob_alternatives"]
    assert isinstance(alternatives, EncodedLists)
    assert alternatives.lists[alternatives.codes[0]] == ["1990-05-06"]
