"""Opt-in Bloom-filter encodings: close names are similar, keys and salts separate them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from pydantic import ValidationError

from pseudonymise import pseudonymise_table
from pseudonymise.bloom import BloomSettings, bigrams, dice
from pseudonymise.spec import PseudonymiseSpec

LINKAGE = bytes(range(32))
OWNER = bytes(range(1, 33))


def _filters(
    forenames: list[str],
    *,
    key: bytes = LINKAGE,
    salt: bool = False,
    years: list[int] | None = None,
) -> list[bytes]:
    rows = len(forenames)
    frame = pd.DataFrame(
        {
            "record_id": [str(index) for index in range(rows)],
            "forename": forenames,
            "surname": ["Haile"] * rows,
            "dob": [dt.date(year, 1, 1) for year in (years or [2006] * rows)],
        }
    )
    options = PseudonymiseSpec(version=1, bloom=BloomSettings(salt_with_birth_year=salt))
    identity = pseudonymise_table(frame, linkage_key=key, owner_key=OWNER, options=options).identity
    assert identity is not None
    assert identity.column("bf_surname").type.byte_width == 1024 // 16
    filters: list[bytes] = identity.column("bf_forename").to_pylist()
    return filters


def test_bigrams_pad_the_ends() -> None:
    assert bigrams("ALI") == ["_A", "AL", "LI", "I_"]


def test_similar_names_score_higher_than_different_names() -> None:
    khaled, khalid, grace, khaled_again = _filters(["Khaled", "Khalid", "Grace", "KHALED"])
    assert khaled == khaled_again
    assert dice(khaled, khalid) > 0.6 > dice(khaled, grace)


def test_another_key_or_birth_year_changes_the_filter() -> None:
    (ours,) = _filters(["Khaled"])
    (theirs,) = _filters(["Khaled"], key=bytes(32))
    assert dice(ours, theirs) < 0.6
    first, second = _filters(["Khaled", "Khaled"], salt=True, years=[2006, 2007])
    assert dice(first, second) < 0.6


def test_settings_are_validated() -> None:
    with pytest.raises(ValidationError, match="multiple of 16"):
        BloomSettings(bits=1000)
    with pytest.raises(ValidationError, match="forename and surname only"):
        BloomSettings(fields=("postcode",))
