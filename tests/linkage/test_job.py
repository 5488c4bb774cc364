"""Linkage job specs: loading, defaults, and every problem reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkage.errors import JobParameterError
from linkage.job import BlockingRuleSpec, LinkJob, load_link_job
from trelink.specs.loader import SpecError, spec_path
from trelink.specs.match_keys import EqualTerm, load_match_key_spec


def test_shipped_job_specs_load_against_the_shipped_match_keys() -> None:
    paths = sorted(spec_path("linkage").glob("*.yaml"))
    assert paths
    for path in paths:
        job = load_link_job(path)  # SpecError if a key, comparison or level were unknown
        assert job.match_keys == load_match_key_spec()


def test_defaults_need_no_file_and_are_complete_once_constructed() -> None:
    job = LinkJob()
    spec = load_match_key_spec()
    assert job.link_type == "link_and_dedupe"
    # Usable at once: the match-key spec's rules, blocks and comparisons.
    assert job.blocking_rules == spec.blocking and job.blocking_rules
    assert job.em_blocks == spec.em_blocks and job.em_blocks
    assert [item.name for item in job.effective_comparisons] == [
        item.name for item in spec.comparisons
    ]


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


def test_a_job_file_lists_every_unknown_match_key_and_comparison(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(
        "version: 1\n"
        "blocking:\n  - all: [{equal: shoe_size}]\n"
        "training: {em_blocks: [[dob, star_sign]]}\n"
        "required_comparisons: [name, shoe]\n"
    )
    with pytest.raises(SpecError) as caught:
        load_link_job(path)
    assert caught.value.problems == [
        "blocking[0]: unknown match key(s) ['shoe_size']",
        "training.em_blocks[0]: unknown match key(s) ['star_sign']",
        "required_comparisons: no comparison called ['shoe']",
    ]
    assert str(path) in str(caught.value)


def test_a_job_file_is_checked_against_the_match_keys_it_is_given(tmp_path: Path) -> None:
    # A key the shipped spec lacks is known to a spec that defines it.
    spec = load_match_key_spec()
    yob = {"name": "sn_yob", "domain": "sn_yob", "derive": ["surname", "dob_year"]}
    own = type(spec).model_validate(spec.model_dump() | {"match_keys": [*spec.match_keys, yob]})
    path = tmp_path / "job.yaml"
    path.write_text("version: 1\nblocking:\n  - all: [{equal: sn_yob}]\n")
    with pytest.raises(SpecError, match=r"blocking\[0\]: unknown match key\(s\) \['sn_yob'\]"):
        load_link_job(path)
    job = load_link_job(path, match_keys=own)
    assert job.match_keys is own and [rule.keys for rule in job.blocking_rules] == [("sn_yob",)]
    # The file cannot name a match-key spec of its own.
    path.write_text("version: 1\nmatch_keys: specs/pseudonymise/match_keys.yaml\n")
    with pytest.raises(SpecError, match=r"match_keys: .*not part of a job file"):
        load_link_job(path)


def test_a_job_naming_an_unknown_match_key_fails_at_construction() -> None:
    unknown = BlockingRuleSpec(all=(EqualTerm(equal="shoe_size"),))
    with pytest.raises(JobParameterError) as caught:
        LinkJob(blocking=(unknown,), required_comparisons=("name", "shoe"))
    assert caught.value.parameter == "blocking[0]"
    # the message names every problem, each with its parameter
    assert str(caught.value) == (
        "blocking[0]: unknown match key(s) ['shoe_size']; "
        "required_comparisons: no comparison called ['shoe']"
    )
    with pytest.raises(JobParameterError) as caught:
        LinkJob().with_changes(training={"em_blocks": [["dob", "star_sign"]]})
    assert caught.value.parameter == "training.em_blocks[0]"


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
    with pytest.raises(SpecError) as caught:
        load_link_job(path)
    problems = "; ".join(caught.value.problems)
    assert problems.startswith("comparisons: ")
    assert "fn_del" in problems and "nickname" in problems
    path.write_text(
        "version: 1\nrequired_comparisons: [name]\n"
        "comparisons:\n"
        "  - name: name\n    null_when_missing: [fn_sn]\n    levels:\n"
        "      - {label: full, all: [{equal: fn_sn}]}\n"
    )
    job = load_link_job(path)
    assert [comparison.name for comparison in job.effective_comparisons] == ["name"]
    # The default twins rule names levels of the spec's name comparison: a job that
    # overrides the comparisons and says nothing of hold_back goes without it.
    assert job.hold_back and "hold_back" not in job.model_fields_set


def test_capped_blocking_rules_load_from_yaml_and_bad_caps_are_named(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(
        "version: 1\nblocking:\n  - {all: [{equal: name_set}], max_block_size: 20}\n"
        "  - {all: [{cross: [fn, sn]}, {cross: [fn_sn, sn_fn]}], max_block_size: 20}\n"
        "attribute_comparisons: [sex]\n"
    )
    with pytest.raises(SpecError) as caught:
        load_link_job(path)
    assert "blocking[1]" in str(caught.value) and "one `cross` term" in str(caught.value)
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
    with pytest.raises(SpecError) as caught:
        load_link_job(path)
    problems = caught.value.problems
    assert len(problems) == 3
    assert problems[0].startswith(
        "hold_back[0]: rule 'twins': comparison 'name' has no level ['shoe size']"
    )
    assert problems[1] == "hold_back[1]: rule 'other': no comparison called 'star_sign'"
    assert (
        problems[2] == "hold_back[2]: rule 'third': unless names no comparison called ['passport']"
    )


def test_every_change_to_a_job_is_validated_and_names_its_parameter() -> None:
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
    # The default twins rule is checked only where the file did not override the
    # comparisons or named hold_back itself, and the spec's rules stand in for those
    # the job does not set: a change must not mark other fields as set.
    job = LinkJob()
    changed = job.with_changes(threshold=0.7)
    assert changed.model_fields_set == {"threshold", "match_keys"}
    assert changed.blocking is None and changed.training.em_blocks is None
    assert changed.blocking_rules == job.blocking_rules and changed.em_blocks == job.em_blocks
    assert changed.match_keys is job.match_keys
    assert changed.threshold == 0.7


def test_a_library_call_names_the_parameter_and_the_command_line_its_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from linkage.run import link_datasets
    from trelink.cli import main

    # The library speaks of the job's parameter ...
    with pytest.raises(JobParameterError) as caught:
        link_datasets([], out_dir=tmp_path / "out", threshold=1.5, show_progress=False)
    assert caught.value.parameter == "threshold"
    assert str(caught.value) == "threshold: Input should be less than 1, not 1.5"
    assert not (tmp_path / "out").exists()
    # ... the command line of the flag that set it: a usage error (exit 2).
    arguments = ["link", str(tmp_path), "--out", str(tmp_path / "o"), "--threshold", "1.5"]
    monkeypatch.setattr(sys, "argv", ["trelink", *arguments])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    message = " ".join(capsys.readouterr().err.replace("│", " ").split())
    assert "Invalid value for --threshold: Input should be less than 1, not 1.5" in message
    assert "Traceback" not in message and " threshold:" not in message


def test_the_command_line_names_the_flag_of_a_bad_job_parameter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from trelink.cli import main

    arguments = ["link", str(tmp_path), "--out", str(tmp_path / "o"), "--link-type", "every"]
    monkeypatch.setattr(sys, "argv", ["trelink", *arguments])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2  # a wrong command line
    message = " ".join(capsys.readouterr().err.replace("│", " ").split())
    assert (
        "Invalid value for --link-type: Input should be 'link_only', 'dedupe_only' or "
        "'link_and_dedupe'" in message
    )
    assert "Traceback" not in message
