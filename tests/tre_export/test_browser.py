"""The checkers' web page in a real headless Chromium (Debian's, driven by Playwright).

Skipped only on a developer machine without /usr/bin/chromium; in CI (``CI`` set) it
always runs, and fails loudly if the browser is missing or broken.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.tre_export.conftest import CHEAP, PASSWORD, Team
from tre_export.area import ExportArea
from tre_export.model import Channel, OutputStatus
from tre_export.state import read_state, verify_area
from tre_export.web.accounts import set_password
from tre_export.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian chromium is not installed (CI installs it and runs this test)",
    ),
]


@pytest.fixture(autouse=True)
def keep_screenshots(tmp_path: Path) -> Iterator[None]:
    """With TRELINK_KEEP_SCREENSHOTS=DIR, each test's screenshots are copied to DIR after
    it passes, to look at (docs/output-checker.md's images come from
    docs/make_screenshots.py)."""
    yield
    if os.environ.get("TRELINK_KEEP_SCREENSHOTS"):
        target = Path(os.environ["TRELINK_KEEP_SCREENSHOTS"])
        target.mkdir(parents=True, exist_ok=True)
        for shot in tmp_path.glob("*.png"):
            target.joinpath(shot.name).write_bytes(shot.read_bytes())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _serve(area: ExportArea) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(create_app(area), host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "the web server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


@pytest.fixture()
def server(web_area: ExportArea) -> Iterator[str]:
    with _serve(web_area) as url:
        yield url


def test_checkers_approve_in_the_browser_and_a_researcher_cannot(
    server: str, web_area: ExportArea, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        page, sign_in = _browser_page(playwright, server, land_on="/")

        def approve(name: str) -> None:
            section = page.locator(f'section[data-output="{name}"]')
            section.locator("textarea[name=reason]").fill("every published cell is at least 10")
            section.locator("button.approve").click()
            expect(page.locator("#notice")).to_contain_text(name)

        sign_in("Carl")
        expect(page.locator("table.queue")).to_contain_text("NRM referrals by region")
        page.click("text=R0001")
        # The unsafe table's small cell is highlighted, with the check's reasons beside it.
        raw = page.locator('section[data-output="raw.csv"]')
        expect(raw.locator("td.flagged")).to_have_count(1)
        expect(raw.locator("td.flagged")).to_have_text("3")
        expect(raw.locator(".badge.fail")).to_be_visible()
        table = page.locator('section[data-output="by_sex_age.csv"]')
        expect(table.locator("td.suppressed").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "request-before.png"), full_page=True)

        approve("by_sex_age.csv")
        expect(table.locator("[data-role=output-status]")).to_have_text("pending")
        expect(table).to_contain_text("1/2 approvals")
        page.click("text=Sign out")

        sign_in("Dana")
        page.goto(f"{server}/requests/R0001")
        # Blind reviews: Carl's decision is hidden from Dana until she records her own.
        expect(table.locator("[data-role=output-status]")).to_have_text("awaiting your review")
        expect(table.locator("[data-role=blinded]")).to_contain_text("1 decision(s) recorded")
        expect(table.locator("ul.reviews")).to_have_count(0)
        approve("by_sex_age.csv")
        expect(table.locator("ul.reviews")).to_contain_text("Carl approved")
        expect(table.locator("[data-role=agreement]")).to_have_text("The checkers agree.")
        expect(table.locator("[data-role=output-status]")).to_have_text("approved")
        page.screenshot(path=str(tmp_path / "request-approved.png"), full_page=True)
        page.click("text=Sign out")

        sign_in("Rita")
        page.goto(f"{server}/requests/R0001")
        expect(page.locator("button.approve")).to_have_count(0)
        expect(page.locator("main")).to_contain_text("Only checkers can review outputs")
        # Even a hand-made POST with a valid form token is refused by the rules.
        token = page.locator("input[name=csrf]").first.get_attribute("value")
        response = page.request.post(
            f"{server}/requests/R0001/review",
            form={"csrf": token or "", "output": "trend.png", "decision": "approve", "reason": "x"},
        )
        assert response.status == 403
        assert "may not review outputs" in response.text()

    state = read_state(web_area)
    request = state.request("R0001")
    assert state.output_status(request, "by_sex_age.csv") is OutputStatus.APPROVED
    reviews = request.reviews["by_sex_age.csv"].values()
    assert {review.checker_name for review in reviews} == {"Carl", "Dana"}
    assert all(review.channel is Channel.WEB for review in reviews)
    assert "trend.png" not in request.reviews


def test_a_crosstabs_flagged_cells_are_highlighted_in_the_browser(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    """A pandas crosstab (``All`` margins, plain headers) shows its small cells
    highlighted with the rule that fired, as trelink's own tables do."""
    from playwright.sync_api import expect, sync_playwright

    from tests.tre_export.test_evidence import _layouts, _submit
    from tre_export.model import OutputKind

    crosstab = _layouts(tmp_path / "layouts")["ct_all.csv"]
    request_id = _submit(area, team, [(crosstab, OutputKind.TABLE)])
    with _serve(area) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(f"{server}/login")
        page.fill("#name", "Carl")
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.goto(f"{server}/requests/{request_id}")
        section = page.locator('section[data-output="ct_all.csv"]')
        flagged = section.locator("td.flagged")
        expect(flagged).to_have_count(2)
        expect(flagged.nth(0)).to_have_text("3")
        expect(flagged.nth(0)).to_have_attribute("title", "flagged: threshold")
        expect(flagged.nth(1)).to_have_text("4")
        # Highlighted for the eye, not only in the markup: the flag colour is applied.
        background = flagged.nth(0).evaluate("cell => getComputedStyle(cell).backgroundColor")
        assert background == "rgb(255, 217, 214)"
        expect(section.locator(".cell-evidence")).to_contain_text(
            "(North old, F): flagged: threshold"
        )
        page.screenshot(path=str(tmp_path / "crosstab-flagged.png"), full_page=True)
        browser.close()


def test_return_and_resubmit_round_trip_in_the_browser(
    server: str, web_area: ExportArea, tmp_path: Path
) -> None:
    """Carl returns raw.csv with a comment, Rita uploads a new version with her answer,
    and two blinded checkers approve version 2."""
    from playwright.sync_api import expect, sync_playwright

    fixed = tmp_path / "raw-merged.csv"
    fixed.write_text(
        "region,sex: F,sex: M,Total\nNorth,13,14,27\nSouth,22,18,40\nTotal,35,32,67\n",
        encoding="utf-8",
    )
    with sync_playwright() as playwright:
        page, sign_in = _browser_page(playwright, server)
        raw = page.locator('section[data-output="raw.csv"]')

        sign_in("Carl")
        raw.locator("textarea[name=reason]").fill("North F is 3: merge the regions")
        raw.locator("button.return").click()
        expect(raw.locator("[data-role=output-status]")).to_have_text("returned")
        expect(raw.locator("[data-role=remark]")).to_contain_text("merge the regions")
        page.click("text=Sign out")

        sign_in("Rita")
        form = raw.locator("form[data-role=resubmit]")
        form.locator("input[type=file]").set_input_files(str(fixed))
        form.locator("textarea[name=answer]").fill("merged; every cell is 13 or more")
        form.locator("button").click()
        expect(page.locator("#notice")).to_contain_text("new version submitted")
        expect(raw.locator("h2")).to_contain_text("version 2")
        expect(raw.locator(".badge.pass").first).to_have_text("pass")
        page.click("text=Sign out")

        for checker, seen in (("Carl", 0), ("Dana", 1)):
            sign_in(checker)
            if seen:  # blind: Carl's approval of version 2 is hidden from Dana
                expect(raw.locator("[data-role=output-status]")).to_have_text(
                    "awaiting your review"
                )
            raw.locator("textarea[name=reason]").fill("all cells at least 10")
            raw.locator("button.approve").click()
            expect(page.locator("#notice")).to_contain_text("raw.csv")
            page.click("text=Sign out")
        sign_in("Carl")
        expect(raw.locator("[data-role=output-status]")).to_have_text("approved")
        expect(raw.locator("[data-role=remark]")).to_have_count(2)
        page.screenshot(path=str(tmp_path / "request-resubmitted.png"), full_page=True)
    request = read_state(web_area).request("R0001")
    assert request.version("raw.csv") == 2


def test_the_release_page_opens_offline_in_the_browser(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    """release.html, opened from disk with no server, shows the released table with its
    suppressed cells marked, the embedded figure, the approvals and the head hash."""
    from playwright.sync_api import expect, sync_playwright

    from tests.tre_export.test_release_page import _released

    outbox = _released(area, team, tmp_path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        context = browser.new_context(offline=True)
        page = context.new_page()
        page.goto((outbox / "release.html").as_uri())
        table = page.locator('section[data-output="protected.csv"]')
        expect(table.locator("td.suppressed").first).to_have_text("suppressed")
        figure = page.locator('section[data-output="trend.png"] img')
        assert figure.evaluate("image => image.complete && image.naturalWidth") == 1
        expect(page.locator('section[data-output="trend.png"]')).to_contain_text("Dana")
        expect(page.locator("#head")).to_have_text(verify_area(area).head_digest or "")
        page.screenshot(path=str(tmp_path / "release-page.png"), full_page=True)
        browser.close()


def _browser_page(
    playwright: Any, server: str, *, land_on: str = "/requests/R0001"
) -> tuple[Any, Callable[[str], None]]:
    """A Chromium page and a sign-in helper that opens R0001 as ``name``."""
    from playwright.sync_api import expect

    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    page = browser.new_page(viewport={"width": 1200, "height": 900})

    def sign_in(name: str) -> None:
        if page.locator("text=Sign out").count():
            page.click("text=Sign out")
        page.goto(f"{server}/login")
        page.fill("#name", name)
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        expect(page.locator("#who")).to_have_text(name)
        page.goto(f"{server}{land_on}")

    return page, sign_in


@pytest.mark.slow  # a Chromium session with three sign-ins
def test_a_conflict_is_settled_by_a_third_review_in_the_browser(
    server: str, web_area: ExportArea, team: Team, tmp_path: Path
) -> None:
    """Carl approves, Dana rejects: both see the conflict; Eve, still blind, is told her
    review settles it, approves, and the page says how it was settled."""
    from playwright.sync_api import expect, sync_playwright

    set_password(web_area, owner=team.checker3.signer, password=PASSWORD, cost=CHEAP)
    with sync_playwright() as playwright:
        page, sign_in = _browser_page(playwright, server)
        table = page.locator('section[data-output="by_sex_age.csv"]')
        for checker, button in (("Carl", "button.approve"), ("Dana", "button.reject")):
            sign_in(checker)
            table.locator("textarea[name=reason]").fill(f"{checker}'s own judgement")
            table.locator(button).click()
            expect(page.locator("#notice")).to_contain_text("by_sex_age.csv")
        expect(table.locator("[data-role=output-status]")).to_have_text("conflict")
        expect(table.locator("[data-role=agreement]")).to_contain_text("The checkers disagree")
        # Dana may not simply flip her decision: she gets the consensus form instead.
        expect(table.locator("form[data-role=consensus-form]")).to_be_visible()
        expect(table.locator("button.return")).to_have_count(0)
        page.screenshot(path=str(tmp_path / "conflict.png"), full_page=True)

        sign_in("Eve")
        expect(table.locator("[data-role=output-status]")).to_have_text("awaiting your review")
        expect(table.locator("[data-role=conflict]")).to_contain_text("your independent review")
        expect(table.locator("ul.reviews")).to_have_count(0)
        table.locator("textarea[name=reason]").fill("every published cell is at least 10")
        table.locator("button.approve").click()
        expect(table.locator("[data-role=agreement]")).to_contain_text(
            "settled by third review (Eve): approved"
        )
        expect(table.locator("[data-role=output-status]")).to_have_text("approved")
        expect(table.locator("ul.reviews li")).to_have_count(3)
        # Her decision stands: the form offers only a return to the researcher.
        expect(table.locator("[data-role=locked]")).to_be_visible()
        expect(table.locator("button.approve")).to_have_count(0)
        page.screenshot(path=str(tmp_path / "conflict-settled.png"), full_page=True)
    request = read_state(web_area).request("R0001")
    assert request.settlements["by_sex_age.csv"].checker_names == ("Eve",)


@pytest.mark.slow  # a Chromium session with three sign-ins
def test_comments_and_a_whole_request_return_in_the_browser(
    server: str, web_area: ExportArea, tmp_path: Path
) -> None:
    """Carl asks a question on raw.csv, Rita answers it (no new version), and Carl then
    returns the whole request: every output waits for Rita's new version."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        page, sign_in = _browser_page(playwright, server)
        raw = page.locator('section[data-output="raw.csv"]')
        for person, text in (
            ("Carl", "Is North F a count of people or of referrals?"),
            ("Rita", "People: each had one referral."),
        ):
            sign_in(person)
            raw.locator("form[data-role=comment] textarea").fill(text)
            raw.locator("form[data-role=comment] button").click()
            expect(page.locator("#notice")).to_contain_text("your comment is recorded")
        remarks = raw.locator("[data-role=remark]")
        expect(remarks).to_have_count(2)
        expect(remarks.nth(0)).to_contain_text("Carl (checker, version 1")
        expect(remarks.nth(1)).to_contain_text("Rita (researcher, version 1")
        expect(raw.locator("h2")).not_to_contain_text("version 2")

        sign_in("Carl")
        form = page.locator("#return-request")
        form.locator("textarea").fill("say for every table whether it counts people")
        form.locator("button").click()
        expect(page.locator("#notice")).to_contain_text("R0001 returned to the researcher")
        expect(page.locator("[data-role=output-status]")).to_have_text(["returned"] * 3)
        sign_in("Rita")
        expect(page.locator("[data-role=note]")).to_contain_text("Carl (checker, ")
        expect(page.locator("[data-role=note]")).to_contain_text("returned the whole request")
        expect(page.locator("form[data-role=resubmit]")).to_have_count(3)
        page.screenshot(path=str(tmp_path / "request-conversation.png"), full_page=True)
    request = read_state(web_area).request("R0001")
    assert request.returned == set(request.outputs)
