"""NHS-number and UPN check characters agree with ``python-stdnum`` on many values.

``normalise_nhs_numbers`` applies stdnum's modulus-11 rule to whole columns (for speed,
``bench/bench_check_digits.py``) and ``upn_check_letter`` calls stdnum; the generator
uses stdnum's UPN check letter too. These tests hold both to stdnum's answers on
generated numbers, random strings and one-character typos of valid numbers.
"""

from __future__ import annotations

import numpy as np
from stdnum.gb import nhs, upn

from pseudonymise.normalise import normalise_nhs_numbers, normalise_upn, upn_check_letter
from trelink.synth.identifiers import nhs_numbers, unique_pupil_numbers

_ROWS = 5_000


def _typos(values: list[str], rng: np.random.Generator) -> list[str]:
    """Each value with one character replaced by another of the same kind."""
    altered = []
    for value in values:
        position = int(rng.integers(len(value)))
        pool = "0123456789" if value[position].isdigit() else "ABCDEFGHJKLMNPQRTUVWXYZ"
        altered.append(value[:position] + str(rng.choice(list(pool))) + value[position + 1 :])
    return altered


def test_nhs_numbers_agree_with_stdnum() -> None:
    rng = np.random.default_rng(1)
    generated = nhs_numbers(rng, _ROWS)
    random_digits = [f"{value:010d}" for value in rng.integers(0, 10**10, _ROWS).tolist()]
    values = generated + random_digits + _typos(generated, rng)
    values += [f"{value[:3]} {value[3:6]}-{value[6:]}" for value in generated[:100]]
    ours = [number is not None for number in normalise_nhs_numbers(values)]
    assert ours == [nhs.is_valid(value) for value in values]
    assert all(ours[:_ROWS])  # the generator only makes valid numbers
    assert 0 < sum(ours[_ROWS:]) < 2 * _ROWS  # some random strings pass, most do not


def test_upn_check_letters_agree_with_stdnum() -> None:
    rng = np.random.default_rng(2)
    temporary = rng.random(_ROWS) < 0.2
    generated = unique_pupil_numbers(rng, _ROWS, temporary=temporary)
    for value in generated + _typos(generated, rng):
        assert upn_check_letter(value[1:]) == upn.calc_check_digit(value[1:])
        assert (normalise_upn(value) is not None) == (upn.calc_check_digit(value[1:]) == value[0])
    assert all(normalise_upn(value) == value for value in generated)
