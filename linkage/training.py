"""Estimate the model: the prior, u by seeded random sampling, m by EM or from labels.

EM runs once per training block. Splink switches off, in each session, the
comparisons that read a blocking column (it matches column names), so the blocks
are chosen so that every comparison is trained in at least one session and no
block lets near-misses (twins, siblings) dominate the pairs it produces.

On small or sparse data a block can find no pair, or too few for EM to converge (a
few thousand records rarely share a name and a postcode district). Such a block is
skipped with a note; training fails, with an error naming the comparisons, only when
some comparison is then left with no m estimated by any session.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from splink import Linker
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT
from splink.internals.exceptions import EMTrainingException

from linkage.blocking import key_block_rules
from linkage.em_plan import PlannedSession
from linkage.errors import JobSpecError, TrainingError
from linkage.job import TrainingSpec

__all__ = ["DEGENERATE_M", "EM_TERM_FREQUENCY_PAIRS", "train_model"]

# Below this, a field that people change "never" disagrees among a session's matches.
DEGENERATE_M = 1e-3

# EM reads term-frequency adjustments in its iterations (each then runs over every
# sampled pair) while a session samples at most this many pairs; beyond, it runs over
# the distinct agreement patterns. At 100k and 1M x 1M they changed nothing while at
# 1M they cost 21 s of 44; on small data they cost little, so it keeps them, as before
# (docs/tre-researcher.md).
EM_TERM_FREQUENCY_PAIRS = 250_000


def _bound_unobserved_u(linker: Linker, sampled_pairs: float) -> None:
    """Give levels no random pair reached (a shared NHS number) an explicit u.

    Not seeing a level in ``sampled_pairs`` random pairs bounds its u by about
    ``1 / sampled_pairs``. Written into the model, the bound makes a saved model score
    exactly as the trained one did (Splink would otherwise keep a placeholder that a
    reloaded model replaces by a default).
    """
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level or level._is_else_level:
                continue
            if level._u_probability in (None, LEVEL_NOT_OBSERVED_TEXT):
                level.u_probability = 1.0 / sampled_pairs


def train_model(
    linker: Linker,
    training: TrainingSpec,
    *,
    available: Collection[str],
    sessions: Sequence[PlannedSession] = (),
    changeable: Collection[str] = frozenset(),
    informative: Collection[str] | None = None,
    filled_share: Callable[[tuple[str, ...]], float] | None = None,
    step: Callable[[str], None] = lambda _description: None,
) -> tuple[str, ...]:
    """Train ``linker`` in place; ``step`` is told what is running (for progress).

    ``sessions`` are the EM sessions ``linkage.em_plan`` chose for the data;
    ``changeable`` the comparisons of fields a person can change; ``informative`` those
    filled in two datasets (or the one): any other that no session could estimate (an
    NHS number only one source carries, in a link between sources) is left out of the
    model with a note instead of failing the run. Returns notes for
    the run's output and report (sessions skipped, estimates corrected or dropped, where
    the prior came from). ``filled_share(keys)`` is the share of the run's pairs whose
    records both fill every one of ``keys`` (a rule cannot catch a match missing one).
    """
    prior_rules = key_block_rules(training.prior_rules, available=available)
    if not prior_rules:
        raise JobSpecError("training.prior_rules: no rule can run on these datasets' token columns")
    step("estimating the prior from deterministic rules")
    linker.training.estimate_probability_two_random_records_match(
        list[str | BlockingRuleCreator](prior_rules), recall=training.prior_recall
    )
    step("estimating u by random sampling")
    linker.training.estimate_u_using_random_sampling(
        max_pairs=training.u_max_pairs, seed=training.seed
    )
    _bound_unobserved_u(linker, training.u_max_pairs)
    if training.label_column is not None:
        step("estimating m from the clerical labels")
        linker.training.estimate_m_from_label_column(training.label_column)
        return ()
    if not sessions:
        raise TrainingError(
            "no EM session can be trained on these datasets: no training block yields "
            "enough candidate pairs while leaving two informative comparisons to estimate. "
            "Give clerical labels (training.label_column) or reuse a model trained on "
            "more data (--model)"
        )
    notes: list[str] = []
    ran: list[_Session] = []
    for number, session in enumerate(sessions, start=1):
        step(f"estimating m by EM, block {number} of {len(sessions)}")
        # A session narrows the linker's own settings to the comparisons it trains and
        # puts them back only when it succeeds, so a copy is kept to restore on failure.
        settings = linker._settings_obj.core_model_settings.copy()  # type: ignore[no-untyped-call]
        (block,) = key_block_rules([session.keys], available=available)
        try:
            sampled = min(session.pairs, training.em_max_pairs)
            frequencies = training.em_term_frequencies
            if frequencies is None:
                frequencies = sampled <= EM_TERM_FREQUENCY_PAIRS
            result = linker.training.estimate_parameters_using_expectation_maximisation(
                block,
                max_pairs=training.em_max_pairs,
                estimate_without_term_frequencies=not frequencies,
            )
        except (EMTrainingException, ValueError) as error:
            # Splink refuses a block with no pairs (EMTrainingException); with a handful
            # its iterations can drive the match share to 0 or 1 (a math domain
            # ValueError). Either way nothing is learnt from the session.
            linker._settings_obj.core_model_settings = settings
            found = "no" if isinstance(error, EMTrainingException) else "too few"
            keys = " + ".join(session.keys)
            notes.append(f"EM block {keys} found {found} candidate pairs; skipped")
            continue
        share = result.core_model_settings.probability_two_random_records_match
        matches = share * min(session.pairs, training.em_max_pairs)
        description = f"EM, blocked on: {block_sql(block, linker)}"
        ran.append(_Session(session, description, share, matches))
    notes.extend(_correct_degenerate(linker, ran, changeable))
    notes.extend(_prior_from_model_recall(linker, training, filled_share))
    notes.extend(_u_without_matches(linker, floor=1.0 / training.u_max_pairs))
    untrained = _untrained_comparisons(linker)
    if informative is not None:
        idle = [name for name in untrained if name not in informative]
        _switch_off(linker, idle)
        notes.extend(
            f"comparison {name}: filled in fewer than two of the datasets, so no pair "
            "across them can be compared on it and no session estimated it; left out of "
            "the model (weight 0)"
            for name in idle
        )
        untrained = [name for name in untrained if name in informative]
    if untrained:
        raise TrainingError(
            f"no EM session estimated m for comparison(s) {untrained}: "
            + ("; ".join(notes) or "their levels were never observed")
            + ". The data are too small or share too little for EM; give clerical labels "
            "(training.label_column) or reuse a model trained on more data (--model)"
        )
    return tuple(notes)


@dataclass(frozen=True)
class _Session:
    planned: PlannedSession
    description: str  # how Splink labels the session's estimates
    share: float  # the session's estimated share of matching pairs
    matches: float  # and their number


def block_sql(block: BlockingRuleCreator, linker: Linker) -> str:
    """The SQL of a training block as Splink writes it into its estimate descriptions."""
    dialect = linker._db_api.sql_dialect.sql_dialect_str
    rule: str = block.get_blocking_rule(dialect).blocking_rule_sql
    return rule


def _session_values(level: Any, description: str) -> list[dict[str, Any]]:
    return [
        record
        for record in level._trained_m_probabilities
        if record["description"] == description and isinstance(record["probability"], float)
    ]


def _correct_degenerate(
    linker: Linker, sessions: Sequence[_Session], changeable: Collection[str]
) -> list[str]:
    """Find and correct estimates no data support; say what was done (module docstring).

    * a session whose match share went to 0, or to 1 while its pairs agree little more
      than random pairs, is dropped whole;
    * within a session, no level's m is below ``1 / matches``: a level never seen among
      the session's estimated matches is bounded by that, not driven to zero (a weight
      of -236 said only that a few thousand pairs showed no such disagreement);
    * a session in which a changeable field "never" disagrees among matches (m of its
      last level below ``DEGENERATE_M``) learnt where people live, not who they are: its
      estimate of that field is dropped; a field left with no estimate is switched off
      (m = u, weight 0), with a note.
    """
    notes: list[str] = []
    dropped: set[str] = set()
    comparisons = linker._settings_obj.comparisons
    for session in sessions:
        where = f"EM block {' + '.join(session.planned.keys)}"
        if session.matches < 1 or (
            session.share >= 1 - 1e-6 and not _agrees_beyond_chance(comparisons, session)
        ):
            for comparison in comparisons:
                for level in comparison._comparison_levels_excluding_null:
                    for record in _session_values(level, session.description):
                        level._trained_m_probabilities.remove(record)
            went = "0" if session.matches < 1 else "1"
            notes.append(f"{where}: the match share went to {went}; its estimates were dropped")
            continue
        floor = 1.0 / session.matches
        for comparison in comparisons:
            levels = comparison._comparison_levels_excluding_null
            found = [(level, _session_values(level, session.description)) for level in levels]
            records = [records[0] for _level, records in found if records]
            if not records:
                continue
            values = [record["probability"] for record in records]
            bounded = [max(value, floor) for value in values]
            for record, value in zip(records, bounded, strict=True):
                record["probability"] = value * sum(values) / sum(bounded)
            name = comparison.output_column_name
            last = found[-1][1]
            if name in changeable and last and last[0]["probability"] < DEGENERATE_M:
                for level, level_records in found:
                    for record in level_records:
                        level._trained_m_probabilities.remove(record)
                dropped.add(name)
                notes.append(
                    f"{where}: {name} almost never disagreed among the session's matches; "
                    "a field people change cannot be that certain, so this estimate was "
                    "dropped"
                )
    linker._populate_m_u_from_trained_values()  # type: ignore[no-untyped-call]
    for comparison in comparisons:
        levels = comparison._comparison_levels_excluding_null
        name = comparison.output_column_name
        if name in dropped and not any(level._has_estimated_m_values for level in levels):
            _switch_off(linker, (name,))
            notes.append(
                f"comparison {name}: every estimate was degenerate; it is switched off "
                "(weight 0) rather than trusted"
            )
    return notes


def _key_recall(linker: Linker, key: str) -> float | None:
    """P(``key`` agrees | match), from the m of the levels that imply it: those whose
    single term is equality on that key (or, for the name set, on the full name either
    way round), each at the median of its trained estimates."""
    implied = {key} | ({"fn_sn", "sn_fn"} if key == "name_set" else set())
    total = 0.0
    found = False
    for comparison in linker._settings_obj.comparisons:
        for level in comparison._comparison_levels_excluding_null:
            sql = level.sql_condition.replace(" ", "")
            if not any(
                sql in (f"{name}_l={name}_r", f"({name}_l={other}_rOR{other}_l={name}_r)")
                for name in implied
                for other in implied
            ):
                continue
            values = [
                record["probability"]
                for record in level._trained_m_probabilities
                if isinstance(record["probability"], float)
            ]
            if values:
                found = True
                total += sorted(values)[len(values) // 2]
    return total if found and total > 0 else None


def _prior_from_model_recall(
    linker: Linker,
    training: TrainingSpec,
    filled_share: Callable[[tuple[str, ...]], float] | None = None,
) -> list[str]:
    """Re-estimate the prior with the deterministic rules' recall as the model sees it.

    Splink's prior counts the pairs the deterministic rules (``training.prior_rules``)
    accept and divides by an assumed recall (``training.prior_recall``, 0.8): the share
    of matches the rules catch. That fits clean data only; on Splink's fake_1000 the
    rules catch about a fifth of the matches and the prior came out ten times too low.
    Once m is trained, the recall of a rule is estimable: the product, over its keys, of
    the m of the levels that imply the key agrees (independence, as the model assumes).
    The prior becomes count / recall with the best-covered rule's recall. Measured on
    FEBRL 3 (0.000217 -> 0.000441, truth 0.000523), fake_1000 (0.00042 -> 0.00181,
    truth 0.0041) and the generator's NRM and ICTG extracts (0.000302 -> 0.000364,
    truth 0.00039); estimating it from each EM session's match share instead scattered
    over a factor of 50 between sessions.

    m is estimated among pairs that fill the field, so a rule's recall is also scaled
    by the share of pairs filling all its keys (``filled_share``): on fake_1000, where a
    name or date is often missing, leaving it out made the recall 19% instead of about
    9% and the prior half the truth.
    """
    recalls: list[float] = []
    for rule in training.prior_rules:
        product = 1.0 if filled_share is None else filled_share(tuple(rule))
        for key in rule:
            found = _key_recall(linker, key)
            if found is None:
                break
            product *= found
        else:
            recalls.append(product)
    if not recalls or max(recalls) <= 0:
        return []
    recall = min(1.0, max(max(recalls), 0.01))
    before = linker._settings_obj._probability_two_random_records_match
    after = min(0.5, before * training.prior_recall / recall)
    linker._settings_obj._probability_two_random_records_match = after
    return [
        f"prior match probability {after:.3g}: the deterministic rules catch {recall:.0%} "
        f"of matches by the trained model, not the assumed {training.prior_recall:.0%} "
        f"(which gave {before:.3g})"
    ]


def _u_without_matches(linker: Linker, *, floor: float) -> list[str]:
    """Take the matches out of u: random pairs include matching ones.

    Random sampling estimates u from all pairs, a mixture of matches (share lambda, the
    prior) and non-matches: u_sampled = lambda m + (1 - lambda) u. On national data lambda
    is about 1e-6 and the difference vanishes; on a small extract full of duplicates it is
    not (fake_1000: lambda about 0.004, and a third of matches share the full name, so
    most random pairs sharing it were matches). Each level's u becomes
    (u_sampled - lambda m) / (1 - lambda), bounded below by ``floor`` (one pair in the
    sample), then renormalised.
    """
    share = linker._settings_obj._probability_two_random_records_match
    if share < 1e-4:
        return []
    changed = 0
    for comparison in linker._settings_obj.comparisons:
        levels = comparison._comparison_levels_excluding_null
        sampled = [level.u_probability for level in levels]
        matched = [level.m_probability for level in levels]
        if not all(isinstance(value, float) for value in (*sampled, *matched)):
            continue
        corrected = [
            max(floor, (u - share * m) / (1 - share)) for u, m in zip(sampled, matched, strict=True)
        ]
        total = sum(corrected)
        for level, value in zip(levels, corrected, strict=True):
            level.u_probability = value / total
        changed += 1
    return [f"u of {changed} comparison(s) corrected for the matches among random pairs"]


def _agrees_beyond_chance(comparisons: Sequence[Any], session: _Session) -> bool:
    """A session that calls every pair a match is believed only when its pairs agree far
    more than random pairs do: the strongest level of every comparison it trained is at
    least ten times likelier among them (small deduplication data, where a block on
    names holds little else but duplicates)."""
    for comparison in comparisons:
        levels = comparison._comparison_levels_excluding_null
        records = _session_values(levels[0], session.description)
        if not records:
            continue
        u = levels[0].u_probability
        if not isinstance(u, float) or records[0]["probability"] < 10 * u:
            return False
    return True


def _switch_off(linker: Linker, names: Collection[str]) -> None:
    """Give each named comparison m = u (weight 0 at every level): it says nothing."""
    for comparison in linker._settings_obj.comparisons:
        if comparison.output_column_name not in names:
            continue
        for level in comparison._comparison_levels_excluding_null:
            level.m_probability = level.u_probability
            level._add_trained_m_probability(level.u_probability, "switched off")


def _untrained_comparisons(linker: Linker) -> list[str]:
    """Comparisons with no level whose m any EM session estimated."""
    return [
        comparison.output_column_name
        for comparison in linker._settings_obj.comparisons
        if not any(
            level._has_estimated_m_values
            for level in comparison.comparison_levels
            if not level.is_null_level
        )
    ]
