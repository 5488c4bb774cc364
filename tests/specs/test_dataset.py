from __future__ import annotations

from pathlib import Path

import pytest

from tests.specs.toy_spec import TOY_IDENTITY_TABLE
from trelink.specs import SpecError
from trelink.specs.dataset import dataset_spec_path, label_key, load_dataset_spec

SOURCES = ["nrm", "ictg", "education", "health", "justice"]

GOOD = (
    TOY_IDENTITY_TABLE
    + """\
      - {name: dob, role: dob, type: date}
      - name: sex
        role: sex
        type: category
        categories: {F: [Female], M: [Male]}
      - name: site
        type: category
        categories: {leeds: [Leeds, Leeds City]}
        missing_values: [Not known]
    periods:
      - period: "2020"
        files: ["*.csv"]
        date_formats: ["%d/%m/%Y", excel_serial]
        labels:
          record_id: [URN]
          dob: [DOB, Date of birth]
          sex: [Gender]
          site: [Site]
"""
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("source", SOURCES)
def test_shipped_specs_load(source: str) -> None:
    spec = load_dataset_spec(dataset_spec_path(source))
    assert spec.dataset == source
    for table in spec.tables:
        assert table.column("record_id").required


def test_ictg_yields_three_tables_with_groups() -> None:
    spec = load_dataset_spec(dataset_spec_path("ictg"))
    assert [table.name for table in spec.tables] == ["referral", "monthly", "contact"]
    assert all(table.groups == ("DW", "RPC", "Missing") for table in spec.tables)
    assert [p.period for p in spec.table("contact").periods] == ["2017-2019", "2021", "2022"]


def test_good_spec_is_frozen_and_compiles_category_lookup(tmp_path: Path) -> None:
    spec = load_dataset_spec(write(tmp_path, GOOD))
    site = spec.table("referral").column("site")
    assert site.category_lookup()[label_key("  LEEDS city ")] == "leeds"
    with pytest.raises(ValueError):
        spec.dataset = "other"  # type: ignore[misc]


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    broken = (
        GOOD.replace("dataset: toy", "dataset: toy\ncolour: blue")  # unknown key
        .replace("unique_record_id: true", "unique_record_id: maybe")  # bad type
        .replace("{name: dob, role: dob, type: date}", "{name: dob, role: birthday, type: date}")
        .replace("sex: [Gender]", "sex: [Gender, DOB]")  # duplicate synonym
    )
    with pytest.raises(SpecError) as caught:
        load_dataset_spec(write(tmp_path, broken))
    problems = caught.value.problems
    message = str(caught.value)
    assert str(tmp_path / "toy.yaml") in message
    assert any(p.startswith("colour: Extra inputs") for p in problems)
    assert any("unique_record_id" in p and "boolean" in p for p in problems)
    assert any("columns[1].role" in p for p in problems)
    assert any("'DOB' is a synonym of both 'dob' and 'sex'" in p for p in problems)
    assert len(problems) >= 4


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("{leeds: [Leeds, Leeds City]}", "{leeds: [Leeds], york: [leeds]}", "belongs to both"),
        ("missing_values: [Not known]", "missing_values: [Leeds]", "missing value and a category"),
        (
            "          site: [Site]",
            "          site: [Site]\n          ward: [Ward]",
            "unknown column",
        ),
        ("          record_id: [URN]\n", "", "required column 'record_id' has no labels"),
        ('date_formats: ["%d/%m/%Y", excel_serial]', "date_formats: []", "give `date_formats`"),
        (
            "{name: dob, role: dob, type: date}",
            "{name: dob, role: dob}",
            "role dob needs type date",
        ),
        ("{F: [Female], M: [Male]}", "{F: [Female], X: [Other]}", "exactly F and M"),
        ("kind: identity", "kind: events", "event tables carry no identifiers"),
    ],
)
def test_inconsistent_specs_refused(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    with pytest.raises(SpecError, match=expected):
        load_dataset_spec(write(tmp_path, GOOD.replace(old, new)))


def test_label_key_ignores_case_spaces_and_dots() -> None:
    assert label_key(" Date of  Birth ") == label_key("date of birth")
    assert label_key("first_name") == label_key("First Name")
    assert label_key("D.O.B") != label_key("DOB")


def test_label_key_composes_unicode_as_a_mac_decomposes_it() -> None:
    """'Prénom' saved on a Mac is 'Pre' + a combining accent + 'nom': the same header."""
    assert label_key("Pre\u0301nom") == label_key("Prénom")
