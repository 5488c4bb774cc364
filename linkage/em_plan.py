"""Choose the EM training sessions from the data, so that every session is identifiable.

Splink switches off, in an EM session, every comparison that reads a column of the
session's blocking rule (it matches column names). A session that leaves one
comparison active cannot tell "this field agrees because the records match" from "this
field agrees often": with postcode alone left, EM learnt "same postcode = same person"
on data where children move. So the sessions are chosen, per run, from the data:

* **candidates**: the job's or match-key spec's ``em_blocks`` first (measured on the
  generator), then one block per comparison on its strongest exact key (name set, date
  of birth, postcode, address, email ...), so data with other fields still train;
* a candidate runs only if every key is present, it yields at least ``MIN_PAIRS``
  candidate pairs, and it leaves at least two *informative* comparisons active (three
  or more comparisons with data), at least one of them a field a person does not
  change (names, date of birth, identifiers): a session left with only changeable
  fields learns where people live, not who they are;
* sessions are taken in order while they train a comparison fewer than twice, so each
  comparison is estimated in at least one session and, where the data allow, in two
  whose estimates can be compared (the report charts them).

A comparison is *informative* when its keys are filled in at least ``MIN_FILLED`` of
the records of at least two datasets (of the one dataset, when deduplicating): an
identifier that only one source carries says nothing about cross-source pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from linkage.comparisons import comparison_columns
from trelink.specs.identifier_types import CHANGEABLE_COLUMNS
from trelink.specs.match_keys import ComparisonSpec, EqualTerm, MatchKeySpec, source_columns

__all__ = [
    "MAX_SESSIONS",
    "MIN_FILLED",
    "MIN_PAIRS",
    "EmPlan",
    "PlannedSession",
    "candidate_blocks",
    "changeable_comparisons",
    "filled_shares",
    "informative_comparisons",
    "plan_sessions",
]

MIN_PAIRS = 100
MIN_FILLED = 0.1
MAX_SESSIONS = 4


@dataclass(frozen=True)
class PlannedSession:
    """One EM session: its blocking keys and the comparisons it estimates."""

    keys: tuple[str, ...]
    trains: tuple[str, ...]
    pairs: int


@dataclass(frozen=True)
class EmPlan:
    sessions: tuple[PlannedSession, ...]
    notes: tuple[str, ...]
    untrainable: tuple[str, ...]  # comparisons no identifiable session could estimate
    informative: tuple[str, ...] = ()  # comparisons filled in two datasets (or the one)


def _primary_key(comparison: ComparisonSpec) -> str | None:
    """The comparison's strongest exact key: the first ``equal`` term of its levels."""
    for level in comparison.levels:
        for term in level.terms:
            if isinstance(term, EqualTerm):
                return term.equal
    return None


def candidate_blocks(
    configured: Sequence[tuple[str, ...]], comparisons: Sequence[ComparisonSpec]
) -> list[tuple[str, ...]]:
    """The configured blocks, then one block per comparison on its strongest exact key.

    The name comparison blocks on the order-insensitive name set when the data carry it
    (a swapped name order still shares it).
    """
    blocks: list[tuple[str, ...]] = list(configured)
    for comparison in comparisons:
        columns = comparison_columns(comparison)
        key = "name_set" if "name_set" in columns else _primary_key(comparison)
        if key is not None and (key,) not in blocks:
            blocks.append((key,))
    return blocks


def informative_comparisons(
    comparisons: Sequence[ComparisonSpec],
    filled_share: Callable[[str, str], float],
    datasets: Sequence[str],
) -> list[str]:
    """Comparisons filled in ``MIN_FILLED`` of the records of two datasets (or the one)."""
    needed = min(2, len(datasets))
    informative: list[str] = []
    for comparison in comparisons:
        # A comparison has a value where any of its keys has one (the name where either
        # name is recorded): its fill is at least that of its best-filled key.
        filled = sum(
            1
            for dataset in datasets
            if max(filled_share(dataset, key) for key in comparison.null_when_missing) >= MIN_FILLED
        )
        if filled >= needed:
            informative.append(comparison.name)
    return informative


def changeable_comparisons(
    comparisons: Sequence[ComparisonSpec], match_keys: MatchKeySpec
) -> frozenset[str]:
    """Comparisons of fields a person can change (postcode, address, email ...): every
    column their ``null_when_missing`` keys derive from is changeable. A name comparison
    reads the forename, which does not change, so it is not one."""
    found: set[str] = set()
    for comparison in comparisons:
        columns: set[str] = set()
        for key in comparison.null_when_missing:
            columns |= source_columns(match_keys.key(key))
        if columns and columns <= CHANGEABLE_COLUMNS:
            found.add(comparison.name)
    return frozenset(found)


def plan_sessions(
    candidates: Sequence[tuple[str, ...]],
    *,
    comparisons: Sequence[ComparisonSpec],
    informative: Collection[str],
    changeable: Collection[str],
    available: Collection[str],
    pair_count: Callable[[tuple[str, ...]], int],
    filled: Callable[[str], bool] = lambda _key: True,
) -> EmPlan:
    """The sessions to run, in order (see the module docstring).

    ``filled(key)`` says whether any record has the key: a block on keys the data do not
    carry at all is passed over without a note.
    """
    reads = {comparison.name: set(comparison_columns(comparison)) for comparison in comparisons}
    names = [comparison.name for comparison in comparisons]
    useful = [name for name in names if name in informative]
    need_active = 2 if len(useful) >= 3 else 1
    trained: Counter[str] = Counter()
    sessions: list[PlannedSession] = []
    notes: list[str] = []
    for keys in candidates:
        if len(sessions) >= MAX_SESSIONS:
            break
        if not all(key in available for key in keys):
            continue
        active = [name for name in names if not reads[name] & set(keys)]
        anchors = [name for name in active if name in useful]
        stable = [name for name in anchors if name not in changeable]
        if len(anchors) < need_active or not stable:
            continue
        if all(trained[name] >= 2 for name in active):
            continue
        pairs = pair_count(keys)
        if pairs < MIN_PAIRS:
            if not all(filled(key) for key in keys):
                continue
            if pairs == 0:
                notes.append(f"EM block {' + '.join(keys)} found no candidate pairs; skipped")
                continue
            notes.append(
                f"EM block {' + '.join(keys)} skipped: {pairs:,} candidate pairs, fewer than "
                f"{MIN_PAIRS} (EM needs a few hundred)"
            )
            continue
        sessions.append(PlannedSession(keys=keys, trains=tuple(active), pairs=pairs))
        trained.update(active)
        if all(trained[name] >= 2 for name in names):
            break
    untrainable = tuple(name for name in names if trained[name] == 0)
    if need_active == 1 and sessions:
        notes.append(
            "fewer than three comparisons have data, so each EM session estimates one "
            "comparison alone; its estimates are less certain: with names and a date of "
            "birth alone EM cannot tell how many matches differ on a field, nor twins "
            "from one person with a misrecorded forename. Another field the owners "
            "declare helps: a postcode or an identifier is a third comparison, and a sex "
            "column lets the twins hold-back test apply (docs/tre-researcher.md)"
        )
    return EmPlan(
        sessions=tuple(sessions),
        notes=tuple(notes),
        untrainable=untrainable,
        informative=tuple(useful),
    )


def filled_shares(
    counts: Mapping[str, Mapping[str, float]],
) -> Callable[[str, str], float]:
    """``filled_share(dataset, key)`` from a precomputed table of shares."""
    return lambda dataset, key: counts.get(dataset, {}).get(key, 0.0)
