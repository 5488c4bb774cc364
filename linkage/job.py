"""The linkage job spec: which datasets, how to block, train, score and cluster.

A job is a YAML file under ``specs/linkage/`` loaded into the frozen ``LinkJob`` model
(validated on load, every problem reported at once). Quick mode (``trelink link DIR
...``) runs ``LinkJob()`` with its defaults, which are the settings measured to work
on the synthetic data; production mode reads a file such as ``specs/linkage/spine.yaml``.

Blocking rules and EM training blocks are written in terms of match keys, so they
stay valid whatever the token values are. A blocking rule is a list of terms that
must all hold: ``{equal: k}`` or ``{cross: [a, b]}`` (``a`` on one side equals ``b`` on
the other; it is generated in both directions, so swapped name order is found).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ValidationError,
    field_validator,
)

from linkage.errors import JobParameterError
from trelink.specs.identifier_types import CHECK_DIGIT_COLUMNS
from trelink.specs.loader import FrozenModel, SpecModel, load_spec
from trelink.specs.match_keys import BlockingRuleSpec, ComparisonSpec, MatchKeySpec

__all__ = [
    "BlockingRuleSpec",
    "ClusteringSpec",
    "HoldBackRule",
    "LinkJob",
    "LinkType",
    "TrainingSpec",
    "load_link_job",
]

LinkType = Literal["link_only", "dedupe_only", "link_and_dedupe"]


# Deterministic rules used to estimate the prior probability that two records match.
DEFAULT_PRIOR_RULES: tuple[tuple[str, ...], ...] = (("fn_sn", "dob"), ("name_set", "dob"))


class TrainingSpec(FrozenModel):
    """How m, u and the prior are estimated."""

    seed: int = 42
    u_max_pairs: float = Field(default=2e6, gt=0)
    # None: the match-key spec's `em_blocks`.
    em_blocks: tuple[tuple[str, ...], ...] | None = Field(default=None, min_length=1)
    em_max_pairs: float = Field(default=1e6, gt=0)
    prior_rules: tuple[tuple[str, ...], ...] = Field(default=DEFAULT_PRIOR_RULES, min_length=1)
    prior_recall: float = Field(default=0.8, gt=0, le=1)
    # A clerical sample: a column (in every identity table) holding a cluster label.
    # When set, m comes from the labels instead of EM.
    label_column: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")


class HoldBackRule(FrozenModel):
    """Pairs that score as links but are held back from them: a known look-alike pattern.

    A pair is held back when comparison ``comparison`` sits at one of ``levels`` (their
    labels) and none of the ``unless`` comparisons agrees at its strongest level.
    Comparisons a run does not have count as not agreeing. Held-back pairs are not
    links and do not join clusters; the run writes them to ``held_back.parquet`` for
    clerical review and the report counts them.
    """

    name: str = Field(min_length=1)
    comparison: str
    levels: tuple[str, ...] = Field(min_length=1)
    unless: tuple[str, ...] = ()


# Twins: the model multiplies the evidence of a shared surname, date of birth and
# address as if they were independent, but twins share all three, so a pair whose
# forenames share nothing (not even a phonetic code, prefix or one-letter edit) is
# held back unless a validated identifier agrees. Measured with
# bench/bench_linkage_quality.py and the demo's evaluation (docs/tre-researcher.md).
TWINS_RULE = HoldBackRule(
    name="possible twins",
    comparison="name",
    levels=("surname only", "initial and surname"),
    unless=tuple(CHECK_DIGIT_COLUMNS.values()),  # nhs_number, upn, pnc_id
)


class ClusteringSpec(FrozenModel):
    """How pairs become persons (connected components above a match probability)."""

    threshold: float | None = Field(default=None, gt=0, lt=1)  # None: the job's threshold


class LinkJob(SpecModel):
    """A whole linkage job."""

    name: str = "link"
    # Empty: every dataset given to the run.
    datasets: tuple[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], ...] = ()
    link_type: LinkType = "link_and_dedupe"
    threshold: float = Field(default=0.8, gt=0, lt=1)  # match probability of a link
    required_comparisons: tuple[str, ...] = ("name", "dob")
    comparisons: tuple[ComparisonSpec, ...] | None = None  # None: the match-key spec's
    # Attribute columns compared too, where every dataset's attributes carry them.
    attribute_comparisons: tuple[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], ...] = ()
    # None: the match-key spec's `blocking` rules.
    blocking: tuple[BlockingRuleSpec, ...] | None = Field(default=None, min_length=1)
    training: TrainingSpec = TrainingSpec()
    clustering: ClusteringSpec = ClusteringSpec()
    hold_back: tuple[HoldBackRule, ...] = (TWINS_RULE,)
    # Attribute columns whose groups get their own linkage rates in the report.
    subgroups: tuple[str, ...] = (
        "nationality_group",
        "nationality",
        "sex",
        "age_group",
        "unaccompanied",
    )
    # The dataset whose repeat records of one person are counted (repeat NRM referrals).
    repeats_dataset: str | None = "nrm"
    version: int = 1

    @field_validator("datasets")
    @classmethod
    def _distinct_datasets(cls, datasets: tuple[str, ...]) -> tuple[str, ...]:
        # A field validator, so the problem is reported beside any others in the file.
        repeated = sorted({name for name in datasets if datasets.count(name) > 1})
        if repeated:
            raise ValueError(f"listed more than once: {repeated}")
        return datasets

    @property
    def cluster_threshold(self) -> float:
        return (
            self.clustering.threshold if self.clustering.threshold is not None else self.threshold
        )

    def _blocks(
        self, match_keys: MatchKeySpec
    ) -> tuple[tuple[BlockingRuleSpec, ...], tuple[tuple[str, ...], ...]]:
        """Blocking rules and EM blocks: the job's own, else the match-key spec's."""
        blocking = self.blocking if self.blocking is not None else match_keys.blocking
        em_blocks = (
            self.training.em_blocks if self.training.em_blocks is not None else match_keys.em_blocks
        )
        return blocking, em_blocks

    def resolved(self, match_keys: MatchKeySpec) -> LinkJob:
        """This job with the match-key spec's blocking rules and EM blocks where it has none.

        Raises ``ValueError`` when neither the job nor the spec gives any.
        """
        blocking, em_blocks = self._blocks(match_keys)
        if not blocking:
            raise ValueError("no blocking rules: neither the job nor the match-key spec has any")
        if not em_blocks and self.training.label_column is None:
            raise ValueError("no EM blocks: neither the job nor the match-key spec has any")
        training = self.training.model_dump(include=set(self.training.model_fields_set))
        return self.with_changes(blocking=blocking, training={**training, "em_blocks": em_blocks})

    def with_changes(self, **changes: Any) -> LinkJob:
        """This job with ``changes`` (``threshold=0.9``, ``link_type="dedupe_only"``),
        validated as a job file is: a bad value raises ``JobParameterError`` naming the
        parameter (``model_copy(update=...)`` would take it unchecked)."""
        document = self.model_dump(include=set(self.model_fields_set)) | changes
        try:
            return type(self).model_validate(document)
        except ValidationError as error:
            detail = error.errors()[0]
            parameter = ".".join(str(part) for part in detail["loc"]) or "job"
            problem = str(detail["msg"])
            if "input" in detail and not isinstance(detail["input"], dict | list | tuple):
                problem += f", not {detail['input']!r}"
            raise JobParameterError(parameter, problem) from None

    @property
    def blocking_rules(self) -> tuple[BlockingRuleSpec, ...]:
        """The blocking rules of a ``resolved`` job."""
        if self.blocking is None:
            raise RuntimeError("the job has not been resolved against a match-key spec")
        return self.blocking

    def effective_comparisons(self, match_keys: MatchKeySpec) -> tuple[ComparisonSpec, ...]:
        """The job's own comparisons if it overrides them, else the match-key spec's."""
        return self.comparisons if self.comparisons is not None else match_keys.comparisons

    def key_problems(self, match_keys: MatchKeySpec) -> list[str]:
        """Every reference to a match key or comparison that the spec does not define."""
        known = set(match_keys.token_columns)
        problems: list[str] = []
        blocking, em_blocks = self._blocks(match_keys)
        if not blocking:
            problems.append("blocking: neither the job nor the match-key spec gives any rule")
        if not em_blocks and self.training.label_column is None:
            problems.append("training.em_blocks: neither the job nor the match-key spec gives any")
        for index, rule in enumerate(blocking):
            unknown = sorted(set(rule.keys) - known)
            if unknown:
                problems.append(f"blocking[{index}]: unknown match key(s) {unknown}")
        for index, block in enumerate(em_blocks):
            unknown = sorted(set(block) - known)
            if unknown:
                problems.append(f"training.em_blocks[{index}]: unknown match key(s) {unknown}")
        for index, block in enumerate(self.training.prior_rules):
            unknown = sorted(set(block) - known)
            if unknown:
                problems.append(f"training.prior_rules[{index}]: unknown match key(s) {unknown}")
        names = {comparison.name for comparison in self.effective_comparisons(match_keys)}
        missing = sorted(set(self.required_comparisons) - names)
        if missing:
            problems.append(f"required_comparisons: no comparison called {missing}")
        if self.comparisons is not None:
            problems.extend(_override_problems(self.comparisons, match_keys))
        # The default twins rule names the match-key spec's levels; a job that overrides
        # the comparisons and says nothing of hold_back simply goes without it.
        if self.comparisons is None or "hold_back" in self.model_fields_set:
            problems.extend(self._hold_back_problems(match_keys))
        return problems

    def _hold_back_problems(self, match_keys: MatchKeySpec) -> list[str]:
        comparisons = {item.name: item for item in self.effective_comparisons(match_keys)}
        problems: list[str] = []
        for index, rule in enumerate(self.hold_back):
            where = f"hold_back[{index}] ({rule.name})"
            compared = comparisons.get(rule.comparison)
            if compared is None:
                problems.append(f"{where}: no comparison called {rule.comparison!r}")
                continue
            labels = [level.label for level in compared.levels]
            unknown = [label for label in rule.levels if label not in labels]
            if unknown:
                problems.append(
                    f"{where}: comparison {rule.comparison!r} has no level {unknown}; "
                    f"its levels are {labels}"
                )
            missing = sorted(set(rule.unless) - set(comparisons))
            if missing:
                problems.append(f"{where}: unless names no comparison called {missing}")
        return problems


def _override_problems(
    comparisons: tuple[ComparisonSpec, ...], match_keys: MatchKeySpec
) -> list[str]:
    # An override must pass the same cross-checks as the match-key spec's own section,
    # so validate it as if it were that section.
    document = match_keys.model_dump(exclude={"comparisons"})
    document["comparisons"] = [comparison.model_dump() for comparison in comparisons]
    try:
        MatchKeySpec.model_validate(document)
    except ValidationError as error:
        return [f"comparisons: {detail['msg']}" for detail in error.errors()]
    return []


def load_link_job(path: str | os.PathLike[str]) -> LinkJob:
    """Load and validate a job spec (``SpecError`` lists every problem)."""
    return load_spec(Path(path), LinkJob)
