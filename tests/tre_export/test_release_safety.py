"""An output's kind cannot sidestep the checks, and nothing released runs as a formula
in a spreadsheet (issue 14, finding 8)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.tre_export import tables
from tests.tre_export.conftest import Team, submit_outputs
from tre_export.area import ExportArea
from tre_export.checks import parses_as_table
from tre_export.enrolment import init_area
from tre_export.errors import AreaError, ReleaseError, RequestError
from tre_export.model import CheckOutcome, Decision, OutputKind
from tre_export.release import release_request
from tre_export.request import add_output, new_request
from tre_export.review import review_output

FORMULA_LABEL = '"=HYPERLINK(""http://x"",""y"")"'


def test_a_table_added_as_text_is_checked_as_a_table(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    _, checks = submit_outputs(
        area,
        team,
        tmp_path / "work",
        [
            ("counts.txt", tables.UNSAFE_RAW, OutputKind.TEXT),
            ("note.txt", "We found 3 groups, and 12 people in all.\n", OutputKind.TEXT),
        ],
        title="hostile outputs",
    )
    hidden = checks.outputs["counts.txt"]
    assert hidden.outcome is CheckOutcome.FAIL
    assert any("parses as a table" in reason for reason in hidden.reasons)
    assert hidden.flagged_cells  # the small cells are shown to the checker
    assert checks.outputs["note.txt"].outcome is CheckOutcome.MANUAL


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (tables.UNSAFE_RAW, True),
        (tables.UNSAFE_RAW.replace(",", "\t"), True),
        ("a,b\nx,y\n", False),  # no numbers
        ("Totals were small, as expected.\nNothing, more, to say\n", False),
        ("just one line, 12\n", False),
    ],
)
def test_what_parses_as_a_table(tmp_path: Path, content: str, expected: bool) -> None:
    assert parses_as_table(tables.write(tmp_path, "x.txt", content)) is expected


def test_formula_cells_fail_the_checks_and_are_never_released(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    hostile = tables.SAFE_BY_SEX_AGE.replace("North", FORMULA_LABEL)
    request_id, checks = submit_outputs(
        area,
        team,
        tmp_path / "work",
        [
            ("by_sex_age.csv", hostile, OutputKind.TABLE),
            ("links.csv", "name,url\n@cmd,x\n", OutputKind.TEXT),
        ],
        title="hostile outputs",
    )
    for name in ("by_sex_age.csv", "links.csv"):
        check = checks.outputs[name]
        assert check.outcome is CheckOutcome.FAIL, name
        assert any("run as a formula" in reason for reason in check.reasons), check.reasons
    # two checkers override the failure anyway: the release still refuses
    for checker in (team.checker1, team.checker2):
        for name in ("by_sex_age.csv", "links.csv"):
            review_output(
                area,
                checker=checker.signer,
                request_id=request_id,
                output=name,
                decision=Decision.APPROVE,
                reason="looks fine",
                override="judged safe",
            )
    outbox = tmp_path / "outbox"
    with pytest.raises(ReleaseError, match=re.escape("by_sex_age.csv, links.csv hold cells")):
        release_request(area, checker=team.checker1.signer, request_id=request_id, outbox=outbox)
    assert not outbox.exists()


def test_a_directory_added_as_an_output_is_named_as_one(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    request_id = new_request(area, researcher=team.researcher.signer, title="a folder")
    folder = tmp_path / "results.csv"
    folder.mkdir()
    with pytest.raises(RequestError, match=r"results\.csv: is a directory"):
        add_output(
            area,
            researcher=team.researcher.signer,
            request_id=request_id,
            source=folder,
            kind=OutputKind.TABLE,
            description="a folder",
        )


def test_a_directory_as_the_project_policy_is_named_as_one(team: Team, tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    with pytest.raises(AreaError, match="policies: is a directory"):
        init_area(tmp_path / "E", project="Demo", administrator=team.admin.signer, policy=folder)
    assert not (tmp_path / "E").exists()


def test_flagged_cells_are_marked_on_escaped_labels(tmp_path: Path) -> None:
    from tre_export.table_view import CellEvidence, render_table

    table = tables.write(
        tmp_path,
        "t.csv",
        "region,'@sex: F,'@sex: M,Total\n'=HYPERLINK(1),3,14,17\nSouth,22,18,40\nTotal,25,32,57\n",
    )
    rendered = render_table(table, {("=HYPERLINK(1)", "@sex: F"): CellEvidence(["threshold"])})
    assert rendered is not None
    assert (rendered.rows[0][1].text, rendered.rows[0][1].classes) == ("3", "flagged")
    assert rendered.rows[0][1].note == "flagged: threshold"
    label = rendered.rows[0][0]
    assert (label.text, label.classes) == ("'=HYPERLINK(1)", "label")  # as the file holds it
