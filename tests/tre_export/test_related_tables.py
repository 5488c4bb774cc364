"""The export's automated checks run the request-wide audit over related tables: a
region x age table sums the region x sex x age table over sex, shares no cell with its
hidden ones, and still narrows them (issue 14, finding 1)."""

from __future__ import annotations

import json
from pathlib import Path

from sdc import frequency_table, load_policy, read_table_file
from sdc.tablefile import write_table
from tests.sdc.test_related_tables import SCENARIO, scenario_microdata
from tests.tre_export.conftest import Team
from tests.tre_export.test_lifecycle import _add, _new, _release, _review, _submit
from tre_export.area import ExportArea
from tre_export.state import read_state


def _protect(folder: Path, *, jointly: bool) -> list[Path]:
    data, policy = scenario_microdata(), load_policy()
    paths: list[Path] = []
    for name, columns in SCENARIO:
        linked = [read_table_file(path) for path in paths] if jointly else []
        table = frequency_table(data, ["region"], columns, policy=policy, linked=linked)
        paths.append(write_table(table, folder / name)[0])
    return paths


def _submitted(area: ExportArea, key: Path, *paths: Path) -> str:
    request_id = _new(area.root, key)
    for path in paths:
        code, output = _add(area.root, key, request_id, path)
        assert code == 0, output
    code, output = _submit(area.root, key, request_id)
    assert code == 0, output
    return request_id


def test_related_tables_protected_apart_fail_the_request_audit(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    apart = _protect(tmp_path / "apart", jointly=False)
    request_id = _submitted(area, team.researcher.private, *apart)
    outcomes = read_state(area).request(request_id).check_outcomes
    assert outcomes["by_region_sex_age.csv"].value == "fail"
    checks = json.loads(area.checks_path(request_id).read_text())
    assert checks["audit"]["passed"] is False
    assert len(checks["audit"]["failures"]) == 8
    assert ["East", "sex: F | age_band: 0-9"] in checks["outputs"]["by_region_sex_age.csv"][
        "flagged_cells"
    ]


def test_a_related_table_is_audited_against_an_earlier_release(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    three_way, _, by_age = _protect(tmp_path / "apart", jointly=False)
    key = team.researcher.private
    first = _submitted(area, key, three_way)
    assert read_state(area).request(first).check_outcomes[three_way.name].value == "pass"
    for checker in (team.checker1, team.checker2):
        _review(area, checker.private, three_way.name, "--approve", request_id=first)
    assert _release(area.root, team.checker1.private, first, tmp_path / "released")[0] == 0
    later = _submitted(area, key, by_age)
    verdict = json.loads(area.checks_path(later).read_text())["outputs"][by_age.name]
    assert verdict["outcome"] == "fail"
    assert any("request-wide audit" in reason for reason in verdict["reasons"])


def test_related_tables_protected_jointly_pass(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    jointly = _protect(tmp_path / "jointly", jointly=True)
    request_id = _submitted(area, team.researcher.private, *jointly)
    outcomes = read_state(area).request(request_id).check_outcomes
    assert {name: outcome.value for name, outcome in outcomes.items()} == {
        path.name: "pass" for path in jointly
    }
