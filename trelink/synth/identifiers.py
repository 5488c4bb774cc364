"""Administrative identifiers with valid check characters: NHS numbers, UPNs, PNC ids.

Valid check characters matter: the pseudonymiser validates them, and an invalid value
in the data should be a deliberate error, not an accident of the generator.
"""

from __future__ import annotations

import numpy as np
from stdnum.gb import upn

__all__ = ["nhs_numbers", "pnc_ids", "unique_pupil_numbers"]

_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # 23 letters; I, O, S are never used
_PNC_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"


def nhs_numbers(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` ten-digit NHS numbers whose last digit is the modulus-11 check digit."""
    digits = rng.integers(0, 10, size=(count, 9))
    digits[:, 0] = rng.integers(4, 7, size=count)  # issued numbers start 4-6 in England
    weights = np.arange(10, 1, -1)
    while True:
        check = (11 - (digits @ weights) % 11) % 11
        invalid = check == 10
        if not invalid.any():
            break
        digits[invalid, 8] = (digits[invalid, 8] + 1) % 10
    return [
        "".join(map(str, row)) + str(value)
        for row, value in zip(digits.tolist(), check.tolist(), strict=True)
    ]


def unique_pupil_numbers(
    rng: np.random.Generator, count: int, *, temporary: np.ndarray
) -> list[str]:
    """UPNs: check letter, LA code, school, year, serial; temporary ones end in a letter."""
    local_authority = rng.integers(201, 938, size=count)
    school = rng.integers(1000, 7000, size=count)
    year = rng.integers(5, 22, size=count)
    serial = rng.integers(0, 1000, size=count)
    last_letter = rng.integers(0, 23, size=count)
    values: list[str] = []
    for index in range(count):
        body = (
            f"{local_authority[index]:03d}{school[index]:04d}{year[index]:02d}{serial[index]:03d}"
        )
        if temporary[index]:
            body = body[:-1] + _UPN_LETTERS[last_letter[index]]
        values.append(upn.calc_check_digit(body) + body)
    return values


def pnc_ids(rng: np.random.Generator, count: int) -> list[str]:
    """Police National Computer ids such as '19/1234567A' (year / serial + check letter)."""
    years = rng.integers(5, 23, size=count)
    serials = rng.integers(1, 10_000_000, size=count)
    return [
        f"{year:02d}/{serial:07d}{_PNC_LETTERS[(year * 10_000_000 + serial) % 23]}"
        for year, serial in zip(years.tolist(), serials.tolist(), strict=True)
    ]
