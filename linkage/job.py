"""The linkage job spec: which datasets, how to block, train, score and cluster.

A job is a YAML file under ``specs/linkage/`` loaded into the frozen ``LinkJob`` model
(validated on load, every problem reported at once). Quick mode (``trelink link DIR
...``) runs ``LinkJob()`` with its defaults, which are the settings measured to work
on the synthetic data; production mode reads a file such as ``specs/linkage/spine.yaml``.

Blocking rules and EM training blocks are written in terms of match keys, so they
stay valid whatever the token values are. A blocking rule is a list of terms that
must all hold: ``{equal: k}`` or ``{cross: [a, b]}`` (``a`` on one side equals ``b`` on
the other; it is generated in both directions, so swapped name order is found).
A job holds the match-key spec those keys come from and is checked against it when
it is made, so a job in hand is complete: nothing is filled in or checked later.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from linkage.errors import JobParameterError
from trelink.specs.identifier_types import CHECK_DIGIT_COLUMNS
from trelink.specs.loader import FrozenModel, SpecModel, load_spec
from trelink.specs.match_keys import (
    BlockingRuleSpec,
    ComparisonSpec,
    MatchKeySpec,
    load_match_key_spec,
)

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
    # Whether EM's iterations read the term-frequency adjustments. Without them each
    # iteration runs over the session's distinct agreement patterns instead of every
    # pair (Splink's estimate_without_term_frequencies). None: with them while a session
    # samples at most linkage.training.EM_TERM_FREQUENCY_PAIRS pairs, without beyond
    # (measured in docs/tre-researcher.md).
    em_term_frequencies: bool | None = None
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
    """A whole linkage job, complete and checked once constructed.

    Blocking rules, EM blocks and comparisons are written in terms of match keys, so a
    job holds the match-key spec it is checked against (``match_keys``: the shipped
    ``specs/pseudonymise/match_keys.yaml`` unless given). Where the job sets none of its
    own, ``blocking_rules``, ``em_blocks`` and ``effective_comparisons`` are the spec's.
    Every reference to a match key, comparison or comparison level is checked on
    construction: in code (``LinkJob(...)``, ``with_changes``) a problem raises
    ``JobParameterError`` naming the parameter; in a file (``load_link_job``) every
    problem is listed at once in a ``SpecError``. What depends on the datasets given to
    a run (their names, the token columns they carry) is checked by the run.
    """

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
    # The spec the datasets were pseudonymised with; not part of a job file (the owners'
    # spec travels beside the data: `trelink link --match-keys`), nor of its dump.
    match_keys: MatchKeySpec = Field(default_factory=load_match_key_spec, exclude=True, repr=False)
    version: int = 1

    @field_validator("datasets")
    @classmethod
    def _distinct_datasets(cls, datasets: tuple[str, ...]) -> tuple[str, ...]:
        # A field validator, so the problem is reported beside any others in the file.
        repeated = sorted({name for name in datasets if datasets.count(name) > 1})
        if repeated:
            raise ValueError(f"listed more than once: {repeated}")
        return datasets

    @field_validator("match_keys", mode="before")
    @classmethod
    def _a_loaded_spec(cls, match_keys: object) -> object:
        # Only a loaded spec: a mapping here would be a second copy of the owners' file.
        if not isinstance(match_keys, MatchKeySpec):
            raise ValueError(
                "not part of a job file: give the match-key spec the datasets were "
                "pseudonymised with to `trelink link --match-keys` (in Python, a "
                "MatchKeySpec from load_match_key_spec)"
            )
        return match_keys

    @model_validator(mode="wrap")
    @classmethod
    def _checked_against_the_match_keys(
        cls, data: Any, handler: ModelWrapValidatorHandler[LinkJob], info: ValidationInfo
    ) -> LinkJob:
        """Validate the fields, then every reference to a match key or comparison.

        A job file (``load_link_job``) gets every problem as a ``ValidationError``, which
        the loader lists; a job made in code gets ``JobParameterError``.
        """
        file_match_keys = _file_match_keys(info)
        if file_match_keys is not None and isinstance(data, dict) and "match_keys" not in data:
            data = {**data, "match_keys": file_match_keys}
        try:
            job = handler(data)
            problems = job._key_problems()
            if problems:
                raise ValidationError.from_exception_data(
                    cls.__name__,
                    [
                        InitErrorDetails(
                            type=PydanticCustomError(
                                _REFERENCE_ERROR, "{problem}", {"problem": text}
                            ),
                            loc=location,
                            input=None,
                        )
                        for location, text in problems
                    ],
                )
        except ValidationError as error:
            if file_match_keys is not None:
                raise
            raise _parameter_error(error) from None
        return job

    @property
    def cluster_threshold(self) -> float:
        return (
            self.clustering.threshold if self.clustering.threshold is not None else self.threshold
        )

    @property
    def blocking_rules(self) -> tuple[BlockingRuleSpec, ...]:
        """The job's blocking rules, else the match-key spec's."""
        return self.blocking if self.blocking is not None else self.match_keys.blocking

    @property
    def em_blocks(self) -> tuple[tuple[str, ...], ...]:
        """The job's EM training blocks, else the match-key spec's."""
        own = self.training.em_blocks
        return own if own is not None else self.match_keys.em_blocks

    @property
    def effective_comparisons(self) -> tuple[ComparisonSpec, ...]:
        """The job's own comparisons if it overrides them, else the match-key spec's."""
        return self.comparisons if self.comparisons is not None else self.match_keys.comparisons

    def with_changes(self, **changes: Any) -> LinkJob:
        """This job with ``changes`` (``threshold=0.9``, ``link_type="dedupe_only"``,
        ``match_keys=spec``), validated as a new job is: a bad value raises
        ``JobParameterError`` naming the parameter (``model_copy(update=...)`` would take
        it unchecked). Fields the job took by default stay defaults."""
        document: dict[str, Any] = {"match_keys": self.match_keys}
        document |= {name: getattr(self, name) for name in self.model_fields_set}
        return type(self).model_validate(document | changes)

    def _key_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every reference to a match key or comparison that the spec does not define,
        with the parameter it is in."""
        known = set(self.match_keys.token_columns)
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if not self.blocking_rules:
            problems.append(
                (("blocking",), "neither the job nor the match-key spec gives any rule")
            )
        if not self.em_blocks and self.training.label_column is None:
            problems.append(
                (("training", "em_blocks"), "neither the job nor the match-key spec gives any")
            )
        for index, rule in enumerate(self.blocking_rules):
            unknown = sorted(set(rule.keys) - known)
            if unknown:
                problems.append((("blocking", index), f"unknown match key(s) {unknown}"))
        for index, block in enumerate(self.em_blocks):
            unknown = sorted(set(block) - known)
            if unknown:
                problems.append(
                    (("training", "em_blocks", index), f"unknown match key(s) {unknown}")
                )
        for index, block in enumerate(self.training.prior_rules):
            unknown = sorted(set(block) - known)
            if unknown:
                problems.append(
                    (("training", "prior_rules", index), f"unknown match key(s) {unknown}")
                )
        names = {comparison.name for comparison in self.effective_comparisons}
        missing = sorted(set(self.required_comparisons) - names)
        if missing:
            problems.append((("required_comparisons",), f"no comparison called {missing}"))
        if self.comparisons is not None:
            problems.extend(
                (("comparisons",), problem)
                for problem in _override_problems(self.comparisons, self.match_keys)
            )
        # The default twins rule names the match-key spec's levels; a job that overrides
        # the comparisons and says nothing of hold_back simply goes without it.
        if self.comparisons is None or "hold_back" in self.model_fields_set:
            problems.extend(self._hold_back_problems())
        return problems

    def _hold_back_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        comparisons = {item.name: item for item in self.effective_comparisons}
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for index, rule in enumerate(self.hold_back):
            where: tuple[str | int, ...] = ("hold_back", index)
            named = f"rule {rule.name!r}"
            compared = comparisons.get(rule.comparison)
            if compared is None:
                problems.append((where, f"{named}: no comparison called {rule.comparison!r}"))
                continue
            labels = [level.label for level in compared.levels]
            unknown = [label for label in rule.levels if label not in labels]
            if unknown:
                problems.append(
                    (
                        where,
                        f"{named}: comparison {rule.comparison!r} has no level {unknown}; "
                        f"its levels are {labels}",
                    )
                )
            missing = sorted(set(rule.unless) - set(comparisons))
            if missing:
                problems.append((where, f"{named}: unless names no comparison called {missing}"))
        return problems


# Pydantic's error type for a reference a job makes to a key, comparison or level its
# match-key spec lacks.
_REFERENCE_ERROR = "match_key_reference"

# The validation context key under which ``load_link_job`` gives the match-key spec a
# job file is checked against; its presence also means "list every problem".
_FILE_MATCH_KEYS = "job file match keys"


def _file_match_keys(info: ValidationInfo) -> MatchKeySpec | None:
    context = info.context
    spec = context.get(_FILE_MATCH_KEYS) if isinstance(context, dict) else None
    return spec if isinstance(spec, MatchKeySpec) else None


def _parameter_name(location: tuple[str | int, ...]) -> str:
    """``training.prior_recall``, ``blocking[0]``: a location as a job file writes it."""
    name = ""
    for part in location:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name or "job"


def _parameter_error(error: ValidationError) -> JobParameterError:
    """The first problem's parameter, with every problem in the message."""
    described = []
    for detail in error.errors():
        problem = str(detail["msg"])
        value = detail.get("input")
        if detail["type"] != _REFERENCE_ERROR and not isinstance(value, dict | list | tuple):
            problem += f", not {value!r}"
        described.append((_parameter_name(tuple(detail["loc"])), problem))
    (parameter, problem), *others = described
    also = "".join(f"; {name}: {text}" for name, text in others)
    return JobParameterError(parameter, problem + also)


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
        return [str(detail["msg"]) for detail in error.errors()]
    return []


def load_link_job(
    path: str | os.PathLike[str], *, match_keys: MatchKeySpec | None = None
) -> LinkJob:
    """Load a job spec and check it against ``match_keys`` (default: the shipped spec).

    ``SpecError`` lists every problem in the file at once, references to match keys,
    comparisons or levels that ``match_keys`` lacks included.
    """
    spec = match_keys if match_keys is not None else load_match_key_spec()
    return load_spec(Path(path), LinkJob, context={_FILE_MATCH_KEYS: spec})
