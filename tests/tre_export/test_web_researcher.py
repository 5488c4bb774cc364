"""Researchers on the web page (issue 16, item 4): open a request, upload outputs (a
table with its decision record), describe them and submit, as ``new``, ``add`` and
``submit`` do on the command line; checkers see the request only once submitted."""

from __future__ import annotations

from pathlib import Path

from tests.tre_export.conftest import Team
from tests.tre_export.test_evidence import _protected
from tests.tre_export.test_web import _client, _csrf, _sign_in
from tre_export.area import ExportArea
from tre_export.model import OutputKind, RequestStatus
from tre_export.state import read_state, verify_area


def test_a_researcher_opens_fills_and_submits_a_request_on_the_page(
    web_area: ExportArea, team: Team, tmp_path: Path
) -> None:
    rita, carl = _client(web_area), _client(web_area)
    _sign_in(rita, "Rita")
    _sign_in(carl, "Carl")
    assert 'id="open-request"' in rita.get("/").text
    assert 'id="open-request"' not in carl.get("/").text
    empty = rita.post("/requests", data={"csrf": _csrf(rita, "/"), "title": " "})
    assert empty.status_code == 403 and "give the request a title" in empty.text
    opened = rita.post("/requests", data={"csrf": _csrf(rita, "/"), "title": "Exclusions"})
    assert opened.status_code == 303 and opened.headers["location"] == "/requests/R0002"
    assert carl.get("/requests/R0002").status_code == 404  # a draft is the researcher's

    table = _protected(tmp_path / "work")
    record = table.with_name("protected.sdc.json")
    token = _csrf(rita, "/requests/R0002")
    files = {
        "file": ("protected.csv", table.read_bytes(), "text/csv"),
        "record": ("whatever.json", record.read_bytes(), "application/json"),
    }
    form = {"csrf": token, "kind": "table", "description": "exclusions by region and sex"}
    assert rita.post("/requests/R0002/add", data=form, files=files).status_code == 303
    refused = rita.post(
        "/requests/R0002/add",
        data={**form, "description": ""},
        files={"file": ("more.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert refused.status_code == 403 and "describe the output" in refused.text
    # Only the request's own researcher may add to it.
    omar = _client(web_area)
    set_omar_password(web_area, team)
    _sign_in(omar, "Omar")
    stolen = omar.post(
        "/requests/R0002/add",
        data={**form, "csrf": _csrf(omar, "/")},
        files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert stolen.status_code in (403, 404)

    submitted = rita.post("/requests/R0002/submit", data={"csrf": _csrf(rita, "/requests/R0002")})
    assert submitted.status_code == 303, submitted.text
    state = read_state(web_area)
    request = state.request("R0002")
    assert request.status is RequestStatus.SUBMITTED
    output = request.outputs["protected.csv"]
    assert output.kind is OutputKind.TABLE and output.evidence == {
        "protected.sdc.json": output.evidence["protected.sdc.json"]
    }
    page = carl.get("/requests/R0002").text
    assert "exclusions by region and sex" in page and "primary suppression" in page
    assert verify_area(web_area).passed


def set_omar_password(area: ExportArea, team: Team) -> None:
    from tests.tre_export.conftest import CHEAP, PASSWORD
    from tre_export.web.accounts import set_password

    set_password(area, owner=team.other_researcher.signer, password=PASSWORD, cost=CHEAP)
