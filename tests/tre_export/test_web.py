"""The checkers' web page over HTTP: sign-in, CSRF, roles, attribution, file access."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from httpx import Response

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 fork for its test client; httpx (a dev dependency)
    # still works, and the warning is about packaging, not about behaviour under test.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from tests.tre_export.conftest import CHEAP, PASSWORD, Team, run_cli
from tre_export.area import ExportArea
from tre_export.errors import IdentityError
from tre_export.model import Channel, OutputStatus
from tre_export.state import read_state, verify_area
from tre_export.web.accounts import set_password
from tre_export.web.app import create_app

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _client(area: ExportArea) -> TestClient:
    return TestClient(create_app(area), base_url="http://127.0.0.1", follow_redirects=False)


def _csrf(client: TestClient, path: str = "/login") -> str:
    match = _CSRF.search(client.get(path).text)
    assert match is not None
    return match.group(1)


def _sign_in(client: TestClient, name: str, password: str = PASSWORD) -> None:
    token = _csrf(client)
    response = client.post("/login", data={"csrf": token, "name": name, "password": password})
    assert response.status_code == 303, response.text


def _review(client: TestClient, **form: str) -> Response:
    token = _csrf(client, "/requests/R0001")
    return client.post("/requests/R0001/review", data={"csrf": token, **form})


def _cli_approve(area: ExportArea, team: Team, output: str) -> int:
    """Dana approves ``output`` of R0001 on the command line."""
    options = ["--request", "R0001", "--output", output, "--approve", "--reason", "agree"]
    key = ["--key", team.checker2.private]
    return run_cli("export", "review", "--dir", area.root, *key, *options).exit_code


def test_sign_in_is_required_and_checked(web_area: ExportArea) -> None:
    client = _client(web_area)
    assert client.get("/").headers["location"] == "/login"
    token = _csrf(client)
    for name, password in [("Carl", "wrong password here"), ("Nobody", PASSWORD)]:
        response = client.post("/login", data={"csrf": token, "name": name, "password": password})
        assert response.status_code == 401
        assert "wrong name or password" in response.text
    response = client.post("/login", data={"name": "Carl", "password": PASSWORD})
    assert response.status_code == 403  # no CSRF token
    _sign_in(client, "Carl")
    page = client.get("/")
    assert page.status_code == 200 and "R0001" in page.text and "Carl" in page.text


def test_cookie_and_security_headers(web_area: ExportArea) -> None:
    client = _client(web_area)
    response = client.get("/login")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    foreign = TestClient(create_app(web_area), base_url="http://evil.example")
    assert foreign.get("/login").status_code == 400  # DNS rebinding: unknown Host refused


def test_request_page_shows_evidence_and_flagged_cells(web_area: ExportArea) -> None:
    client = _client(web_area)
    _sign_in(client, "Carl")
    page = client.get("/requests/R0001").text
    assert page.count('class="flagged"') + page.count('class="suppressed flagged"') >= 1
    assert "<th>North</th>" in page
    assert "Approve" in page and "Override" in page
    assert client.get("/requests/R0099").status_code == 404


def test_web_decisions_are_signed_and_attributable(web_area: ExportArea, team: Team) -> None:
    client = _client(web_area)
    _sign_in(client, "Carl")
    refused = _review(client, output="raw.csv", decision="approve", reason="fine")
    assert refused.status_code == 403 and "write in the Override box" in refused.text
    assert "--override" not in refused.text
    done = _review(client, output="by_sex_age.csv", decision="approve", reason="all cells >= 10")
    assert done.status_code == 303
    state = read_state(web_area)
    review = state.request("R0001").reviews["by_sex_age.csv"][team.checker1.signer.actor_key_id]
    assert review.channel is Channel.WEB and review.checker_name == "Carl"
    assert verify_area(web_area).passed
    # The second checker approves on the command line; the two count as two.
    assert _cli_approve(web_area, team, "by_sex_age.csv") == 0
    state = read_state(web_area)
    status = state.output_status(state.request("R0001"), "by_sex_age.csv")
    assert status is OutputStatus.APPROVED
    assert "approved" in client.get("/requests/R0001").text


def test_researcher_account_cannot_approve(web_area: ExportArea) -> None:
    client = _client(web_area)
    _sign_in(client, "Rita")
    page = client.get("/requests/R0001").text
    assert "Only checkers can review outputs" in page and 'value="approve"' not in page
    before = web_area.log_path.read_bytes()
    response = _review(client, output="by_sex_age.csv", decision="approve", reason="mine")
    assert response.status_code == 403
    assert "may not review outputs" in response.text
    assert web_area.log_path.read_bytes() == before


def test_forged_or_missing_csrf_is_refused(web_area: ExportArea) -> None:
    client = _client(web_area)
    _sign_in(client, "Carl")
    before = web_area.log_path.read_bytes()
    for token in ("forged", None):
        data = {"output": "by_sex_age.csv", "decision": "approve", "reason": "x"}
        if token:
            data["csrf"] = token
        assert client.post("/requests/R0001/review", data=data).status_code == 403
    assert web_area.log_path.read_bytes() == before


def test_files_cannot_escape_the_export_area(web_area: ExportArea) -> None:
    client = _client(web_area)
    _sign_in(client, "Carl")
    assert client.get("/requests/R0001/outputs/trend.png").headers["content-type"] == "image/png"
    for path in [
        "/requests/R0001/outputs/..%2Fchecks.json",
        "/requests/R0001/outputs/checks.json",
        "/requests/R0001/outputs/by_sex_age.sdc.json",
        "/requests/..%2F..%2Flog/outputs/audit.jsonl",
    ]:
        assert client.get(path).status_code == 404, path


def test_a_new_password_revokes_the_old_web_key(web_area: ExportArea, team: Team) -> None:
    client = _client(web_area)
    _sign_in(client, "Carl")
    set_password(web_area, owner=team.checker1.signer, password="another long password", cost=CHEAP)
    response = _review(client, output="trend.png", decision="approve", reason="ok")
    assert response.status_code == 403
    assert "not the current web key" in response.text
    with pytest.raises(IdentityError, match="at least 12"):
        set_password(web_area, owner=team.checker1.signer, password="short")


def test_passwd_command(area: ExportArea, team: Team) -> None:
    options = ["--key", team.checker1.private, "--password-stdin"]
    result = run_cli("export", "passwd", "--dir", area.root, *options, input_text=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    client = _client(area)
    _sign_in(client, "Carl")
    assert verify_area(area).passed


def test_researchers_see_only_their_own_requests(web_area: ExportArea, team: Team) -> None:
    set_password(web_area, owner=team.other_researcher.signer, password=PASSWORD, cost=CHEAP)
    client = _client(web_area)
    _sign_in(client, "Omar")
    assert "R0001" not in client.get("/").text
    assert client.get("/requests/R0001").status_code == 404
    assert client.get("/requests/R0001/outputs/trend.png").status_code == 404
    owner = _client(web_area)
    _sign_in(owner, "Rita")
    assert "R0001" in owner.get("/").text


def test_altered_check_results_are_not_shown_as_evidence(web_area: ExportArea) -> None:
    checks = web_area.checks_path("R0001")
    checks.write_bytes(checks.read_bytes().replace(b'"fail"', b'"pass"'))
    client = _client(web_area)
    _sign_in(client, "Carl")
    page = client.get("/requests/R0001").text
    assert "changed after submit" in page
    assert "badge pass" not in page


def test_reviews_are_listed_with_their_reasons(web_area: ExportArea) -> None:
    client = _client(web_area)
    _sign_in(client, "Carl")
    _review(client, output="raw.csv", decision="reject", reason="small cells")
    page = client.get("/requests/R0001").text
    assert "<strong>Carl</strong> rejected (web," in page and "small cells" in page
    assert "your decision is recorded; the output is now rejected" in page


def test_checkers_can_release_from_the_page_when_the_server_has_an_outbox(
    web_area: ExportArea, team: Team, tmp_path: Path
) -> None:
    outbox_root = tmp_path / "outbox"
    client = TestClient(
        create_app(web_area, outbox_root=outbox_root),
        base_url="http://127.0.0.1",
        follow_redirects=False,
    )
    _sign_in(client, "Carl")

    def release() -> Response:
        token = _csrf(client, "/requests/R0001")
        return client.post("/requests/R0001/release", data={"csrf": token})

    refused = release()
    assert refused.status_code == 403 and "not yet decided" in refused.text
    assert not outbox_root.exists()
    for output in ("by_sex_age.csv", "trend.png"):
        _review(client, output=output, decision="approve", reason="fine")
        assert _cli_approve(web_area, team, output) == 0
    _review(client, output="raw.csv", decision="reject", reason="small cells")
    assert release().status_code == 303
    assert sorted(p.name for p in (outbox_root / "R0001").iterdir()) == [
        "SHA256SUMS",
        "by_sex_age.csv",
        "manifest.json",
        "release.html",
        "trend.png",
    ]
    page = client.get("/requests/R0001").text
    assert "released 2 output(s)" in page and "withheld raw.csv" in page
    state = read_state(web_area)
    release_entry = state.request("R0001").release
    assert (
        release_entry is not None and release_entry.released_by == team.checker1.signer.actor_key_id
    )


def test_release_needs_an_outbox_and_a_checker(web_area: ExportArea) -> None:
    client = _client(web_area)
    _sign_in(client, "Carl")
    page = client.get("/requests/R0001").text
    assert "trelink export release --dir E --request R0001" in page
    token = _csrf(client, "/requests/R0001")
    response = client.post("/requests/R0001/release", data={"csrf": token})
    assert response.status_code == 403
    assert "releasing from this page is switched off on this server" in response.text
