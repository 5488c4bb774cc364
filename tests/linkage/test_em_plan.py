"""EM sessions chosen from the data: every session identifiable, every comparison trained."""

from __future__ import annotations

import re
from pathlib import Path

from linkage.em_plan import (
    MIN_PAIRS,
    candidate_blocks,
    changeable_comparisons,
    informative_comparisons,
    plan_sessions,
)
from trelink.specs.match_keys import load_match_key_spec

SPEC = load_match_key_spec()


def _comparisons(*names: str):  # type: ignore[no-untyped-def]
    return [comparison for comparison in SPEC.comparisons if comparison.name in names]


def _available(comparisons) -> set[str]:  # type: ignore[no-untyped-def]
    from linkage.comparisons import comparison_columns

    keys = {"name_set", "fn", "sn", "dob", "pc_district"}
    for comparison in comparisons:
        keys.update(comparison_columns(comparison))
    return keys


def _plan(comparisons, configured, pairs=10_000):  # type: ignore[no-untyped-def]
    return plan_sessions(
        candidate_blocks(configured, comparisons),
        comparisons=comparisons,
        informative={comparison.name for comparison in comparisons},
        changeable=changeable_comparisons(comparisons, SPEC),
        available=_available(comparisons),
        pair_count=lambda _keys: pairs,
    )


def test_changeable_fields_come_from_the_identifier_registry() -> None:
    found = changeable_comparisons(SPEC.comparisons, SPEC)
    assert {"postcode", "address", "locality", "postal_code", "email", "phone"} <= found
    assert not {"name", "dob", "nhs_number", "identifier"} & found


def test_no_session_is_left_with_a_changeable_field_alone() -> None:
    """The held-out failure: blocked on forename + dob, only postcode was left to train,
    and EM learnt 'same postcode = same person'. That session is never chosen now."""
    comparisons = _comparisons("name", "dob", "postcode")
    plan = _plan(comparisons, SPEC.em_blocks)
    assert ("fn", "dob") not in [session.keys for session in plan.sessions]
    for session in plan.sessions:
        assert len(session.trains) >= 2
        assert set(session.trains) - {"postcode"}
    trained = [name for session in plan.sessions for name in session.trains]
    assert {"name", "dob", "postcode"} <= set(trained)
    assert not plan.untrainable


def test_data_without_postcodes_still_train_every_comparison() -> None:
    """FEBRL-like fields: the configured blocks need a UK postcode district the data do
    not have; blocks on the fields present take over."""
    comparisons = _comparisons("name", "dob", "address", "locality", "postal_code", "identifier")
    available = _available(comparisons) - {"pc_district"}
    plan = plan_sessions(
        candidate_blocks(SPEC.em_blocks, comparisons),
        comparisons=comparisons,
        informative={comparison.name for comparison in comparisons},
        changeable=changeable_comparisons(comparisons, SPEC),
        available=available,
        pair_count=lambda _keys: 5_000,
    )
    trained = [name for session in plan.sessions for name in session.trains]
    assert set(trained) == {comparison.name for comparison in comparisons}
    assert all(trained.count(name) >= 2 for name in ("name", "dob"))
    assert all(len(session.trains) >= 2 for session in plan.sessions)


def test_blocks_with_too_few_pairs_are_skipped_with_a_note() -> None:
    comparisons = _comparisons("name", "dob", "postcode")
    plan = _plan(comparisons, SPEC.em_blocks, pairs=MIN_PAIRS - 1)
    assert plan.sessions == ()
    assert set(plan.untrainable) == {"name", "dob", "postcode"}
    assert any("fewer than" in note for note in plan.notes)


def test_two_comparisons_train_one_each_and_say_so() -> None:
    comparisons = _comparisons("name", "dob")
    plan = _plan(comparisons, ())
    assert [session.trains for session in plan.sessions] == [("dob",), ("name",)]
    assert any("fewer than three comparisons" in note for note in plan.notes)


def test_an_identifier_one_source_carries_is_not_informative() -> None:
    comparisons = _comparisons("name", "dob", "nhs_number")
    shares = {
        "a": {"fn": 1.0, "sn": 1.0, "dob": 1.0, "nhs_number": 0.9},
        "b": {"fn": 0.0, "sn": 1.0, "dob": 0.9},  # a name is compared where either is there
    }
    found = informative_comparisons(
        comparisons, lambda dataset, key: shares[dataset].get(key, 0.0), ["a", "b"]
    )
    assert found == ["name", "dob"]


def test_no_module_or_benchmark_fixes_the_number_of_sessions() -> None:
    """The plan depends on the data and the spec's em_blocks, so a count written in a
    docstring goes stale (bench_linkage_speed.py said three when the generator's data
    trained four). Measured figures belong in docs/, with the command that made them."""
    root = Path(__file__).resolve().parents[2]
    count = re.compile(
        r"\b(one|two|three|four|five|six|\d+)\s+(EM\s+)?(training\s+)?sessions\b", re.IGNORECASE
    )
    stated = [
        f"{path.relative_to(root)}: {found.group(0)!r}"
        for folder in ("bench", "linkage")
        for path in sorted((root / folder).rglob("*.py"))
        for found in count.finditer(path.read_text(encoding="utf-8"))
    ]
    assert stated == []
