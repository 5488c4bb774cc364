"""Independent reviews (issue 16, item 3): a checker does not see another checker's
decision on an output until they have recorded their own (the default, set per export
area); then the page shows agreement or conflict. On the page, in ``show`` and in
``status`` alike."""

from __future__ import annotations

import re
from pathlib import Path

from tests.tre_export import tables
from tests.tre_export.conftest import CHEAP, PASSWORD, Team, run_cli
from tests.tre_export.test_web import TestClient, _client, _review, _sign_in
from tre_export.area import ExportArea
from tre_export.enrolment import enrol, init_area
from tre_export.model import OutputKind, Role
from tre_export.request import add_output, new_request, submit_request
from tre_export.state import read_state
from tre_export.web.accounts import set_password


def _section(page: str, name: str) -> str:
    start = page.index(f'data-output="{name}"')
    end = page.find("<section", start)
    return page[start : end if end != -1 else len(page)]


def _queue_counts(client: TestClient) -> list[str]:
    row = client.get("/").text.split('href="/requests/R0001"')[1].split("</tr>")[0]
    return re.findall(r"<td>(\d+)</td>", row)


def test_a_checker_sees_others_decisions_only_after_their_own(web_area: ExportArea) -> None:
    carl, dana = _client(web_area), _client(web_area)
    _sign_in(carl, "Carl")
    _sign_in(dana, "Dana")
    assert (
        _review(carl, output="by_sex_age.csv", decision="approve", reason="fine").status_code == 303
    )
    assert (
        _review(carl, output="trend.png", decision="reject", reason="a bar of 3").status_code == 303
    )

    before = dana.get("/requests/R0001").text
    section = _section(before, "by_sex_age.csv")
    assert "awaiting your review" in section and "1 decision(s) recorded" in section
    assert "Carl" not in section and "approvals" not in section and "fine" not in section
    assert "a bar of 3" not in before
    # The queue's approved and rejected counts leave out decisions she may not see yet.
    # outputs, approved, rejected, conflicts
    assert _queue_counts(dana) == ["3", "0", "0", "0"]
    assert _queue_counts(carl) == ["3", "0", "1", "0"]  # by_sex_age needs a second approval

    assert (
        _review(dana, output="by_sex_age.csv", decision="approve", reason="ok").status_code == 303
    )
    assert _review(dana, output="trend.png", decision="approve", reason="ok").status_code == 303
    after = dana.get("/requests/R0001").text
    agreed = _section(after, "by_sex_age.csv")
    assert "<strong>Carl</strong> approved" in agreed and "The checkers agree." in agreed
    assert "2/2 approvals" in agreed
    conflict = _section(after, "trend.png")
    assert "a bar of 3" in conflict and "The checkers disagree" in conflict
    # Carl, who decided first, now sees Dana's decisions too; the researcher sees all.
    assert "<strong>Dana</strong> approved" in _section(
        carl.get("/requests/R0001").text, "trend.png"
    )
    rita = _client(web_area)
    _sign_in(rita, "Rita")
    assert "a bar of 3" in rita.get("/requests/R0001").text


def test_show_and_status_are_blind_without_the_viewers_own_decision(
    web_area: ExportArea, team: Team
) -> None:
    carl = _client(web_area)
    _sign_in(carl, "Carl")
    assert (
        _review(carl, output="raw.csv", decision="reject", reason="small cells").status_code == 303
    )
    show = ["export", "show", "--dir", web_area.root, "--request", "R0001", "--output", "raw.csv"]
    for key in ([], ["--key", team.checker2.private]):
        result = run_cli(*show, *key)
        assert result.exit_code == 0, result.output
        assert "small cells" not in result.output and "rejected" not in result.output
        assert "1 decision(s): hidden (blind reviews" in result.output
        assert "awaiting your review" in result.output
    result = run_cli(*show, "--key", team.checker1.private)
    assert "Carl rejected via web" in result.output and "small cells" in result.output
    status = ["export", "status", "--dir", web_area.root, "--request", "R0001"]
    hidden = run_cli(*status, "--key", team.checker2.private).output
    assert "rejected" not in hidden and "awaiting your review" in hidden
    assert "rejected" in run_cli(*status, "--key", team.checker1.private).output


def test_an_area_may_open_reviews(team: Team, tmp_path: Path) -> None:
    result = run_cli(
        "export", "init", "--dir", tmp_path / "E", "--project", "Open",
        "--key", team.admin.private, "--open-reviews",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    area = ExportArea.open(tmp_path / "E")
    assert read_state(area).settings().blind_reviews is False
    assert read_state(_blind_area(team, tmp_path)).settings().blind_reviews is True
    for person, role in [(team.researcher, Role.RESEARCHER), (team.checker1, Role.CHECKER),
                         (team.checker2, Role.CHECKER)]:  # fmt: skip
        enrol(area, administrator=team.admin.signer, name=person.name, role=role,
              public_key=person.public)  # fmt: skip
    request_id = new_request(area, researcher=team.researcher.signer, title="t")
    add_output(
        area,
        researcher=team.researcher.signer,
        request_id=request_id,
        source=tables.write(tmp_path / "w", "t.csv", tables.SAFE_BY_SEX_AGE),
        kind=OutputKind.TABLE,
        description="t",
    )
    submit_request(area, researcher=team.researcher.signer, request_id=request_id)
    for person in (team.checker1, team.checker2):
        set_password(area, owner=person.signer, password=PASSWORD, cost=CHEAP)
    carl, dana = _client(area), _client(area)
    _sign_in(carl, "Carl")
    _sign_in(dana, "Dana")
    assert _review(carl, output="t.csv", decision="approve", reason="fine").status_code == 303
    assert "<strong>Carl</strong> approved" in dana.get("/requests/R0001").text


def _blind_area(team: Team, tmp_path: Path) -> ExportArea:
    return init_area(tmp_path / "B", project="Blind", administrator=team.admin.signer)
