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

from collections.abc import Callable, Collection

from splink import Linker
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT
from splink.internals.exceptions import EMTrainingException

from linkage.blocking import key_block_rules, usable
from linkage.errors import JobSpecError, TrainingError
from linkage.job import TrainingSpec

__all__ = ["train_model"]


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
    step: Callable[[str], None] = lambda _description: None,
) -> tuple[str, ...]:
    """Train ``linker`` in place; ``step`` is told what is running (for progress).

    Returns notes for the run's output and report (EM blocks skipped for want of pairs).
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
    runnable = [block for block in training.em_blocks or () if usable(block, available)]
    blocks = key_block_rules(runnable, available=available)
    if not blocks:
        raise JobSpecError("training.em_blocks: no block can run on these datasets' token columns")
    notes: list[str] = []
    for number, (keys, block) in enumerate(zip(runnable, blocks, strict=True), start=1):
        step(f"estimating m by EM, block {number} of {len(blocks)}")
        # A session narrows the linker's own settings to the comparisons it trains and
        # puts them back only when it succeeds, so a copy is kept to restore on failure.
        settings = linker._settings_obj.core_model_settings.copy()  # type: ignore[no-untyped-call]
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block, max_pairs=training.em_max_pairs
            )
        except (EMTrainingException, ValueError) as error:
            # Splink refuses a block with no pairs (EMTrainingException); with a handful
            # its iterations can drive the match share to 0 or 1 (a math domain
            # ValueError). Either way nothing is learnt from the session.
            linker._settings_obj.core_model_settings = settings
            found = "no" if isinstance(error, EMTrainingException) else "too few"
            notes.append(f"EM block {' + '.join(keys)} found {found} candidate pairs; skipped")
    untrained = _untrained_comparisons(linker)
    if untrained:
        raise TrainingError(
            f"no EM session estimated m for comparison(s) {untrained}: "
            + ("; ".join(notes) or "their levels were never observed")
            + ". The data are too small or share too little for EM; give clerical labels "
            "(training.label_column) or reuse a model trained on more data (--model)"
        )
    return tuple(notes)


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
