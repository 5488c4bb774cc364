"""Estimate the model: the prior, u by seeded random sampling, m by EM or from labels.

EM runs once per training block. Splink switches off, in each session, the
comparisons that read a blocking column (it matches column names), so the blocks
are chosen so that every comparison is trained in at least one session and no
block lets near-misses (twins, siblings) dominate the pairs it produces.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from splink import Linker
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT

from linkage.blocking import key_block_rules
from linkage.errors import JobSpecError
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
) -> None:
    """Train ``linker`` in place; ``step`` is told what is running (for progress)."""
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
        return
    blocks = key_block_rules(training.em_blocks or (), available=available)
    if not blocks:
        raise JobSpecError("training.em_blocks: no block can run on these datasets' token columns")
    for number, block in enumerate(blocks, start=1):
        step(f"estimating m by EM, block {number} of {len(blocks)}")
        linker.training.estimate_parameters_using_expectation_maximisation(
            block, max_pairs=training.em_max_pairs
        )
