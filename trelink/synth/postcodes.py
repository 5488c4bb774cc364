"""UK-shaped postcodes and placement histories.

Postcodes look real (area, district, sector, unit: 'B12 9QX') but are drawn at random,
so some will not exist; that does not matter for linkage. Areas are weighted towards
the ICTG sites' regions, where most placements in the data are.
"""

from __future__ import annotations

import numpy as np

__all__ = ["postcode_histories", "random_postcodes"]

_AREAS = ("B", "SO", "PO", "M", "CR", "CF", "SA", "WV", "NG", "LE", "LS", "BD", "L", "E", "N", "SE")
_AREA_WEIGHTS = (10, 4, 3, 10, 5, 4, 2, 4, 4, 3, 5, 3, 5, 6, 5, 6)
_UNIT_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))


def random_postcodes(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` postcodes such as 'M14 5RT'."""
    weights = np.array(_AREA_WEIGHTS, dtype=float)
    areas = rng.choice(np.array(_AREAS), size=count, p=weights / weights.sum())
    districts = rng.integers(1, 30, size=count)
    sectors = rng.integers(0, 10, size=count)
    first = _UNIT_LETTERS[rng.integers(0, _UNIT_LETTERS.size, size=count)]
    second = _UNIT_LETTERS[rng.integers(0, _UNIT_LETTERS.size, size=count)]
    return [
        f"{area}{district} {sector}{a}{b}"
        for area, district, sector, a, b in zip(
            areas.tolist(),
            districts.tolist(),
            sectors.tolist(),
            first.tolist(),
            second.tolist(),
            strict=True,
        )
    ]


def postcode_histories(
    rng: np.random.Generator, count: int, *, moves_mean: float
) -> list[tuple[str, ...]]:
    """One placement history per person: 1 + Poisson(``moves_mean``) postcodes, capped at 5."""
    lengths = np.minimum(1 + rng.poisson(moves_mean, size=count), 5)
    pool = random_postcodes(rng, int(lengths.sum()))
    histories: list[tuple[str, ...]] = []
    start = 0
    for length in lengths.tolist():
        histories.append(tuple(pool[start : start + length]))
        start += length
    return histories
