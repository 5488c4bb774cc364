"""The offline HTML summary, from a hand-built outbox."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from trelink.demo.charts import Coefficient, HeatMap, forest_plot, heat_map
from trelink.demo.errors import DemoError
from trelink.demo.summary import read_release, write_summary

TABLE = (
    "closure,worker_type: DW,worker_type: RPC,Total\n"
    "Turning 18,41,,55\n"
    "Other,37,,60\n"
    "Total,78,37,115\n"
)
MEAN_TABLE = "closure,nationality_group: UK,Total\nOther,0.1831,0.1652\nTotal,,0.1700\n"


def _outbox(root: Path) -> Path:
    outbox = root / "outbox"
    outbox.mkdir()
    (outbox / "ictg_closure.csv").write_text(TABLE, encoding="utf-8")
    (outbox / "linked_absence.csv").write_text(MEAN_TABLE, encoding="utf-8")
    model = {
        "format": "trelink-sdc-model",
        "kind": "ols",
        "observations": 321,
        "parameters": [
            {"term": "Intercept", "coefficient": 0.2, "std_error": 0.05, "p_value": 0.01},
            {
                "term": "C(nationality_group, Treatment('UK'))[T.Albanian]",
                "coefficient": -0.031,
                "std_error": 0.02,
                "p_value": 0.1,
            },
            {
                "term": "exploitation_criminal[T.True]",
                "coefficient": 0.044,
                "std_error": 0.01,
                "p_value": 0.001,
            },
        ],
    }
    (outbox / "lpm_closure_other.model.json").write_text(json.dumps(model), encoding="utf-8")
    outputs = [
        {"name": "ictg_closure.csv", "kind": "table", "description": "Closure by worker type"},
        {"name": "linked_absence.csv", "kind": "table", "description": "Mean absence"},
        {"name": "lpm_closure_other.model.json", "kind": "model", "description": "LPM of Other"},
    ]
    manifest = {
        "project": "Demo project",
        "request": "R0001",
        "title": "Demo request",
        "released_by": "Demo checker 1",
        "released_at": "2026-01-01T00:00:00+00:00",
        "required_approvals": 2,
        "outputs": outputs,
        "withheld": ["refused.csv"],
        "audit_log": {"release_entry_seq": 9, "release_entry_sha256": "0" * 64},
    }
    (outbox / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return outbox


def test_summary_shows_suppressed_cells_as_suppressed(tmp_path: Path) -> None:
    page = write_summary(_outbox(tmp_path), tmp_path / "summary.html").read_text(encoding="utf-8")
    # Two suppressed interior cells in the chart and in the table; the mean table's
    # suppressed margin appears only in the table (margins are not charted).
    assert page.count("<title>suppressed</title>") == 2
    assert page.count('class="suppressed"') == 3
    # The published numbers are shown; nothing is derived for the hidden cells (55-41=14,
    # 60-37=23 would reconstruct them from the margins).
    for shown in (">41<", ">37<", ">115<", ">0.183<"):
        assert shown in page
    for derived in (">14<", ">23<"):
        assert derived not in page
    assert "Withheld by the checkers: refused.csv" in page
    assert "nationality group: Albanian (ref. UK)" in page
    assert "exploitation: criminal" in page


def test_summary_opens_offline(tmp_path: Path) -> None:
    page = write_summary(_outbox(tmp_path), tmp_path / "summary.html").read_text(encoding="utf-8")
    assert "<script" not in page
    # The only URL allowed is the SVG namespace, which browsers never fetch.
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}


def test_release_sections_follow_output_names(tmp_path: Path) -> None:
    release = read_release(_outbox(tmp_path))
    titles = list(release["sections"])
    assert titles[0] == "ICTG closure reasons"
    assert titles[1].startswith("Who leaves the ICTG service")
    assert [item.name for item in release["sections"][titles[2]]] == ["linked_absence.csv"]


def test_a_folder_without_a_release_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match=r"no manifest\.json"):
        write_summary(tmp_path, tmp_path / "summary.html")
    assert not (tmp_path / "summary.html").exists()


def test_charts_escape_labels_and_mark_suppressed_cells() -> None:
    chart = heat_map(
        HeatMap(
            row_labels=["<b>bold</b>"],
            column_labels=["A & B", "C"],
            values=[[12.0, None]],
        )
    )
    assert "<b>" not in chart and "&lt;b&gt;bold&lt;/b&gt;" in chart
    assert "A &amp; B" in chart
    assert chart.count("<title>suppressed</title>") == 1
    plot = forest_plot(
        [Coefficient("Intercept", 0.5, 0.1), Coefficient("x <1>", -0.2, 0.05)], title="t"
    )
    assert "Intercept" not in plot  # the intercept is left out
    assert "x &lt;1&gt;" in plot


def test_summary_links_the_release_record_and_reads_dates(tmp_path: Path) -> None:
    """The study summary points to the outbox's release.html (approvals, log head), made
    by the export's own release page, instead of repeating it; dates are readable."""
    outbox = _outbox(tmp_path)
    page = write_summary(outbox, tmp_path / "summary.html").read_text(encoding="utf-8")
    assert 'id="release-record"' not in page  # no release.html in the outbox: no link
    assert "1 Jan 2026, 00:00 UTC" in page and "2026-01-01T00:00:00" not in page
    (outbox / "release.html").write_text("<!doctype html>", encoding="utf-8")
    page = write_summary(outbox, tmp_path / "summary.html").read_text(encoding="utf-8")
    assert '<a href="outbox/release.html">outbox/release.html</a>' in page
