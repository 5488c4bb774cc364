"""The report's own charts ask for the Vega-Lite version the report embeds."""

from __future__ import annotations

import re

from splink.internals.html_utils import load_chart_libraries

from linkage.report import VEGA_LITE_SCHEMA, _bar_chart


def test_chart_schema_is_the_embedded_vega_lite() -> None:
    embedded = load_chart_libraries()["vega-lite"]
    (version,) = set(re.findall(r'var n="(\d+\.\d+\.\d+)"', embedded[:2000]))
    chart = _bar_chart(
        [{"dataset": "nrm", "rate": 0.5}], title="t", category="dataset", measure="rate"
    )
    assert chart["$schema"] == VEGA_LITE_SCHEMA
    assert VEGA_LITE_SCHEMA.endswith(f"/vega-lite/v{version}.json")
