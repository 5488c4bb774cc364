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
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from specs.loader import SpecModel, load_spec
from specs.match_keys import ComparisonSpec, CrossTerm, EqualTerm, MatchKeySpec

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


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BlockingRuleSpec(_Frozen):
    """Candidate pairs are those on which every term holds.

    ``max_block_size`` skips the blocks (records sharing the rule's values, over all
    datasets) larger than that: a common value pairs mostly different people, and its
    pairs grow with the square of the data, while a rare one is worth comparing even
    with nothing else in common. Capped rules take ``equal`` terms only.
    """

    all: tuple[EqualTerm | CrossTerm, ...] = Field(min_length=1)
    max_block_size: int | None = Field(default=None, ge=2)

    @model_validator(mode="after")
    def _capped_rules_are_equalities(self) -> BlockingRuleSpec:
        if self.max_block_size is not None and any(
            isinstance(term, CrossTerm) for term in self.all
        ):
            raise ValueError("max_block_size applies to rules of `equal` terms only")
        return self

    @property
    def keys(self) -> tuple[str, ...]:
        keys: list[str] = []
        for term in self.all:
            keys.extend((term.equal,) if isinstance(term, EqualTerm) else term.cross)
        return tuple(keys)


def _rule(*terms: EqualTerm | CrossTerm) -> BlockingRuleSpec:
    return BlockingRuleSpec(all=terms)


def _equal(*keys: str, max_block_size: int | None = None) -> BlockingRuleSpec:
    return BlockingRuleSpec(
        all=tuple(EqualTerm(equal=key) for key in keys), max_block_size=max_block_size
    )


# Full names alone repeat too often to block on at scale (49M pairs at 1M x 1M on the
# synthetic data), so each rule pairs a name key with part of the date of birth or
# the postcode. Together they catch a wrong day, month or year (name set and two date
# parts; the name set also covers swapped name order), an assessed date of birth or a
# move (name set, or phonetic names, and postcode district; one name and the full
# postcode), a typo in one name (initial, prefix or phonetic keys with the full date,
# also across swapped order), a changed name (date and postcode) and shared validated
# identifiers. Measured with bench/bench_linkage_quality.py (100k, seeds 1 and 2): the
# one-name + postcode rules lifted F1 from 0.9584/0.9596 to 0.9597/0.9609. Capped
# rules (forename + dob, surname + dob, name set alone, max_block_size 10) add another
# 0.001 but made Spark local mode run out of its 4 GB heap at 100k, so they are left
# for jobs to opt into.
DEFAULT_PREDICTION_RULES: tuple[BlockingRuleSpec, ...] = (
    _equal("name_set", "dob_ym"),
    _equal("name_set", "dob_md"),
    _equal("name_set", "dob_yd"),
    _equal("name_set", "pc_district"),
    _equal("fn_sn_dm", "pc_district"),
    _equal("fn_sn_dm", "dob"),
    _equal("fi_sn", "dob"),
    _equal("fn_sn_pre4", "dob"),
    _equal("fn_pre4_sn", "dob"),
    _rule(CrossTerm(cross=("fn", "sn")), EqualTerm(equal="dob")),
    _equal("sn", "pc"),
    _equal("fn", "pc"),
    _equal("dob", "pc"),
    _equal("nhs_number"),
    _equal("upn"),
    _equal("pnc_id"),
)

# EM blocks: each switches off the comparisons it reads (Splink matches column names),
# so together they train every comparison: name set + district trains dob; dob +
# district trains the names; forename + dob trains the postcode. None lets twins or
# siblings dominate (siblings differ on forename and dob, twins on forename), and
# each keeps matches at several per cent of its pairs even at 1M x 1M, where a block
# on dob alone would hold 0.03% matches and EM would lose the match class.
DEFAULT_EM_BLOCKS: tuple[tuple[str, ...], ...] = (
    ("name_set", "pc_district"),
    ("dob", "pc_district"),
    ("fn", "dob"),
)

# Deterministic rules used to estimate the prior probability that two records match.
DEFAULT_PRIOR_RULES: tuple[tuple[str, ...], ...] = (("fn_sn", "dob"), ("name_set", "dob"))


class TrainingSpec(_Frozen):
    """How m, u and the prior are estimated."""

    seed: int = 42
    u_max_pairs: float = Field(default=2e6, gt=0)
    em_blocks: tuple[tuple[str, ...], ...] = Field(default=DEFAULT_EM_BLOCKS, min_length=1)
    em_max_pairs: float = Field(default=1e6, gt=0)
    prior_rules: tuple[tuple[str, ...], ...] = Field(default=DEFAULT_PRIOR_RULES, min_length=1)
    prior_recall: float = Field(default=0.8, gt=0, le=1)
    # A clerical sample: a column (in every identity table) holding a cluster label.
    # When set, m comes from the labels instead of EM.
    label_column: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")


class HoldBackRule(_Frozen):
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
    unless=("nhs_number", "upn", "pnc_id"),
)


class ClusteringSpec(_Frozen):
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
    blocking: tuple[BlockingRuleSpec, ...] = Field(default=DEFAULT_PREDICTION_RULES, min_length=1)
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

    def effective_comparisons(self, match_keys: MatchKeySpec) -> tuple[ComparisonSpec, ...]:
        """The job's own comparisons if it overrides them, else the match-key spec's."""
        return self.comparisons if self.comparisons is not None else match_keys.comparisons

    def key_problems(self, match_keys: MatchKeySpec) -> list[str]:
        """Every reference to a match key or comparison that the spec does not define."""
        known = set(match_keys.token_columns)
        problems: list[str] = []
        for index, rule in enumerate(self.blocking):
            unknown = sorted(set(rule.keys) - known)
            if unknown:
                problems.append(f"blocking[{index}]: unknown match key(s) {unknown}")
        for index, block in enumerate(self.training.em_blocks):
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
