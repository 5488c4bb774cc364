"""Independent reviews that disagree (issue 16, item 3), comments that make no new
version and the return of a whole request (item 2), and `export list` showing a person
what the web page shows them, as the page shows what `export audit` checks (item 4:
every page action is a command, and the other way round).

Conflicts: when the checkers' latest decisions on an output disagree, release is
blocked; a third checker's review or a consensus signed by every checker who disagreed
settles it; each step is a signed entry of the hash-chained log."""

from __future__ import annotations

import json
from pathlib import Path

from httpx import Response

from tests.tre_export.conftest import Team, run_cli
from tests.tre_export.test_web import TestClient, _client, _csrf, _sign_in
from tests.tre_export.test_web_words import _more_requests
from tre_export.area import ExportArea
from tre_export.audit_log import append_line
from tre_export.model import OutputStatus
from tre_export.state import next_line, read_state, verify_area


def _export(*args: str | Path) -> tuple[int, str]:
    result = run_cli("export", *args)
    return result.exit_code, result.output


def _review(area: ExportArea, key: Path, output: str, *flags: str) -> tuple[int, str]:
    options = ["--request", "R0001", "--output", output, "--reason", "looked at it"]
    return _export("review", "--dir", area.root, "--key", key, *options, *flags)


def _consensus(area: ExportArea, key: Path, output: str, *flags: str) -> tuple[int, str]:
    options = ["--request", "R0001", "--output", output, "--reason", "agreed on a call"]
    return _export("consensus", "--dir", area.root, "--key", key, *options, *flags)


def _decide_the_rest(area: ExportArea, team: Team) -> None:
    """Carl and Dana agree on raw.csv (reject) and trend.png (approve)."""
    for checker in (team.checker1, team.checker2):
        assert _review(area, checker.private, "raw.csv", "--reject")[0] == 0
        assert _review(area, checker.private, "trend.png", "--approve")[0] == 0


def test_a_conflict_blocks_release_until_a_third_review_settles_it(
    web_area: ExportArea, team: Team, tmp_path: Path
) -> None:
    area = web_area
    _decide_the_rest(area, team)
    assert _review(area, team.checker1.private, "by_sex_age.csv", "--approve")[0] == 0
    code, output = _review(area, team.checker2.private, "by_sex_age.csv", "--reject")
    assert code == 0 and "now conflict" in output

    status = ["status", "--dir", area.root, "--request", "R0001", "--key"]
    code, output = _export(*status, team.admin.private)
    assert code == 0 and "conflict" in output
    assert "the checkers disagree on by_sex_age.csv" in output
    # Eve has not reviewed it: she learns a third review is needed, not who said what.
    code, output = _export(*status, team.checker3.private)
    assert "the checkers disagree: yours settles it" in output and "Carl" not in output
    # The checkers who disagree may not quietly change their minds.
    code, output = _review(area, team.checker2.private, "by_sex_age.csv", "--approve")
    assert code != 0 and "may not simply change their decision" in output
    release = ["release", "--dir", area.root, "--request", "R0001", "--key"]
    outbox = tmp_path / "outbox"
    code, output = _export(*release, team.checker1.private, "--out", outbox)
    assert code != 0 and "the checkers disagree on by_sex_age.csv" in output
    assert not outbox.exists()

    code, output = _review(area, team.checker3.private, "by_sex_age.csv", "--approve")
    assert code == 0 and "now approved" in output
    show = ["show", "--dir", area.root, "--request", "R0001", "--output", "by_sex_age.csv"]
    code, output = _export(*show, "--key", team.checker2.private)
    assert "settled by third review (Eve): approved" in output
    code, output = _review(area, team.checker2.private, "by_sex_age.csv", "--reject")
    assert code != 0 and "was settled by third review" in output

    code, output = _export(*release, team.checker1.private, "--out", outbox)
    assert code == 0, output
    manifest = json.loads((outbox / "manifest.json").read_text(encoding="utf-8"))
    released = {item["name"]: item for item in manifest["outputs"]}
    assert sorted(released) == ["by_sex_age.csv", "trend.png"]
    approvers = {a["name"] for a in released["by_sex_age.csv"]["approved_by"]}
    assert approvers == {"Carl", "Eve"}
    assert verify_area(area).passed


def test_a_consensus_needs_every_checker_who_disagreed(web_area: ExportArea, team: Team) -> None:
    area = web_area
    assert _review(area, team.checker1.private, "trend.png", "--approve")[0] == 0
    assert _review(area, team.checker2.private, "trend.png", "--reject")[0] == 0
    code, output = _consensus(area, team.checker3.private, "trend.png", "--approve")
    assert code != 0 and "Eve has not reviewed" in output
    code, output = _consensus(area, team.checker1.private, "trend.png", "--approve")
    assert code == 0 and "waiting for the other checkers' agreement" in output
    code, output = _consensus(area, team.checker2.private, "trend.png", "--reject")
    assert code == 0 and "now conflict" in output  # they still disagree
    code, output = _consensus(area, team.checker2.private, "trend.png", "--approve")
    assert code == 0 and "now approved" in output
    request = read_state(area).request("R0001")
    assert [review.checker_name for review in request.approvers("trend.png")] == ["Carl", "Dana"]
    settled = request.settlements["trend.png"]
    assert settled.how == "consensus" and settled.checker_names == ("Carl", "Dana")

    # A consensus to approve an output that failed its checks needs an override, as a
    # review does; and there is nothing to agree where the checkers do not disagree.
    assert _review(area, team.checker1.private, "raw.csv", "--reject")[0] == 0
    assert _review(area, team.checker2.private, "raw.csv", "--approve", "--override", "ok")[0] == 0
    code, output = _consensus(area, team.checker1.private, "raw.csv", "--approve")
    assert code != 0 and "--override" in output
    code, output = _consensus(area, team.checker1.private, "by_sex_age.csv", "--approve")
    assert code != 0 and "do not disagree" in output


def test_a_change_of_mind_written_into_the_log_by_hand_is_caught(
    web_area: ExportArea, team: Team
) -> None:
    """Dana, with her own valid key, appends a review that flips her rejection during a
    conflict, bypassing the command: the audit names the entry and every command stops."""
    area = web_area
    assert _review(area, team.checker1.private, "by_sex_age.csv", "--approve")[0] == 0
    assert _review(area, team.checker2.private, "by_sex_age.csv", "--reject")[0] == 0
    state = read_state(area)
    dana = team.checker2.signer
    action = {
        "type": "review",
        "request": "R0001",
        "output": "by_sex_age.csv",
        "decision": "approve",
        "reason": "changed my mind",
        "override": None,
        "sha256": state.request("R0001").outputs["by_sex_age.csv"].sha256,
    }
    line = next_line(state, dana, action)
    append_line(area.log_path, area.head_path, line, seq=state.last_seq + 1)
    verification = verify_area(area)
    assert any("may not simply change their decision" in p for p in verification.problems)
    code, output = _export("audit", "--dir", area.root)
    assert code != 0 and "FAILED" in output


def test_comments_make_no_version_and_a_whole_request_goes_back(
    web_area: ExportArea, team: Team, tmp_path: Path
) -> None:
    area = web_area
    comment = ["comment", "--dir", area.root, "--request", "R0001"]
    code, output = _export(
        *comment, "--key", team.checker1.private, "--output", "raw.csv",
        "--comment", "Is North F a count of people or of referrals?",
    )  # fmt: skip
    assert code == 0, output
    code, output = _export(
        *comment, "--key", team.researcher.private, "--output", "raw.csv",
        "--comment", "People: one referral each.",
    )  # fmt: skip
    assert code == 0, output
    code, output = _export(*comment, "--key", team.other_researcher.private, "--comment", "me too")
    assert code != 0 and "only checkers and the researcher who opened it" in output
    state = read_state(area)
    request = state.request("R0001")
    assert request.version("raw.csv") == 1 and not request.returned
    assert [(r.author, r.action.value) for r in request.remarks["raw.csv"]] == [
        ("Carl", "comment"),
        ("Rita", "comment"),
    ]
    code, output = _export("show", "--dir", area.root, "--request", "R0001", "--output", "raw.csv")
    carl = output.index("Carl (checker) commented on")
    rita = output.index("Rita (researcher) commented on")
    assert carl < rita and "count of people" in output

    back = ["return", "--dir", area.root, "--request", "R0001", "--key", team.checker1.private]
    code, output = _export(*back, "--comment", "x")
    assert code != 0 and "exactly one of --output NAME or --whole-request" in output
    code, output = _export(*back, "--whole-request", "--comment", "describe every table's unit")
    assert code == 0 and "every output of R0001" in output
    state = read_state(area)
    request = state.request("R0001")
    assert {state.output_status(request, name) for name in request.outputs} == {
        OutputStatus.RETURNED
    }
    assert [note.text for note in request.notes] == ["describe every table's unit"]
    code, output = _export("show", "--dir", area.root, "--request", "R0001")
    assert "R0001 as a whole" in output and "Carl (checker) returned the whole request on" in output
    code, output = _export(*back, "--whole-request", "--comment", "again")
    assert code != 0 and "already with the researcher" in output
    code, output = _review(area, team.checker2.private, "trend.png", "--approve")
    assert code != 0 and "review the new version once it is resubmitted" in output
    assert verify_area(area).passed


def test_list_shows_a_person_what_the_page_shows_them(
    web_area: ExportArea, team: Team, tmp_path: Path
) -> None:
    _more_requests(web_area, team, tmp_path)  # Rita's draft R0002
    listing = ["list", "--dir", web_area.root]
    code, output = _export(*listing, "--key", team.checker1.private)
    assert code == 0 and "R0001" in output and "R0002" not in output
    code, output = _export(*listing, "--key", team.other_researcher.private)
    assert "R0001" not in output and "R0002" not in output
    code, output = _export(*listing, "--key", team.researcher.private, "--search", "EXCLUSIONS")
    assert "R0002" in output and "R0001" not in output
    # And the page shows what `export audit` checks: the log verified, with its head.
    client = _client(web_area)
    _sign_in(client, "Carl")
    queue = client.get("/").text
    verification = verify_area(web_area)
    assert f"{verification.entry_count} entries" in queue
    assert f'<code id="head">{verification.head_digest}</code>' in queue


def _post(client: TestClient, path: str, **form: str) -> Response:
    token = _csrf(client, "/requests/R0001")
    return client.post(f"/requests/R0001/{path}", data={"csrf": token, **form})


def test_a_consensus_and_a_whole_request_return_on_the_page(web_area: ExportArea) -> None:
    """The page's consensus, comment and return forms go through the same rules."""
    carl, dana, rita = _client(web_area), _client(web_area), _client(web_area)
    for client, name in ((carl, "Carl"), (dana, "Dana"), (rita, "Rita")):
        _sign_in(client, name)
    review = {"output": "trend.png", "decision": "approve", "reason": "ok"}
    assert _post(carl, "review", **review).status_code == 303
    review.update(decision="reject", reason="a bar of 3")
    assert _post(dana, "review", **review).status_code == 303
    agree = {"output": "trend.png", "decision": "approve", "reason": "the bar is 13; misread"}
    refused = _post(rita, "consensus", **agree)
    assert refused.status_code == 403 and "may not settle conflicts" in refused.text
    assert _post(dana, "consensus", **agree).status_code == 303
    assert "once the other checkers sign the same decision" in dana.get("/requests/R0001").text
    assert _post(carl, "consensus", **agree).status_code == 303
    page = carl.get("/requests/R0001").text
    assert "the conflict is settled and the output is now approved" in page
    assert "settled by consensus (Carl, Dana): approved" in page

    empty = _post(carl, "comment", output="raw.csv", comment="  ")
    assert empty.status_code == 403 and "write the comment" in empty.text
    refused = _post(rita, "return", comment="please")
    assert refused.status_code == 403 and "may not return outputs" in refused.text
    assert _post(carl, "return", comment="units, please").status_code == 303
    page = rita.get("/requests/R0001").text
    assert "returned the whole request" in page and "units, please" in page
    assert page.count('data-role="resubmit"') == 3
