"""Evidence on every output (issue 16, item 1), on the page and in ``export show``:
flagged cells highlighted with their rules in every table layout the docs accept,
suppressed cells labelled primary or secondary with their intervals, each table's own
differencing verdict, models as coefficient tables with their checks, SVG figures
inline, and the decision record rendered as a page."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

import sdc
from tests.tre_export import tables
from tests.tre_export.conftest import CHEAP, PASSWORD, Team, run_cli
from tre_export.area import ExportArea
from tre_export.checks import load_checks
from tre_export.model import OutputKind
from tre_export.request import add_output, new_request, submit_request
from tre_export.state import read_state
from tre_export.web.accounts import set_password
from tre_export.web.app import create_app

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_FLAGGED_CELL = re.compile(r'<td class="(?:suppressed )?flagged[^"]*"[^>]*>([^<]*)</td>')

# The same synthetic counts in each layout the docs accept; North/F/old = 3 and
# South/M/young = 4 are below the threshold of 10 and must be flagged wherever written.
_FRAME = pd.DataFrame(
    [
        (region, sex, age)
        for region, sex, age, count in [
            ("North", "F", "old", 3),
            ("North", "F", "young", 12),
            ("North", "M", "old", 15),
            ("North", "M", "young", 11),
            ("South", "F", "old", 20),
            ("South", "F", "young", 14),
            ("South", "M", "old", 13),
            ("South", "M", "young", 4),
        ]
        for _ in range(count)
    ],
    columns=["region", "sex", "age"],
)


def _layouts(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    group = (_FRAME.region + " " + _FRAME.age).rename("group")
    frames = {
        # one column variable, margins named All (pandas' default) and Total
        "ct_all.csv": pd.crosstab(group, _FRAME.sex, margins=True),
        "ct_total.csv": pd.crosstab(group, _FRAME.sex, margins=True, margins_name="Total"),
        # without margins
        "ct_plain.csv": pd.crosstab(group, _FRAME.sex),
        # several column variables (multi-index columns), with and without margins
        "ct_multi.csv": pd.crosstab(_FRAME.region, [_FRAME.sex, _FRAME.age], margins=True),
        "ct_multi_plain.csv": pd.crosstab(_FRAME.region, [_FRAME.sex, _FRAME.age]),
        # several row variables
        "ct_rows.csv": pd.crosstab([_FRAME.region, _FRAME.age], _FRAME.sex, margins=True),
    }
    paths = {}
    for name, frame in frames.items():
        frame.to_csv(folder / name)
        paths[name] = folder / name
    return paths


def _client(area: ExportArea) -> TestClient:
    return TestClient(create_app(area), base_url="http://127.0.0.1", follow_redirects=False)


def _sign_in(client: TestClient, name: str) -> None:
    match = _CSRF.search(client.get("/login").text)
    assert match is not None
    response = client.post(
        "/login", data={"csrf": match.group(1), "name": name, "password": PASSWORD}
    )
    assert response.status_code == 303, response.text


def _submit(area: ExportArea, team: Team, files: list[tuple[Path, OutputKind]]) -> str:
    researcher = team.researcher.signer
    request_id = new_request(area, researcher=researcher, title="evidence")
    for path, kind in files:
        add_output(
            area,
            researcher=researcher,
            request_id=request_id,
            source=path,
            kind=kind,
            description=f"the {kind.value} {path.name}",
        )
    submit_request(area, researcher=researcher, request_id=request_id)
    set_password(area, owner=team.checker1.signer, password=PASSWORD, cost=CHEAP)
    return request_id


def _section(page: str, name: str) -> str:
    start = page.index(f'data-output="{name}"')
    end = page.find("<section", start)
    return page[start : end if end != -1 else len(page)]


@pytest.fixture()
def layouts_request(area: ExportArea, team: Team, tmp_path: Path) -> str:
    paths = _layouts(tmp_path / "layouts")
    return _submit(area, team, [(path, OutputKind.TABLE) for path in paths.values()])


def test_small_cells_are_highlighted_in_every_crosstab_layout(
    area: ExportArea, layouts_request: str
) -> None:
    client = _client(area)
    _sign_in(client, "Carl")
    page = client.get(f"/requests/{layouts_request}").text
    for name in [
        "ct_all.csv",
        "ct_total.csv",
        "ct_plain.csv",
        "ct_multi.csv",
        "ct_multi_plain.csv",
        "ct_rows.csv",
    ]:
        section = _section(page, name)
        assert sorted(_FLAGGED_CELL.findall(section)) == ["3", "4"], name
        assert "threshold" in section, name
        assert "Flagged cells not found" not in section, name


def test_multi_index_columns_keep_every_header_line(area: ExportArea, layouts_request: str) -> None:
    client = _client(area)
    _sign_in(client, "Carl")
    section = _section(client.get(f"/requests/{layouts_request}").text, "ct_multi.csv")
    assert "<th>sex</th><th>F</th><th>F</th><th>M</th><th>M</th><th>All</th>" in section
    assert "<th>age</th><th>old</th><th>young</th>" in section
    cell = "<strong>(North, sex: F | age: old)</strong>: flagged: checked cell by cell: threshold"
    assert cell in section


def test_show_stars_crosstab_cells_with_their_rules(area: ExportArea, layouts_request: str) -> None:
    result = run_cli(
        "export", "show", "--dir", area.root, "--request", layouts_request,
        "--output", "ct_all.csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3*" in result.output and "4*" in result.output and "12*" not in result.output
    assert "(North old, F): flagged: threshold" in result.output
    assert "differencing (this request with earlier releases): passed" in result.output


def _protected(folder: Path) -> Path:
    """A table protected by sdc: primary and secondary suppressions with a record."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "region": rng.choice(["North", "South", "East", "West"], 400),
            "sex": rng.choice(["F", "M", "X"], 400, p=[0.49, 0.49, 0.02]),
        }
    )
    table = sdc.frequency_table(frame, ["region"], ["sex"], policy=sdc.load_policy(None))
    folder.mkdir(parents=True, exist_ok=True)
    path, _ = sdc.write_table(table, folder / "protected.csv")
    return path


def test_suppressed_cells_are_labelled_with_their_intervals(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    request_id = _submit(area, team, [(_protected(tmp_path / "work"), OutputKind.TABLE)])
    client = _client(area)
    _sign_in(client, "Carl")
    section = _section(client.get(f"/requests/{request_id}").text, "protected.csv")
    primary = '<td class="suppressed primary" title="primary suppression (threshold)'
    assert primary in section
    assert '<td class="suppressed secondary" title="secondary suppression' in section
    assert "recorded interval [" in section and "audited interval [" in section
    cli = run_cli("export", "show", "--dir", area.root, "--request", request_id)
    assert cli.exit_code == 0, cli.output
    assert "primary suppression (threshold); recorded interval [" in cli.output
    assert "secondary suppression (protects other cells)" in cli.output
    assert "decision record protected.sdc.json (kept in the TRE)" in cli.output


def test_the_decision_record_is_a_page_not_a_file(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    request_id = _submit(area, team, [(_protected(tmp_path / "work"), OutputKind.TABLE)])
    client = _client(area)
    _sign_in(client, "Carl")
    page = client.get(f"/requests/{request_id}").text
    link = f"/requests/{request_id}/records/protected.sdc.json"
    assert f'href="{link}"' in page
    response = client.get(link)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Every cell" in response.text and '"format"' not in response.text
    assert re.search(r"<td class=\"primary\">primary</td><td>threshold</td>", response.text)
    # Only a record the log holds for one of the request's tables is shown.
    assert client.get(f"/requests/{request_id}/records/protected.csv").status_code == 404
    assert client.get(f"/requests/{request_id}/records/..%2Fchecks.json").status_code == 404
    assert client.get("/requests/R0099/records/protected.sdc.json").status_code == 404
    # The command line reads the same record cell by cell (show --record).
    cli = run_cli("export", "show", "--dir", area.root, "--request", request_id, "--record")
    assert cli.exit_code == 0, cli.output
    assert re.search(r"│ primary\s+│ threshold\s+│", cli.output), cli.output
    assert "secondary" in cli.output and "stored file:" in cli.output


_SAFE_RAW = "region,sex: F,sex: M,Total\nNorth,13,14,27\nSouth,22,18,40\nTotal,35,32,67\n"


def test_differencing_is_reported_per_table(area: ExportArea, team: Team, tmp_path: Path) -> None:
    folder = tmp_path / "work"
    request_id = _submit(
        area,
        team,
        [
            (tables.write(folder, "by_sex_age.csv", tables.SAFE_BY_SEX_AGE), OutputKind.TABLE),
            (tables.write(folder, "by_region.csv", tables.SAFE_BY_REGION_AGE), OutputKind.TABLE),
            (tables.write(folder, "raw.csv", _SAFE_RAW), OutputKind.TABLE),
        ],
    )
    state = read_state(area)
    request = state.request(request_id)
    assert request.checks_sha256 is not None
    checks = load_checks(area.checks_path(request_id), expected_sha256=request.checks_sha256)
    assert checks.outputs["by_sex_age.csv"].differencing is False
    assert checks.outputs["raw.csv"].differencing is True
    rules = checks.outputs["by_sex_age.csv"].cell_rules
    assert any("differencing (request-wide audit)" in found for found in rules.values())
    client = _client(area)
    _sign_in(client, "Carl")
    page = client.get(f"/requests/{request_id}").text
    assert "Passed: no suppressed cell" not in page
    raw = _section(page, "raw.csv")
    assert re.search(r'data-role="differencing">[^<]*<span class="badge pass">passed', raw)
    # Every suppressed cell has its range: from its own table, and where the joint audit
    # reports it, with the request (a cell two tables share is reported under one).
    shared = _section(page, "by_region.csv")
    assert shared.count("range from this table alone [") == 8  # 4 cells: title and list
    assert "request-wide audited interval [14, 14]" in shared
    narrowed = _section(page, "by_sex_age.csv")
    assert re.search(r'data-role="differencing">[^<]*<span class="badge fail">failed', narrowed)


def test_the_demo_request_page_has_no_global_pass_above_a_failed_table(
    web_area: ExportArea,
) -> None:
    client = _client(web_area)
    _sign_in(client, "Carl")
    page = client.get("/requests/R0001").text
    raw = _section(page, "raw.csv")
    assert '<span class="badge fail">fail</span>' in raw
    differencing = re.search(r'data-differencing="raw.csv">(.*?)</li>', page, re.S)
    assert differencing is not None and "no suppressed cell" in differencing.group(1)
    assert "Request-wide audit: passed" not in page


def _model(folder: Path) -> Path:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "months": rng.normal(10, 3, 300),
            "nationality": rng.choice(["A", "B", "C"], 300, p=[0.5, 0.47, 0.03]),
            "closed": (rng.random(300) < 0.4).astype(int),
        }
    )
    model = sdc.fit_model(
        "logit", "closed ~ months + C(nationality)", frame, policy=sdc.load_policy(None)
    )
    folder.mkdir(parents=True, exist_ok=True)
    return model.write(folder / "closure.model.json")


_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    '<script>alert(1)</script><rect width="10" height="10"/></svg>'
)


def test_models_show_coefficients_and_checks_and_svg_figures_inline(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    folder = tmp_path / "work"
    request_id = _submit(
        area,
        team,
        [
            (_model(folder), OutputKind.MODEL),
            (tables.write(folder, "trend.svg", _SVG), OutputKind.FIGURE),
            (tables.write(folder, "notes.txt", "Referrals rose in 2021.\n"), OutputKind.TEXT),
        ],
    )
    client = _client(area)
    _sign_in(client, "Carl")
    page = client.get(f"/requests/{request_id}").text
    model = _section(page, "closure.model.json")
    assert "<code>closed ~ months + C(nationality)</code>" in model
    assert '<tr class="flagged"><th>C(nationality)[T.C]</th>' in model
    assert "<tr><th>months</th>" in model
    assert "pass · residual degrees of freedom: 296 for 300 observations" in model
    assert "fail · dummy C(nationality)[T.C]: groups of" in model
    assert "pass · separation: no term separates the outcome" in model
    figure = _section(page, "trend.svg")
    assert f'<img class="figure" src="/requests/{request_id}/outputs/trend.svg"' in figure
    served = client.get(f"/requests/{request_id}/outputs/trend.svg")
    assert served.headers["content-type"] == "image/svg+xml"
    assert served.headers["content-security-policy"].startswith("sandbox")
    assert "Referrals rose in 2021." in _section(page, "notes.txt")
    cli = run_cli("export", "show", "--dir", area.root, "--request", request_id)
    assert cli.exit_code == 0, cli.output
    assert "C(nationality)[T.C]*" in cli.output
    assert "FAIL · dummy C(nationality)[T.C]" in cli.output


def test_crosstab_labels_and_headers_are_escaped(
    area: ExportArea, team: Team, tmp_path: Path
) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    crosstab = tables.write(
        tmp_path / "work",
        "hostile.csv",
        f'sex,"{hostile}",M,All\nage,old,young,\nregion,,,\nNorth,3,14,17\nAll,3,14,17\n',
    )
    request_id = _submit(area, team, [(crosstab, OutputKind.TABLE)])
    client = _client(area)
    _sign_in(client, "Carl")
    page = client.get(f"/requests/{request_id}").text
    assert hostile not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert sorted(_FLAGGED_CELL.findall(_section(page, "hostile.csv"))) == ["3", "3"]
