"""The loop back to the researcher (issue 16, item 2): a checker returns an output with
a comment; the researcher answers (with any justification) and resubmits a new version;
the checks run again; approvals of the earlier version never count for the new one;
every step is a signed entry of the hash-chained log, shown in order."""

from __future__ import annotations

import json
from pathlib import Path

from tests.tre_export import tables
from tests.tre_export.conftest import Team, run_cli
from tests.tre_export.test_web import _client, _csrf, _review, _sign_in
from tre_export.area import ExportArea
from tre_export.model import CheckOutcome, OutputStatus
from tre_export.state import read_state, verify_area
from trelink.trust.hashing import sha256_bytes

_FIXED_RAW = "region,sex: F,sex: M,Total\nNorth,13,14,27\nSouth,22,18,40\nTotal,35,32,67\n"


def _export(*args: str | Path) -> tuple[int, str]:
    result = run_cli("export", *args)
    return result.exit_code, result.output


def _cli_review(area: ExportArea, key: Path, output: str, *flags: str) -> tuple[int, str]:
    options = ["--request", "R0001", "--output", output, "--reason", "looked at it"]
    return _export("review", "--dir", area.root, "--key", key, *options, *flags)


def test_return_answer_and_resubmit_on_the_command_line(
    web_area: ExportArea, team: Team, tmp_path: Path
) -> None:
    area = web_area
    override = ["--approve", "--override", "published elsewhere"]
    assert _cli_review(area, team.checker2.private, "raw.csv", *override)[0] == 0
    code, output = _export(
        "return", "--dir", area.root, "--request", "R0001", "--key", team.checker1.private,
        "--output", "raw.csv", "--comment", "suppress North F or merge the regions",
    )  # fmt: skip
    assert code == 0, output
    state = read_state(area)
    assert state.output_status(state.request("R0001"), "raw.csv") is OutputStatus.RETURNED
    code, output = _cli_review(area, team.checker1.private, "raw.csv", "--reject")
    assert code == 3 and "review the new version once it is resubmitted" in output
    for checker in (team.checker1, team.checker2):
        assert _cli_review(area, checker.private, "by_sex_age.csv", "--approve")[0] == 0
        assert _cli_review(area, checker.private, "trend.png", "--approve")[0] == 0
    release = ["release", "--dir", area.root, "--request", "R0001"]
    code, output = _export(*release, "--key", team.checker1.private, "--out", tmp_path / "o")
    assert code == 3 and "raw.csv returned to the researcher" in output

    fixed = tables.write(tmp_path / "v2", "raw.csv", _FIXED_RAW)
    resubmit = ["resubmit", fixed, "--dir", area.root, "--request", "R0001"]
    answer = ["--answer", "merged: every cell now 13 or more"]
    code, output = _export(*resubmit, "--key", team.other_researcher.private, *answer)
    assert code == 3 and "belongs to another researcher" in output
    code, output = _export(*resubmit, "--key", team.researcher.private, *answer)
    assert code == 0 and "automated check pass" in output, output

    state = read_state(area)
    request = state.request("R0001")
    assert request.version("raw.csv") == 2
    assert request.outputs["raw.csv"].sha256 == sha256_bytes(_FIXED_RAW.encode())
    assert request.check_outcomes["raw.csv"] is CheckOutcome.PASS
    # Dana's approval was of version 1: it does not count for version 2.
    assert request.reviews.get("raw.csv", {}) == {}
    assert state.output_status(request, "raw.csv") is OutputStatus.PENDING
    manifest = json.loads(area.manifest_path("R0001").read_text(encoding="utf-8"))
    assert manifest["raw.csv"] == request.outputs["raw.csv"].sha256
    kept = area.request_dir("R0001") / "versions" / "1" / "raw.csv"
    assert kept.read_text(encoding="utf-8") == tables.UNSAFE_RAW
    assert [(remark.author, remark.version) for remark in request.remarks["raw.csv"]] == [
        ("Carl", 1),
        ("Rita", 2),
    ]
    code, output = _resubmit_again(area, team, fixed)
    assert code == 3 and "was not returned by a checker" in output

    for checker in (team.checker1, team.checker2):
        assert _cli_review(area, checker.private, "raw.csv", "--approve")[0] == 0
    code, output = _export(*release, "--key", team.checker1.private, "--out", tmp_path / "o")
    assert code == 0, output
    assert (tmp_path / "o" / "raw.csv").read_text(encoding="utf-8") == _FIXED_RAW
    verification = verify_area(area)
    assert verification.passed, verification.problems
    code, output = _export("show", "--dir", area.root, "--request", "R0001", "--output", "raw.csv")
    assert "v1 · Carl (checker) returned it on" in output
    assert "suppress North F or merge the regions" in output
    assert "v2 · Rita (researcher) answered with a new version on" in output
    assert "current version: 2" in output


def _resubmit_again(area: ExportArea, team: Team, fixed: Path) -> tuple[int, str]:
    return _export(
        "resubmit", fixed, "--dir", area.root, "--request", "R0001",
        "--key", team.researcher.private, "--answer", "again",
    )  # fmt: skip


def test_return_and_resubmit_on_the_page(web_area: ExportArea, team: Team) -> None:
    carl, rita, dana = _client(web_area), _client(web_area), _client(web_area)
    _sign_in(carl, "Carl")
    _sign_in(rita, "Rita")
    _sign_in(dana, "Dana")
    empty = _review(carl, output="raw.csv", decision="return", reason=" ")
    assert empty.status_code == 403 and "say what the researcher should change" in empty.text
    returned = _review(carl, output="raw.csv", decision="return", reason="merge <North>")
    assert returned.status_code == 303
    page = carl.get("/requests/R0001").text
    section = page[page.index('data-output="raw.csv"') :].split("</section>")[0]
    assert "returned</span>" in section and "merge &lt;North&gt;" in section
    assert 'action="/requests/R0001/review"' not in section  # nothing to review until v2

    mine = rita.get("/requests/R0001").text
    section = mine[mine.index('data-output="raw.csv"') :].split("</section>")[0]
    assert 'data-role="resubmit"' in section
    assert 'data-role="resubmit"' not in dana.get("/requests/R0001").text  # checkers: no form

    token = _csrf(rita, "/requests/R0001")
    upload = {"file": ("anything.csv", _FIXED_RAW.encode(), "text/csv")}
    form = {"csrf": token, "output": "raw.csv", "answer": "merged; all cells 13+"}
    done = rita.post("/requests/R0001/resubmit", data=form, files=upload)
    assert done.status_code == 303, done.text
    page = dana.get("/requests/R0001").text
    section = page[page.index('data-output="raw.csv"') :].split("</section>")[0]
    assert "version 2" in section and "merged; all cells 13+" in section
    assert section.index("merge &lt;North&gt;") < section.index("merged; all cells 13+")
    assert "awaiting your review" not in section and "0 decision(s)" not in section
    # A checker cannot resubmit, and a forged form is refused.
    forged = dana.post(
        "/requests/R0001/resubmit", data={**form, "csrf": _csrf(dana, "/")}, files=upload
    )
    assert forged.status_code == 403 and "may not resubmit outputs" in forged.text
    assert dana.post("/requests/R0001/resubmit", data=form, files=upload).status_code == 403
    state = read_state(web_area)
    assert state.request("R0001").version("raw.csv") == 2
    assert verify_area(web_area).passed
