"""The person-level table (``trelink spine``) on a spine built by hand, answers known.

Person P1 has four NRM referrals and three hospital admissions, P2 one referral and
P3 one admission. Dates, missing values and booleans are chosen so each rule has one
answer that a wrong reading (first row instead of earliest date, nulls not skipped,
undated records ranked first, rows counted instead of true values) would miss.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linkage.errors import InputTableError
from linkage.inputs import folder_source
from linkage.person_spec import PersonTableSpec, load_person_table_spec, with_options
from linkage.person_table import write_person_table
from tests.entry_point import trelink_process as _trelink
from trelink.specs.loader import SpecError, spec_path, validate_spec

D = dt.date

NRM = {
    "record_pid": ["r1", "r2", "r5", "r6", "r3"],
    "referral_date": [D(2019, 5, 1), D(2018, 1, 1), D(2020, 1, 1), None, D(2020, 1, 1)],
    "nationality": ["albanian", "vietnamese", None, "british", "british"],
    "exploited": [True, False, None, True, False],
}
HEALTH = {
    "record_pid": ["h1", "h2", "h3", "h4"],
    "admission_date": [D(2021, 3, 1), D(2021, 1, 1), D(2022, 1, 1), D(2020, 1, 1)],
    "mental_health_contact": [True, False, None, False],
}
CLUSTERS = [
    ("nrm", "r1", "P1"), ("nrm", "r2", "P1"), ("nrm", "r5", "P1"), ("nrm", "r6", "P1"),
    ("health", "h1", "P1"), ("health", "h2", "P1"), ("health", "h3", "P1"),
    ("nrm", "r3", "P2"), ("health", "h4", "P3"),
]  # fmt: skip

SPEC = """\
version: 1
name: hand-made
datasets:
  nrm:
    order_by: referral_date
    attributes:
      - {column: nationality, rule: first}
      - {column: nationality, rule: latest}
      - {column: exploited, rule: count}
      - {column: exploited, rule: any}
  health:
    order_by: admission_date
    attributes:
      - {column: admission_date, rule: first, name: first_admission}
      - {column: admission_date, rule: count, name: admissions}
      - {column: mental_health_contact, rule: any}
"""


def _folder(root: Path, name: str, attributes: dict[str, list[object]]) -> Path:
    folder = root / name
    folder.mkdir()
    pq.write_table(pa.table({"record_pid": attributes["record_pid"]}), folder / "identity.parquet")
    pq.write_table(pa.table(attributes), folder / "attributes.parquet")
    return folder


@pytest.fixture()
def spine(tmp_path: Path) -> Path:
    """A link output folder holding clusters.parquet, beside two dataset folders."""
    _folder(tmp_path, "nrm", NRM)
    _folder(tmp_path, "health", HEALTH)
    link_dir = tmp_path / "linked"
    link_dir.mkdir()
    dataset, record_pid, person_id = zip(*CLUSTERS, strict=True)
    pq.write_table(
        pa.table({"dataset": dataset, "record_pid": record_pid, "person_id": person_id}),
        link_dir / "clusters.parquet",
    )
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    return link_dir


def _write(spine: Path, spec_text: str = SPEC, **options: object) -> dict[str, dict[str, object]]:
    spec_file = spine.parent / "spec.yaml"
    spec_file.write_text(spec_text, encoding="utf-8")
    sources = [folder_source(str(spine.parent / "nrm")), folder_source(spine.parent / "health")]
    written = write_person_table(
        str(spine),
        sources,
        str(spine.parent / "persons.parquet"),
        spec=load_person_table_spec(str(spec_file)),
        spec_source=str(spec_file),
        **options,  # type: ignore[arg-type]
    )
    rows = pq.read_table(written.path).to_pylist()
    return {str(row["person_id"]): row for row in rows}


def test_one_row_per_person_with_datasets_and_counts(spine: Path) -> None:
    persons = _write(spine)
    assert sorted(persons) == ["P1", "P2", "P3"]
    assert persons["P1"]["datasets"] == ["health", "nrm"]
    assert persons["P2"]["datasets"] == ["nrm"]
    assert [persons[p]["records"] for p in ("P1", "P2", "P3")] == [7, 1, 1]
    assert [persons[p]["nrm_records"] for p in ("P1", "P2", "P3")] == [4, 1, 0]
    assert [persons[p]["health_records"] for p in ("P1", "P2", "P3")] == [3, 0, 1]


def test_first_and_latest_follow_the_date_and_skip_missing_values(spine: Path) -> None:
    persons = _write(spine)
    # P1: 2018 vietnamese, 2019 albanian, 2020 no value, undated british (ranked last).
    assert persons["P1"]["nrm_nationality_first"] == "vietnamese"
    assert persons["P1"]["nrm_nationality_latest"] == "albanian"
    assert persons["P2"]["nrm_nationality_first"] == "british"
    assert persons["P3"]["nrm_nationality_first"] is None  # not in the NRM data
    assert persons["P1"]["first_admission"] == D(2021, 1, 1)  # not the first row's date
    assert persons["P3"]["first_admission"] == D(2020, 1, 1)
    assert persons["P2"]["first_admission"] is None


def test_count_and_any_count_true_values_or_present_values(spine: Path) -> None:
    persons = _write(spine)
    # Booleans: rows that are true (P1: r1 and r6; r2 is false, r5 missing).
    assert [persons[p]["nrm_exploited_count"] for p in ("P1", "P2", "P3")] == [2, 0, 0]
    assert [persons[p]["nrm_exploited_any"] for p in ("P1", "P2", "P3")] == [True, False, False]
    # Other types: rows with a value.
    assert [persons[p]["admissions"] for p in ("P1", "P2", "P3")] == [3, 0, 1]
    assert [persons[p]["health_mental_health_contact_any"] for p in ("P1", "P2", "P3")] == [
        True,
        False,
        False,
    ]


def test_csv_is_written_beside_and_without_a_spec_only_counts(spine: Path) -> None:
    csv = spine.parent / "persons.csv"
    persons = _write(spine, "version: 1\n", csv=str(csv))
    assert set(persons["P1"]) == {
        "person_id",
        "datasets",
        "records",
        "health_records",
        "nrm_records",
    }
    lines = csv.read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",")[0] == "person_id" and len(lines) == 4


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (SPEC.replace("rule: latest", "rule: last"), "datasets.nrm.attributes[1].rule"),
        (SPEC.replace("    order_by: referral_date\n", ""), "datasets.nrm"),
        (SPEC.replace("name: admissions", "name: first_admission"), "set `name:`"),
        (SPEC.replace("name: admissions", "name: nrm_records"), "trelink writes itself"),
        (SPEC + "unknown_key: 1\n", "unknown_key"),
    ],
)
def test_a_malformed_spec_names_file_and_key(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "people.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load_person_table_spec(path)
    assert str(path) in str(raised.value) and where in str(raised.value)


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("column: exploited, rule: count", "column: exploted, rule: count",
         "datasets.nrm.attributes[2].column: dataset 'nrm' has no attribute column 'exploted'"),
        ("order_by: admission_date", "order_by: admitted",
         "datasets.health.order_by: dataset 'health' has no column 'admitted'"),
        ("  health:", "  justice:", "datasets.justice: the spine has no dataset 'justice'"),
    ],
)  # fmt: skip
def test_a_spec_that_does_not_fit_the_data_is_refused_and_nothing_written(
    spine: Path, old: str, new: str, where: str
) -> None:
    with pytest.raises(SpecError) as raised:
        _write(spine, SPEC.replace(old, new))
    assert where in str(raised.value) and "spec.yaml" in str(raised.value)
    assert not (spine.parent / "persons.parquet").exists()


def test_clusters_that_are_not_a_spine_are_refused(tmp_path: Path) -> None:
    pq.write_table(pa.table({"dataset": ["a"], "record_pid": ["x"]}), tmp_path / "clusters.parquet")
    with pytest.raises(InputTableError, match="person_id"):
        write_person_table(tmp_path, [], tmp_path / "persons.parquet")
    with pytest.raises(InputTableError, match="not found"):
        write_person_table(tmp_path / "nowhere", [], tmp_path / "persons.parquet")


def test_command_line_rules_add_to_a_spec(spine: Path) -> None:
    spec = with_options(
        load_person_table_spec(spine.parent / "spec.yaml"),
        attributes=["health.mental_health_contact:count=mh", "nrm.nationality:latest=last"],
        order_by=["health.admission_date"],
    )
    sources = [folder_source(spine.parent / "nrm"), folder_source(spine.parent / "health")]
    written = write_person_table(spine, sources, spine.parent / "options.parquet", spec=spec)
    rows = {row["person_id"]: row for row in pq.read_table(written.path).to_pylist()}
    assert [rows[p]["mh"] for p in ("P1", "P2", "P3")] == [1, 0, 0]
    assert rows["P1"]["last"] == "albanian" and rows["P1"]["first_admission"] == D(2021, 1, 1)


@pytest.mark.parametrize(
    ("attributes", "order_by", "where"),
    [
        (["health:any"], [], "--attribute 'health:any': give DATASET.COLUMN:RULE"),
        ([], ["health"], "--order-by 'health': give DATASET.COLUMN"),
        (["justice.outcome:latest"], [], "need order_by"),
        (["justice.outcome:most"], [], "datasets.justice.attributes[0].rule"),
    ],
)
def test_malformed_command_line_rules_are_named(
    attributes: list[str], order_by: list[str], where: str
) -> None:
    with pytest.raises(SpecError, match="the command line") as raised:
        with_options(PersonTableSpec(), attributes=attributes, order_by=order_by)
    assert where in str(raised.value)


def test_shipped_person_table_specs_load() -> None:
    paths = sorted(spec_path("person_table").glob("*.yaml"))
    assert paths
    for path in paths:
        assert load_person_table_spec(path).columns()


def test_spec_validates_without_a_file() -> None:
    spec = validate_spec({"version": 1, "datasets": {"nrm": {}}}, PersonTableSpec, source="x")
    assert spec.columns() == []


@pytest.mark.slow  # two `trelink` processes
def test_command_writes_the_table_and_refuses_a_bad_spec(spine: Path) -> None:
    root = spine.parent
    out = root / "cli.parquet"
    done = _trelink(
        "spine", str(spine), str(root / "nrm"), str(root / "health"),
        "--spec", str(root / "spec.yaml"), "--out", str(out), "--csv", str(root / "cli.csv"),
        "--attribute", "health.mental_health_contact:count=mh",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "3 persons (9 records)" in done.stdout
    assert pq.read_table(out).num_rows == 3 and (root / "cli.csv").is_file()
    assert pq.read_table(out).column("mh").to_pylist() == [1, 0, 0]
    (root / "bad.yaml").write_text(SPEC.replace("rule: any", "rule: every"), encoding="utf-8")
    refused = _trelink(
        "spine", str(spine), str(root / "nrm"), str(root / "health"),
        "--spec", str(root / "bad.yaml"), "--out", str(root / "bad.parquet"),
    )  # fmt: skip
    assert refused.returncode == 3
    assert "bad.yaml" in refused.stderr and "rule" in refused.stderr
    assert "Traceback" not in refused.stderr and not (root / "bad.parquet").exists()
