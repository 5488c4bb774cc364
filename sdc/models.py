"""Regression outputs that check themselves: statsmodels OLS, logit and Poisson.

``fit_model`` fits a formula with statsmodels and checks, under the policy:

* residual degrees of freedom at least ``model.min_residual_dof``;
* a saturated model (as many parameters as observations) is unsafe;
* every dummy (0/1) regressor has at least ``threshold`` observations in each of its
  two groups, else a coefficient describes too few people;
* perfect or quasi separation in logit (a dummy group whose outcome is all 0 or all 1);
* exploding standard errors (a standard error above ``max_standard_error_ratio`` times
  ``max(|coefficient|, 1)``), the usual symptom of separation or empty categories.

``CheckedModel.write`` stores the coefficients with the metadata these checks need as
``NAME.model.json``; ``check_model_file`` re-runs the checks from that file under any
policy, so the output checker never needs the microdata.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdc.errors import ModelOutputError
from sdc.policy import Policy
from trelink.atomic import atomic_file

__all__ = ["MODEL_KINDS", "CheckedModel", "ModelCheck", "check_model_file", "fit_model"]

MODEL_KINDS = ("ols", "logit", "poisson")
FORMAT = "trelink-sdc-model"


@dataclass(frozen=True)
class ModelCheck:
    """The verdict on one model output."""

    safe: bool
    reasons: list[str]
    residual_dof: float
    observations: int
    flagged_terms: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CheckedModel:
    """A fitted model, its coefficient table, and the checks' verdict."""

    kind: str
    formula: str
    coefficients: pd.DataFrame  # index: term; columns: coefficient, std_error, p_value
    metadata: dict[str, Any]
    check: ModelCheck
    check_policy: str  # name of the policy the check used

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write ``NAME.model.json`` (coefficients plus what the checks need)."""
        target = Path(path)
        if not target.name.endswith(".model.json"):
            raise ModelOutputError(f"{target}: model outputs are named NAME.model.json")
        document = {
            "format": FORMAT,
            "version": 1,
            "kind": self.kind,
            "formula": self.formula,
            **self.metadata,
            # The verdict when written, for the checker to read; check_model_file
            # re-derives it from the numbers above under the checker's policy.
            "check": {
                "policy": self.check_policy,
                "safe": self.check.safe,
                "reasons": self.check.reasons,
            },
            "parameters": [
                {
                    "term": str(term),
                    "coefficient": _finite(row["coefficient"]),
                    "std_error": _finite(row["std_error"]),
                    "p_value": _finite(row["p_value"]),
                }
                for term, row in self.coefficients.iterrows()
            ],
        }
        with atomic_file(target) as temporary:
            temporary.write_text(json.dumps(document, indent=1), encoding="utf-8")
        return target


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def fit_model(kind: str, formula: str, data: pd.DataFrame, *, policy: Policy) -> CheckedModel:
    """Fit ``formula`` on ``data`` as ``ols``, ``logit`` or ``poisson`` and check it."""
    # statsmodels takes about a second to import: only model users pay for it.
    import statsmodels.formula.api as smf
    from patsy import PatsyError  # type: ignore[import-untyped]

    if kind not in MODEL_KINDS:
        raise ModelOutputError(f"unknown model kind {kind!r}; choose from {list(MODEL_KINDS)}")
    builder = {"ols": smf.ols, "logit": smf.logit, "poisson": smf.poisson}[kind]
    try:
        # statsmodels computes standard errors lazily and warns (divide by zero,
        # convergence, separation) on the way; the warnings are evidence, kept.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = builder(formula, data)
            fitted = model.fit() if kind == "ols" else model.fit(disp=False, maxiter=200)
            coefficients = pd.DataFrame(
                {
                    "coefficient": np.asarray(fitted.params, dtype=float),
                    "std_error": np.asarray(fitted.bse, dtype=float),
                    "p_value": np.asarray(fitted.pvalues, dtype=float),
                },
                index=list(model.exog_names),
            )
        fit_warnings = sorted({warning.category.__name__ for warning in caught})
    except PatsyError as error:
        raise ModelOutputError(f"formula {formula!r}: {error.message}") from None
    except (ValueError, np.linalg.LinAlgError) as error:
        raise ModelOutputError(
            f"the {kind} model could not be fitted ({error.__class__.__name__}); "
            "a separated or empty category is the usual cause"
        ) from None
    exog = np.asarray(model.exog, dtype=float)
    outcome = np.asarray(model.endog, dtype=float)
    names = list(model.exog_names)
    dummies = []
    separated = []
    for position, name in enumerate(names):
        column = exog[:, position]
        if name == "Intercept" or not np.isin(column, (0.0, 1.0)).all():
            continue
        ones = int(column.sum())
        dummies.append({"term": name, "ones": ones, "zeros": int(column.size - ones)})
        if kind == "logit":
            for group in (column == 1, column == 0):
                if group.any() and np.unique(outcome[group]).size == 1:
                    separated.append(name)
                    break
    metadata = {
        "observations": int(fitted.nobs),
        "residual_dof": float(fitted.df_resid),
        "dummies": dummies,
        "separated_terms": sorted(set(separated)),
        "fit_warnings": fit_warnings,
    }
    check = _check(metadata, coefficients, policy)
    return CheckedModel(kind, formula, coefficients, metadata, check, policy.name)


def _check(metadata: dict[str, Any], coefficients: pd.DataFrame, policy: Policy) -> ModelCheck:
    reasons: list[str] = []
    flagged: list[str] = []
    dof = float(metadata["residual_dof"])
    observations = int(metadata["observations"])
    if dof <= 0 or len(coefficients) >= observations:
        reasons.append(
            f"saturated model: {len(coefficients)} parameters for {observations} observations"
        )
    elif dof < policy.model.min_residual_dof:
        reasons.append(
            f"residual degrees of freedom {dof:g} below the policy's "
            f"{policy.model.min_residual_dof}"
        )
    for dummy in metadata["dummies"]:
        smallest = min(dummy["ones"], dummy["zeros"])
        if smallest < policy.threshold:
            flagged.append(dummy["term"])
            reasons.append(
                f"term {dummy['term']!r}: a group of {smallest} observation(s), below the "
                f"threshold {policy.threshold}"
            )
    for term in metadata["separated_terms"]:
        flagged.append(term)
        reasons.append(f"term {term!r}: perfect separation (the outcome is constant in a group)")
    for term, row in coefficients.iterrows():
        scale = max(abs(float(row["coefficient"])), 1.0)
        error = float(row["std_error"])
        if not np.isfinite(error) or error > policy.model.max_standard_error_ratio * scale:
            flagged.append(str(term))
            reasons.append(
                f"term {term!r}: standard error {error:.4g} explodes against coefficient "
                f"{float(row['coefficient']):.4g}"
            )
    return ModelCheck(
        safe=not reasons,
        reasons=reasons,
        residual_dof=dof,
        observations=observations,
        flagged_terms=list(dict.fromkeys(flagged)),
    )


def check_model_file(path: str | os.PathLike[str], *, policy: Policy) -> ModelCheck:
    """Re-check a ``NAME.model.json`` written by ``CheckedModel.write``."""
    source = Path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelOutputError(f"{source}: file not found") from None
    except (OSError, ValueError) as error:
        raise ModelOutputError(
            f"{source}: not readable JSON ({error.__class__.__name__})"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelOutputError(f"{source}: not a trelink model output (format {FORMAT!r})")
    try:
        coefficients = pd.DataFrame(
            {
                "coefficient": [
                    np.nan if item["coefficient"] is None else item["coefficient"]
                    for item in document["parameters"]
                ],
                "std_error": [
                    np.nan if item["std_error"] is None else item["std_error"]
                    for item in document["parameters"]
                ],
            },
            index=[item["term"] for item in document["parameters"]],
        )
        return _check(document, coefficients, policy)
    except (KeyError, TypeError) as error:
        raise ModelOutputError(f"{source}: missing or malformed key {error}") from None
