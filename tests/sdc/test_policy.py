from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sdc import PolicyError, load_policy
from sdc.policy import InformationLoss, RoundingMethod
from trelink.specs.loader import spec_path

SHIPPED = sorted(spec_path("sdc").glob("*.yaml"))


def test_default_policy_has_the_documented_numbers() -> None:
    policy = load_policy()
    assert policy.threshold == 10
    assert policy.zeros_disclosive is True
    assert policy.dominance is not None
    assert (policy.dominance.n, policy.dominance.k) == (2, 90)
    assert policy.p_percent == 10
    assert policy.model.min_residual_dof == 10
    assert policy.count_protection == 10
    assert policy.protection.information_loss is InformationLoss.VALUE


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_every_shipped_profile_loads_and_names_its_source(path: Path) -> None:
    policy = load_policy(path)
    assert policy.source.strip()
    assert policy.name == path.stem


def test_published_profiles_match_their_sources() -> None:
    opensafely = load_policy(spec_path("sdc", "opensafely.yaml"))
    assert opensafely.threshold == 8  # "7 or fewer" redacted
    assert opensafely.rounding is not None
    assert (opensafely.rounding.base, opensafely.rounding.method) == (5, RoundingMethod.NEAREST)
    assert "revision" in opensafely.source
    uk_llc = load_policy(spec_path("sdc", "uk-llc.yaml"))
    assert uk_llc.threshold == 10 and uk_llc.zeros_disclosive
    assert not (spec_path("sdc") / "sail.yaml").exists()


def test_malformed_policy_reports_every_problem_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "version: 1\nname: x\nsource: y\nthreshold: -3\ndominance: {n: 2, k: 150}\n"
        "unsafe_statistics: {statistics: [max, average]}\nsurprise: 1\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert str(path) in message
    for key in ("threshold", "dominance.k", "surprise"):
        assert key in message


def test_unknown_statistic_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "stat.yaml"
    path.write_text(
        "version: 1\nname: x\nsource: y\nunsafe_statistics: {statistics: [max, average]}\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match="average"):
        load_policy(path)


def test_missing_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="file not found"):
        load_policy(tmp_path / "absent.yaml")


def test_a_changed_policy_is_validated_as_a_loaded_one_is() -> None:
    """Tests and notebooks vary a policy with ``with_changes``: pydantic's
    ``model_copy(update=...)`` would take a threshold of 0 or a rounding base of 1."""
    policy = load_policy()
    lenient = policy.with_changes(threshold=5, zeros_disclosive=False)
    assert (lenient.threshold, lenient.zeros_disclosive) == (5, False)
    assert lenient.dominance == policy.dominance and policy.threshold == 10
    for changes, key in (
        ({"threshold": 0}, "threshold"),
        ({"rounding": {"base": 1}}, "rounding.base"),
        ({"unsafe_statistics": {"statistics": ["average"]}}, "unknown"),
        ({"thresold": 5}, "thresold"),
    ):
        with pytest.raises(ValidationError, match=key):
            policy.with_changes(**changes)
    with pytest.raises(ValidationError, match="min_residual_dof"):
        policy.model.with_changes(min_residual_dof=0)
