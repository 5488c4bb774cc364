"""Name pools: sizes, patronymic surnames, published Vietnamese shares, skew, collisions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trelink.synth import SynthError
from trelink.synth.names import (
    TRANSLITERATIONS,
    NamePool,
    build_name_pools,
    name_collision_rates,
)
from trelink.synth.population import make_people

CURATED = (
    "albanian",
    "arabic_sudan",
    "arabic_gulf_iraq",
    "pashto_dari",
    "persian",
    "tigrinya",
    "amharic",
)
PATRONYMIC = ("arabic_sudan", "tigrinya", "amharic")
# Published shares of the commonest Vietnamese family names.
VIETNAMESE_SHARES = {
    "Nguyễn": 0.38,
    "Trần": 0.11,
    "Lê": 0.095,
    "Phạm": 0.07,
    "Hoàng": 0.05,
    "Huỳnh": 0.05,
}


@pytest.fixture(scope="module")
def pools() -> dict[str, NamePool]:
    return build_name_pools()


@pytest.fixture(scope="module")
def children(pools: dict[str, NamePool]) -> pd.DataFrame:
    return make_people(
        np.random.default_rng(11), count=100_000, kind="child", pools=pools, id_prefix="T"
    )


def within(observed: float, expected: float, count: int, sigmas: float = 4.5) -> bool:
    """Binomial tolerance, widened a little because siblings copy a surname (not iid)."""
    return abs(observed - expected) <= sigmas * 1.1 * math.sqrt(expected * (1 - expected) / count)


@pytest.mark.parametrize("origin", [*CURATED, "vietnamese"])
def test_curated_pools_are_large_enough_and_hold_no_duplicates(
    pools: dict[str, NamePool], origin: str
) -> None:
    pool = pools[origin]
    assert len(pool.forenames_male) >= 60
    assert len(pool.forenames_female) >= 45
    # Vietnamese family names are few and concentrated (see the published shares).
    assert len(pool.surnames) >= (16 if origin == "vietnamese" else 60)
    for names in (pool.forenames_male, pool.forenames_female, pool.surnames):
        assert len(set(names)) == len(names)
        assert all(name.strip() == name and " " not in name for name in names)


def test_every_canonical_variant_spelling_is_drawn_somewhere(pools: dict[str, NamePool]) -> None:
    drawn = {
        name
        for pool in pools.values()
        for name in (*pool.forenames_male, *pool.forenames_female, *pool.surnames)
    }
    assert set(TRANSLITERATIONS) <= drawn


def test_collision_rate_is_exact_on_a_hand_made_pool() -> None:
    # Boys: A 3/4, B 1/4. Surnames: half the family list (A and Y equally), half the
    # father's name, so A = 1/4 + 3/8, Y = 1/4, B = 1/8.
    pool = NamePool(
        "tiny",
        forenames_male=("A", "B"),
        forenames_female=("C",),
        surnames=("A", "Y"),
        patronymic=0.5,
        forenames_male_weights=(3.0, 1.0),
    )
    surname_sum = (5 / 8) ** 2 + (1 / 4) ** 2 + (1 / 8) ** 2
    rates = name_collision_rates({"tiny": pool})
    assert rates["tiny"]["M"] == pytest.approx(((3 / 4) ** 2 + (1 / 4) ** 2) * surname_sum)
    assert rates["tiny"]["F"] == pytest.approx(surname_sum)


@pytest.mark.parametrize(
    "bad",
    [
        {"forenames_male_weights": (1.0,)},
        {"surname_weights": (1.0, 0.0)},
        {"patronymic": 1.5},
        {"forenames_female": ()},
    ],
)
def test_inconsistent_pools_are_refused(bad: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "origin": "tiny",
        "forenames_male": ("A", "B"),
        "forenames_female": ("C",),
        "surnames": ("X", "Y"),
    }
    with pytest.raises(SynthError, match="tiny"):
        NamePool(**(fields | bad))


@pytest.mark.parametrize("origin", CURATED)
def test_patronymic_origins_take_most_surnames_from_fathers_names(
    pools: dict[str, NamePool], children: pd.DataFrame, origin: str
) -> None:
    pool = pools[origin]
    surnames = children.loc[children["origin"] == origin, "surname"]
    fathers, family = set(pool.forenames_male), set(pool.surnames)
    share_from_fathers = float(surnames.isin(fathers).mean())
    if origin in PATRONYMIC:
        # 80% are the father's name; the other 20% come from the (uniform) family list,
        # some of whose names are also given names.
        expected = 0.8 + 0.2 * len(family & fathers) / len(family)
        assert within(share_from_fathers, expected, len(surnames))
        assert not surnames.isin(family).all()
    else:
        assert surnames.isin(family).all()


def test_siblings_share_their_surname(children: pd.DataFrame) -> None:
    families = children.groupby("family_id")
    sizes = families.size()
    assert (sizes > 1).sum() > 5_000
    assert (families["surname"].nunique()[sizes > 1] == 1).all()
    patronymic_families = children[children["origin"].isin(PATRONYMIC)].groupby("family_id")
    assert (patronymic_families.size() > 1).sum() > 500


def test_vietnamese_surnames_follow_published_shares(children: pd.DataFrame) -> None:
    surnames = children.loc[children["origin"] == "vietnamese", "surname"]
    shares = surnames.value_counts(normalize=True)
    for name, expected in VIETNAMESE_SHARES.items():
        assert within(float(shares[name]), expected, len(surnames)), name


def test_curated_forenames_are_skewed_towards_the_first_listed(
    pools: dict[str, NamePool], children: pd.DataFrame
) -> None:
    boys = children.loc[(children["origin"] == "arabic_sudan") & (children["sex"] == "M")]
    listed = len(pools["arabic_sudan"].forenames_male)
    expected = (1 / 5) / sum(1 / (rank + 5) for rank in range(listed))
    assert within(float((boys["forename"] == "Mohammed").mean()), expected, len(boys))


def test_chinese_given_names_have_one_or_two_syllables(
    pools: dict[str, NamePool], children: pd.DataFrame
) -> None:
    pool = pools["chinese"]
    assert {"Wei", "Jie", "Weijie"} <= set(pool.forenames_male)
    names = set(pool.forenames_male) | set(pool.forenames_female)

    def two_syllables(name: str) -> bool:
        return any(
            name[:cut] in names and name[cut:].capitalize() in names for cut in range(1, len(name))
        )

    given = children.loc[children["origin"] == "chinese", "forename"]
    assert within(float(given.map(two_syllables).mean()), 0.5, len(given))
