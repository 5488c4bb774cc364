from __future__ import annotations

import re

import jellyfish
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from trelink.synth.corrupt import typo
from trelink.synth.identifiers import nhs_numbers, pnc_ids, unique_pupil_numbers
from trelink.synth.names import TRANSLITERATIONS, build_name_pools, ethiopic_abbreviation

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


@given(
    st.text(alphabet=st.characters(categories=["L"]), min_size=2, max_size=20),
    st.lists(st.floats(0, 0.999), min_size=3, max_size=3),
)
def test_typo_is_one_keyboard_slip(name: str, draws: list[float]) -> None:
    assert jellyfish.damerau_levenshtein_distance(name, typo(name, draws)) <= 1


def test_nhs_numbers_carry_a_valid_check_digit() -> None:
    for number in nhs_numbers(np.random.default_rng(3), 2_000):
        digits = [int(d) for d in number]
        check = (
            11 - sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
        ) % 11
        assert len(number) == 10 and check == digits[9] and check != 10


def test_upns_have_check_letters_and_temporary_ones_end_in_a_letter() -> None:
    rng = np.random.default_rng(4)
    temporary = rng.random(500) < 0.5
    for value, is_temporary in zip(
        unique_pupil_numbers(rng, 500, temporary=temporary), temporary, strict=True
    ):
        assert re.fullmatch(r"[A-Z]\d{11}[0-9A-Z]", value)
        body = value[1:]
        total = sum(
            (int(c) if c.isdigit() else UPN_LETTERS.index(c)) * position
            for position, c in enumerate(body, start=2)
        )
        assert value[0] == UPN_LETTERS[total % 23]
        assert value[-1].isalpha() == bool(is_temporary)


def test_pnc_ids_have_the_police_format() -> None:
    for value in pnc_ids(np.random.default_rng(5), 200):
        assert re.fullmatch(r"\d{2}/\d{7}[A-Z]", value)


def test_name_pools_cover_every_origin_with_latin_names() -> None:
    pools = build_name_pools()
    for pool in pools.values():
        assert pool.forenames_male and pool.forenames_female and pool.surnames
        assert all(name[0].isalpha() for name in pool.surnames)
    assert "Nguyễn" in pools["vietnamese"].surnames
    assert "Muhammad" in TRANSLITERATIONS["Mohammed"]
    assert ethiopic_abbreviation("Gebremedhin") == "G/Medhin"
    assert ethiopic_abbreviation("Weldemariam") == "W/Mariam"
    assert ethiopic_abbreviation("Hoxha") is None
