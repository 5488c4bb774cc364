"""Subgroups and attribute comparisons: nationality groups for the bias tables."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from linkage.inputs import folder_source
from linkage.job import LinkJob
from linkage.run import LinkResult, link_datasets
from linkage.subgroups import NATIONALITY_GROUPS, nationality_group_sql
from trelink.specs.dataset import dataset_spec_path, load_dataset_spec

from .conftest import TokenisedPair


@pytest.mark.parametrize(
    ("nationality", "group"),
    [
        ("british", "British"),
        ("Eritrean ", "African"),
        ("VIETNAMESE", "East Asian"),
        ("afghan", "Middle East and Central Asia"),
        ("martian", "Other"),
        (None, None),
    ],
)
def test_nationalities_map_to_their_group(nationality: str | None, group: str | None) -> None:
    found = duckdb.execute(
        f"SELECT {nationality_group_sql('n')} FROM (SELECT ?::VARCHAR AS n)", [nationality]
    ).fetchall()[0][0]
    assert found == group


def test_every_nationality_code_of_the_dataset_specs_has_a_group() -> None:
    for source in ("nrm", "ictg"):
        spec = load_dataset_spec(dataset_spec_path(source))
        codes = {
            code
            for table in spec.tables
            for column in table.columns
            if column.name == "nationality"
            for code in (column.categories or {})
        }
        assert codes, source
        assert codes <= set(NATIONALITY_GROUPS), (source, codes - set(NATIONALITY_GROUPS))


def _link(pair: TokenisedPair, out: Path, job: LinkJob) -> LinkResult:
    return link_datasets(
        [folder_source(pair.left), folder_source(pair.right)],
        out_dir=out,
        job=job,
        truth_path=pair.truth,
        show_progress=False,
    )


@pytest.fixture(scope="module")
def linked_with_sex(
    tokenised_pair: TokenisedPair, tmp_path_factory: pytest.TempPathFactory
) -> LinkResult:
    job = LinkJob(link_type="link_only", attribute_comparisons=("sex", "not_an_attribute"))
    return _link(tokenised_pair, tmp_path_factory.mktemp("sex") / "out", job)


def test_recall_is_reported_by_nationality_group(linked_with_sex: LinkResult) -> None:
    assert linked_with_sex.metrics is not None
    groups = {
        item.value
        for item in linked_with_sex.metrics.by_group
        if item.subgroup == "nationality_group"
    }
    assert "British" in groups
    assert groups <= {*NATIONALITY_GROUPS.values(), "Other", "not recorded"}


def test_attributes_every_dataset_has_are_compared(linked_with_sex: LinkResult) -> None:
    model = json.loads((linked_with_sex.out_dir / "model.json").read_text(encoding="utf-8"))
    names = [comparison["output_column_name"] for comparison in model["comparisons"]]
    assert names[-1] == "sex"
    assert "not_an_attribute" not in names
    assert linked_with_sex.metrics is not None
    assert linked_with_sex.metrics.overall.f1 >= 0.92
