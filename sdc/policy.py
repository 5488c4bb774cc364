"""Disclosure-control policies: the YAML in ``specs/sdc/`` as a frozen, validated object.

A policy holds every number a checker may want to change (threshold, dominance, p%,
zeros, class disclosure, model degrees of freedom, unsafe statistics, rounding and the
protection a suppressed cell needs). ``load_policy()`` with no path reads
``specs/sdc/default.yaml``.
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from sdc.errors import PolicyError
from trelink.specs.loader import FrozenModel, SpecError, SpecModel, load_spec, spec_path

__all__ = [
    "DEFAULT_POLICY",
    "DominanceRule",
    "InformationLoss",
    "ModelRules",
    "Policy",
    "ProtectionRules",
    "RoundingMethod",
    "RoundingRules",
    "UnsafeStatisticRules",
    "load_policy",
]

DEFAULT_POLICY = spec_path("sdc", "default.yaml")

Percent = Annotated[float, Field(gt=0, le=100)]


class DominanceRule(FrozenModel):
    """(n, k) dominance: a cell is unsafe when its ``n`` largest contributors hold more
    than ``k`` percent of its total."""

    n: int = Field(default=2, ge=1)
    k: Percent = 90.0


class ModelRules(FrozenModel):
    """Checks applied to regression outputs."""

    min_residual_dof: int = Field(default=10, ge=1)
    # A standard error this many times larger than max(|coefficient|, 1) signals a
    # separated or near-empty category (ACRO passed one 455 times its coefficient).
    max_standard_error_ratio: float = Field(default=100.0, gt=0)


class UnsafeStatisticRules(FrozenModel):
    """Statistics that reveal one person's value unless enough people contribute."""

    statistics: tuple[str, ...] = ("min", "max", "median", "percentile", "mode")
    min_contributors: int | None = Field(default=None, ge=1)  # None: the threshold


class RoundingMethod(StrEnum):
    """How published counts are rounded to the base."""

    NEAREST = "nearest"  # each cell to the nearest multiple (halves up); not additive
    CONTROLLED = "controlled"  # up or down per cell so that margins still add up


class RoundingRules(FrozenModel):
    """Round published counts to a multiple of ``base``."""

    base: int = Field(ge=2)
    method: RoundingMethod = RoundingMethod.CONTROLLED


class InformationLoss(StrEnum):
    """What secondary suppression minimises."""

    VALUE = "value"  # the total value hidden (each cell costs its value plus one)
    CELLS = "cells"  # the number of cells hidden


class ProtectionRules(FrozenModel):
    """How wide a suppressed cell's feasible range must be."""

    # Width in counts of the interval an attacker can derive for a suppressed count;
    # None means "the threshold".
    level: float | None = Field(default=None, gt=0)
    # For sums and means: width as a percentage of a primary cell's true value (cells
    # hidden only to protect others need a range that is not exact).
    magnitude_percent: Percent = 10.0
    information_loss: InformationLoss = InformationLoss.VALUE
    # Tables with more cells than this use the heuristic instead of the exact MILP.
    exact_cell_limit: int = Field(default=6000, ge=1)
    # After a pattern that is not proven optimal (the heuristic), publish again every
    # secondary cell that no hidden cell needs (sdc.cleanup). False: keep the greedy one.
    clean_up: bool = True


class Policy(SpecModel):
    """A complete disclosure-control policy (schema version 1)."""

    name: str
    source: str = Field(description="where the numbers come from")
    threshold: int = Field(default=10, ge=1)
    zeros_disclosive: bool = True
    dominance: DominanceRule | None = DominanceRule()
    p_percent: Percent | None = 10.0
    class_disclosure: bool = True
    model: ModelRules = ModelRules()
    unsafe_statistics: UnsafeStatisticRules = UnsafeStatisticRules()
    rounding: RoundingRules | None = None
    protection: ProtectionRules = ProtectionRules()

    @model_validator(mode="after")
    def _known_statistics(self) -> Policy:
        known = {"min", "max", "median", "percentile", "mode"}
        unknown = sorted(set(self.unsafe_statistics.statistics) - known)
        if unknown:
            raise ValueError(
                f"unsafe_statistics.statistics: unknown {unknown}; choose from {sorted(known)}"
            )
        return self

    @property
    def count_protection(self) -> float:
        """Width a suppressed count's feasible range must reach."""
        return float(self.protection.level or self.threshold)

    def required_widths(
        self, values: np.ndarray, *, counts: bool, sensitive: np.ndarray
    ) -> np.ndarray:
        """Width each hidden cell's range must reach: for counts the protection level;
        for sums a share of the value for sensitive (primary) cells, and a range that is
        not exact (one unit) for the cells hidden to protect them."""
        if counts:
            return np.full(np.shape(values), self.count_protection)
        share = np.abs(np.nan_to_num(values)) * self.protection.magnitude_percent / 100
        return np.asarray(np.where(sensitive, np.maximum(share, 1.0), 1.0), dtype=float)

    @property
    def statistic_min_contributors(self) -> int:
        return self.unsafe_statistics.min_contributors or self.threshold


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """Load a policy file (default ``specs/sdc/default.yaml``); raise ``PolicyError``."""
    try:
        return load_spec(DEFAULT_POLICY if path is None else path, Policy)
    except SpecError as error:
        raise PolicyError(str(error)) from None
