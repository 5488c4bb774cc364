from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc import ModelOutputError, Policy, check_model_file, fit_model


def outcomes(size: int = 300, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "months": rng.integers(1, 36, size),
            "worker": rng.choice(["DW", "RPC"], size),
            "nationality": rng.choice(["UK", "Vietnam", "Albania"], size),
        }
    )
    score = 0.05 * frame["months"] - 1 + (frame["worker"] == "DW") * 0.5
    frame["closed"] = (rng.random(size) < 1 / (1 + np.exp(-score))).astype(int)
    frame["contacts"] = rng.poisson(np.exp(0.5 + 0.02 * frame["months"]))
    return frame


@pytest.mark.parametrize("kind", ["ols", "logit", "poisson"])
def test_an_ordinary_model_passes(kind: str, policy: Policy) -> None:
    outcome = {"ols": "months", "logit": "closed", "poisson": "contacts"}[kind]
    regressors = "C(worker) + C(nationality)" + ("" if kind == "ols" else " + months")
    model = fit_model(kind, f"{outcome} ~ {regressors}", outcomes(), policy=policy)
    assert model.check.safe, model.check.reasons
    assert model.check.residual_dof >= 290


def test_a_three_person_dummy_that_predicts_the_outcome_fails(policy: Policy) -> None:
    # ACRO 1.0.2 passes this: only residual degrees of freedom are checked there.
    frame = outcomes()
    frame["nationality"] = "UK"
    frame.loc[:2, "nationality"] = "Eritrea"
    frame.loc[:2, "closed"] = 1
    model = fit_model("logit", "closed ~ months + C(nationality)", frame, policy=policy)
    assert not model.check.safe
    # The dummy separates the outcome; the baseline (Eritrea, the intercept) has a
    # standard error that explodes with it.
    assert model.check.flagged_terms[0] == "C(nationality)[T.UK]"
    assert "Intercept" in model.check.flagged_terms
    text = " ".join(model.check.reasons)
    assert "a group of 3 observation(s)" in text
    assert "separation" in text and "explodes" in text


def test_too_few_residual_degrees_of_freedom(policy: Policy) -> None:
    frame = outcomes(size=14)
    model = fit_model("ols", "months ~ C(worker) + C(nationality) + closed", frame, policy=policy)
    assert any("degrees of freedom" in reason for reason in model.check.reasons)


def test_a_saturated_model_is_unsafe(policy: Policy) -> None:
    frame = pd.DataFrame({"y": [1.0, 2.0, 4.0], "x": [0.0, 1.0, 3.0], "z": [1.0, 0.0, 2.0]})
    model = fit_model("ols", "y ~ x + z", frame, policy=policy)
    assert any("saturated" in reason for reason in model.check.reasons)


def test_exploding_standard_errors_are_flagged(policy: Policy) -> None:
    # Fifteen children of one group with no contacts at all: a Poisson coefficient
    # heading to minus infinity, with a standard error to match.
    frame = outcomes()
    frame["group"] = "common"
    frame.loc[:14, "group"] = "rare"
    frame.loc[:14, "contacts"] = 0
    model = fit_model("poisson", "contacts ~ months + C(group)", frame, policy=policy)
    assert "C(group)[T.rare]" in model.check.flagged_terms
    assert any("explodes" in reason for reason in model.check.reasons)


def test_model_files_are_re_checked_under_any_policy(policy: Policy, tmp_path: Path) -> None:
    model = fit_model("ols", "months ~ C(worker)", outcomes(size=40), policy=policy)
    path = model.write(tmp_path / "m.model.json")
    assert check_model_file(path, policy=policy).safe
    stricter = policy.with_changes(model=policy.model.with_changes(min_residual_dof=100))
    assert not check_model_file(path, policy=stricter).safe
    document = json.loads(path.read_text())
    assert document["residual_dof"] == 38
    assert document["check"] == {"policy": "default", "safe": True, "reasons": []}
    assert {item["term"] for item in document["parameters"]} == {"Intercept", "C(worker)[T.RPC]"}


def test_bad_model_input(policy: Policy, tmp_path: Path) -> None:
    with pytest.raises(ModelOutputError, match="unknown model kind"):
        fit_model("probit", "y ~ x", outcomes(), policy=policy)
    with pytest.raises(ModelOutputError, match="formula"):
        fit_model("ols", "months ~ nowhere", outcomes(), policy=policy)
    bad = tmp_path / "m.model.json"
    bad.write_text("{}")
    with pytest.raises(ModelOutputError, match="not a trelink model output"):
        check_model_file(bad, policy=policy)
    model = fit_model("ols", "months ~ C(worker)", outcomes(), policy=policy)
    with pytest.raises(ModelOutputError, match=r"model\.json"):
        model.write(tmp_path / "m.json")
