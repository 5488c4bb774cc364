"""The report's own charts are Altair charts the report's embedded Vega-Lite can draw."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import splink
from splink.internals.html_utils import CHART_LIBRARIES, load_chart_libraries

from linkage.report_charts import VEGA_LITE_SCHEMA, bar_chart, quality_curve_chart

_RENDER = Path(__file__).with_name("render_vega_lite.js")
_LIBRARIES = Path(splink.__file__).parent / "internals" / "files" / "external_js"

_RATES = [
    {"dataset": "nrm", "value": "female", "records": 40, "linked_elsewhere": 0.5},
    {"dataset": "nrm", "value": "male", "records": 38, "linked_elsewhere": 0.625},
    {"dataset": "npd", "value": "female", "records": 41, "linked_elsewhere": 0.75},
]


def _charts() -> dict[str, dict[str, Any]]:
    """One chart of each kind the report makes, over rows shaped as the report's."""
    return {
        "dataset_rates": bar_chart(
            _RATES, title="Records linked", category="dataset", measure="linked_elsewhere"
        ),
        "subgroup_sex": bar_chart(
            _RATES, title="By sex", category="value", measure="linked_elsewhere", colour="dataset"
        ),
        "counts": bar_chart(
            _RATES, title="Records", category="value", measure="records", percent=False
        ),
        "expected_quality": quality_curve_chart(
            [
                {"threshold": level, "measure": f"expected {name}", "value": value}
                for level in (0.5, 0.9, 0.99)
                for name, value in (("precision", level), ("recall", 1 - level / 2))
            ],
            [{"threshold": 0.9, "measure": "measured precision", "value": 0.97}],
            [{"threshold": 0.9, "which": "run's threshold"}],
            title="Expected quality",
        ),
        "no_rows": bar_chart([], title="Empty", category="dataset", measure="linked_elsewhere"),
    }


def _embedded_vega_lite_version() -> str:
    (version,) = set(
        re.findall(r'var n="(\d+\.\d+\.\d+)"', load_chart_libraries()["vega-lite"][:2000])
    )
    return version


def _render(specs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("needs Node.js to run the embedded vega-lite")
    result = subprocess.run(
        [
            node,
            str(_RENDER),
            str(_LIBRARIES),
            f"vega@{CHART_LIBRARIES['vega']}",
            f"vega-lite@{CHART_LIBRARIES['vega-lite']}",
        ],
        input=json.dumps(specs),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rendered = [json.loads(line) for line in result.stdout.splitlines()]
    return {item["name"]: item for item in rendered}


def test_every_chart_declares_the_embedded_vega_lite() -> None:
    version = _embedded_vega_lite_version()
    assert VEGA_LITE_SCHEMA.endswith(f"/vega-lite/v{version}.json")
    for spec in _charts().values():
        assert spec["$schema"] == VEGA_LITE_SCHEMA


def test_the_embedded_vega_lite_draws_every_chart_without_a_warning() -> None:
    charts = _charts()
    rendered = _render(charts)
    assert set(rendered) == set(charts)
    for name, item in rendered.items():
        assert item["problems"] == [], name
        if name != "no_rows":
            assert item["marks"] > len(_RATES), name


def test_the_renderer_reports_what_the_embedded_vega_lite_cannot_draw() -> None:
    # A mark Vega-Lite 5 does not know, and a channel it ignores with a warning.
    unknown_mark = {**_charts()["dataset_rates"], "mark": {"type": "hexagon"}}
    unknown_channel = bar_chart(_RATES, title="t", category="dataset", measure="records")
    unknown_channel["encoding"]["sparkle"] = {"field": "records", "type": "quantitative"}
    rendered = _render({"unknown_mark": unknown_mark, "unknown_channel": unknown_channel})
    assert rendered["unknown_mark"]["problems"]
    assert rendered["unknown_channel"]["problems"]


def test_bars_keep_the_report_look() -> None:
    spec = bar_chart(
        _RATES, title="By sex", category="value", measure="linked_elsewhere", colour="dataset"
    )
    assert spec["title"] == "By sex" and spec["width"] == 420
    # Altair names the rows and keeps them once at the top (Vega-Lite 5 reads both).
    assert spec["datasets"][spec["data"]["name"]] == _RATES
    encoding = spec["encoding"]
    assert encoding["y"] == {"field": "value", "type": "nominal", "sort": None, "title": None}
    assert encoding["x"]["axis"] == {"format": ".0%"}
    assert encoding["x"]["scale"] == {"domain": [0, 1]}
    assert encoding["x"]["title"] == "linked elsewhere"
    assert encoding["yOffset"]["field"] == encoding["color"]["field"] == "dataset"
    assert [item["field"] for item in encoding["tooltip"]] == list(_RATES[0])
