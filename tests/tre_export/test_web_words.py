"""The page in its own words (issue 16, item 6): refusals name the form's fields, not
command-line options, and keep what the checker typed; dates are readable; the queue
filters by status and searches, on the page and in ``export list``."""

from __future__ import annotations

import re
from pathlib import Path

from tests.tre_export import tables
from tests.tre_export.conftest import Team, run_cli
from tests.tre_export.test_web import _client, _csrf, _review, _sign_in
from tre_export.area import ExportArea
from tre_export.dates import readable_time
from tre_export.model import OutputKind
from tre_export.request import add_output, new_request

_READABLE = re.compile(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC")
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def test_readable_time() -> None:
    assert readable_time("2026-12-04T15:20:31+00:00") == "4 Dec 2026, 15:20 UTC"
    assert readable_time("2026-12-04T16:20:31+01:00") == "4 Dec 2026, 15:20 UTC"
    assert readable_time("not a time") == "not a time"
    assert readable_time(None) == ""


def test_refusals_speak_the_pages_words_and_keep_what_was_typed(web_area: ExportArea) -> None:
    client = _client(web_area)
    _sign_in(client, "Carl")
    reason = "the <small> cell is in the published statistics"
    refused = _review(client, output="raw.csv", decision="approve", reason=reason)
    assert refused.status_code == 403
    assert "raw.csv failed its automated checks. To approve it anyway, write in the " in (
        refused.text
    )
    assert "--override" not in refused.text and "Nothing was recorded" in refused.text
    section = refused.text[refused.text.index('data-output="raw.csv"') :]
    assert '<textarea name="reason" rows="2" required>the &lt;small&gt; cell' in section
    other = refused.text[refused.text.index('data-output="by_sex_age.csv"') :]
    assert '<textarea name="reason" rows="2" required></textarea>' in other

    refused = _review(
        client, output="by_sex_age.csv", decision="approve", reason="ok", override="because"
    )
    assert refused.status_code == 403
    assert "Leave the Override box empty" in refused.text and "--override" not in refused.text
    section = refused.text[refused.text.index('data-output="by_sex_age.csv"') :]
    assert '<textarea name="override" rows="2">because</textarea>' in section


def test_dates_are_readable_on_the_page(web_area: ExportArea) -> None:
    client = _client(web_area)
    _sign_in(client, "Carl")
    assert _review(client, output="trend.png", decision="approve", reason="ok").status_code == 303
    for path in ("/", "/requests/R0001"):
        page = client.get(path).text
        assert _READABLE.search(page), path
        assert not _ISO.search(page), path


def _more_requests(area: ExportArea, team: Team, tmp_path: Path) -> None:
    """R0002, a draft titled 'Exclusions by term', besides the submitted R0001."""
    researcher = team.researcher.signer
    request_id = new_request(area, researcher=researcher, title="Exclusions by term")
    add_output(
        area,
        researcher=researcher,
        request_id=request_id,
        source=tables.write(tmp_path / "more", "t.csv", tables.UNSAFE_RAW),
        kind=OutputKind.TABLE,
        description="t",
    )


def test_the_queue_filters_by_status_and_searches(
    web_area: ExportArea, team: Team, tmp_path: Path
) -> None:
    _more_requests(web_area, team, tmp_path)
    client = _client(web_area)
    _sign_in(client, "Rita")  # her own draft R0002 and submitted R0001
    page = client.get("/").text
    assert "R0001" in page and "R0002" in page
    assert 'data-status="draft"' in page and "Draft (1)" in page and "Submitted (1)" in page
    submitted = client.get("/?status=submitted").text
    assert 'href="/requests/R0001"' in submitted and 'href="/requests/R0002"' not in submitted
    drafts = client.get("/?status=draft").text
    assert 'href="/requests/R0002"' in drafts and 'href="/requests/R0001"' not in drafts
    found = client.get("/", params={"q": "exclusions"}).text
    assert 'href="/requests/R0002"' in found and 'href="/requests/R0001"' not in found
    none = client.get("/", params={"status": "released"}).text
    assert "No requests match." in none
    # An unknown status shows everything rather than failing, and is not echoed.
    odd = client.get("/", params={"status": "<x>"}).text
    assert 'href="/requests/R0001"' in odd and "<x>" not in odd
    # Checkers never see a researcher's draft, listed or by its address.
    checker = _client(web_area)
    _sign_in(checker, "Carl")
    assert "Draft (0)" in checker.get("/").text
    assert 'href="/requests/R0002"' not in checker.get("/?status=draft").text
    assert checker.get("/requests/R0002").status_code == 404
    assert _csrf(client, "/?q=%3Cscript%3E")  # the search is echoed escaped
    assert "<script>" not in client.get("/", params={"q": "<script>"}).text


def test_list_filters_by_status_with_readable_dates(
    web_area: ExportArea, team: Team, tmp_path: Path
) -> None:
    _more_requests(web_area, team, tmp_path)
    result = run_cli("export", "list", "--dir", web_area.root, "--status", "draft")
    assert result.exit_code == 0, result.output
    assert "R0002" in result.output and "R0001" not in result.output
    assert _READABLE.search(result.output) and not _ISO.search(result.output)
