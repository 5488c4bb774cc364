"""Linkage job specs: loading, defaults, and every problem reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkage.job import LinkJob, load_link_job
from trelink.specs.loader import SpecError, spec_path
from trelink.specs.match_keys import load_match_key_spec


def test_shipped_job_specs_load_and_reference_known_keys() -> None:
    match_keys = load_match_key_spec()
    paths = sorted(spec_path("linkage").glob("*.yaml"))
    assert paths
    for path in paths:
        job = load_link_job(path)
        assert job.key_problems(match_keys) == []


def test_defaults_need_no_file() -> None:
    job = LinkJob()
    assert job.link_type == "link_and_dedupe"
    assert job.key_problems(load_match_key_spec()) == []


def test_bad_job_spec_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(
        "version: 1\nlink_type: merge\nthreshold: 1.5\ndatasets: [nrm, nrm]\nsurprise: 1\n"
    )
    with pytest.raises(SpecError) as caught:
        load_link_job(path)
    text = str(caught.value)
    for fragment in ("link_type", "threshold", "surprise", "more than once", str(path)):
        assert fragment in text


def test_unknown_match_keys_and_comparisons_are_named(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(
        "version: 1\n"
        "blocking:\n  - all: [{equal: shoe_size}]\n"
        "training: {em_blocks: [[dob, star_sign]]}\n"
        "required_comparisons: [name, shoe]\n"
    )
    problems = load_link_job(path).key_problems(load_match_key_spec())
    joined = "; ".join(problems)
    assert "blocking[0]" in joined and "shoe_size" in joined
    assert "training.em_blocks[0]" in joined and "star_sign" in joined
    assert "required_comparisons" in joined and "shoe" in joined


def test_comparison_override_is_validated_like_the_match_key_spec(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(
        "version: 1\nrequired_comparisons: [name]\n"
        "comparisons:\n"
        "  - name: name\n    null_when_missing: [fn_sn]\n    levels:\n"
        "      - {label: full, all: [{equal: fn_sn}]}\n"
        "      - {label: bad, all: [{equal: fn_del}]}\n"
        "      - {label: unknown, all: [{equal: nickname}]}\n"
    )
    job = load_link_job(path)
    problems = "; ".join(job.key_problems(load_match_key_spec()))
    assert "fn_del" in problems and "nickname" in problems
    assert [comparison.name for comparison in job.effective_comparisons(load_match_key_spec())] == [
        "name"
    ]


def test_capped_blocking_rules_load_from_yaml_and_bad_caps_are_named(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(
        "version: 1\nblocking:\n  - {all: [{equal: name_set}], max_block_size: 20}\n"
        "  - {all: [{cross: [fn, sn]}], max_block_size: 20}\n"
        "attribute_comparisons: [sex]\n"
    )
    with pytest.raises(SpecError) as caught:
        load_link_job(path)
    assert "blocking[1]" in str(caught.value) and "equal" in str(caught.value)
    path.write_text(
        "version: 1\nblocking:\n  - {all: [{equal: name_set}], max_block_size: 20}\n"
        "attribute_comparisons: [sex]\n"
    )
    job = load_link_job(path)
    assert job.blocking[0].max_block_size == 20
    assert job.attribute_comparisons == ("sex",)


def test_hold_back_rules_name_unknown_comparisons_and_levels(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(
        "version: 1\nhold_back:\n"
        "  - {name: twins, comparison: name, levels: [surname only, shoe size], unless: [upn]}\n"
        "  - {name: other, comparison: star_sign, levels: [exact]}\n"
        "  - {name: third, comparison: dob, levels: [exact], unless: [passport]}\n"
    )
    problems = "; ".join(load_link_job(path).key_problems(load_match_key_spec()))
    assert "hold_back[0] (twins): comparison 'name' has no level ['shoe size']" in problems
    assert "hold_back[1] (other)" in problems and "star_sign" in problems
    assert "hold_back[2] (third)" in problems and "passport" in problems


def test_every_change_to_a_job_is_validated_and_names_its_parameter() -> None:
    from linkage.errors import JobParameterError

    job = LinkJob()
    assert job.with_changes(threshold=0.9).threshold == 0.9
    for changes, parameter in [
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": 0}, "threshold"),
        ({"link_type": "link_everything"}, "link_type"),
        ({"training": {"prior_recall": 2}}, "training.prior_recall"),
    ]:
        with pytest.raises(JobParameterError) as caught:
            job.with_changes(**changes)
        assert caught.value.parameter == parameter
        assert str(caught.value).startswith(f"{parameter}: ")


def test_a_changed_job_keeps_which_fields_its_file_set() -> None:
    # key_problems checks the default twins rule only where the file did not override
    # the comparisons or named hold_back itself: a change must not mark fields as set.
    changed = LinkJob().with_changes(threshold=0.7)
    assert changed.model_fields_set == {"threshold"}
    resolved = changed.resolved(load_match_key_spec())
    assert "hold_back" not in resolved.model_fields_set
    assert resolved.blocking_rules and resolved.training.em_blocks
    assert resolved.threshold == 0.7


def test_the_command_line_names_the_flag_of_a_bad_job_parameter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from trelink.cli import main

    arguments = ["link", str(tmp_path), "--out", str(tmp_path / "o"), "--link-type", "every"]
    monkeypatch.setattr(sys, "argv", ["trelink", *arguments])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 3  # refused input
    message = " ".join(capsys.readouterr().err.split())
    assert "--link-type: Input should be 'link_only', 'dedupe_only' or 'link_and_dedupe'" in message
    assert "Traceback" not in message
