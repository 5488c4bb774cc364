from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from trelink.specs import SpecError
from trelink.specs.match_keys import DEFAULT_MATCH_KEY_SPEC, load_match_key_spec


def test_shipped_spec_loads_and_every_comparison_is_resolvable() -> None:
    spec = load_match_key_spec()
    assert {"fn_sn", "dob", "pc", "nhs_number"} <= set(spec.token_columns)
    assert [c.name for c in spec.comparisons][:3] == ["name", "dob", "postcode"]


def _broken(tmp_path: Path, mutate: object) -> Path:
    data = yaml.safe_load(DEFAULT_MATCH_KEY_SPEC.read_text())
    mutate(data)  # type: ignore[operator]
    path = tmp_path / "keys.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_low_cardinality_key_alone_refused(tmp_path: Path) -> None:
    def add_year(data: dict) -> None:  # type: ignore[type-arg]
        data["match_keys"].append({"name": "yob", "domain": "yob", "derive": ["dob_year"]})

    with pytest.raises(SpecError, match="low-cardinality"):
        load_match_key_spec(_broken(tmp_path, add_year))


def test_unknown_key_and_domain_mismatch_reported_together(tmp_path: Path) -> None:
    def break_refs(data: dict) -> None:  # type: ignore[type-arg]
        levels = data["comparisons"][0]["levels"]
        levels[0]["all"] = [{"equal": "no_such_key"}]
        levels[2]["all"] = [{"cross": ["fn_sn", "dob"]}]

    with pytest.raises(SpecError) as caught:
        load_match_key_spec(_broken(tmp_path, break_refs))
    message = str(caught.value)
    assert "unknown match key(s) ['no_such_key']" in message
    assert "different token domains" in message


def test_list_flag_must_match_derivation(tmp_path: Path) -> None:
    def unflag(data: dict) -> None:  # type: ignore[type-arg]
        for key in data["match_keys"]:
            if key["name"] == "fn_del":
                key["list"] = False

    with pytest.raises(SpecError, match="set `list: true`"):
        load_match_key_spec(_broken(tmp_path, unflag))


def test_blocking_rules_and_em_blocks_are_checked_against_the_keys(tmp_path: Path) -> None:
    def break_blocks(data: dict) -> None:  # type: ignore[type-arg]
        data["blocking"].append({"all": [{"equal": "fn_del"}]})
        data["em_blocks"].append(["dob", "shoe_size"])

    with pytest.raises(SpecError) as caught:
        load_match_key_spec(_broken(tmp_path, break_blocks))
    message = str(caught.value)
    assert "blocking needs scalar keys, ['fn_del'] are lists" in message
    assert "em_blocks[3]: unknown match key(s) ['shoe_size']" in message
