"""The linkage report's own charts, made with Altair and drawn by the report's embedded
Vega-Lite.

The report draws every chart offline with the vega, vega-lite and vega-embed copies
Splink ships (``CHART_LIBRARIES``: vega-lite 5.2.0). Altair 6 writes specs against the
Vega-Lite 6 schema and has no Vega-Lite 5 module, while Splink ships no Vega-Lite 6
copy. The charts here use only marks and channels Vega-Lite 5.2 has (bar, line,
point, rule; x, y, colour, yOffset, tooltip), so each spec is declared for the
embedded version (``VEGA_LITE_SCHEMA``): vega-embed would otherwise warn that the spec
asks for a newer major version than it holds. ``tests/linkage/test_report_charts.py``
compiles and renders every kind of chart here with the embedded libraries (under
Node), so a spec the embedded copy cannot draw fails there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
from splink.internals.html_utils import CHART_LIBRARIES

__all__ = ["VEGA_LITE_SCHEMA", "bar_chart", "quality_curve_chart"]

VEGA_LITE_SCHEMA = f"https://vega.github.io/schema/vega-lite/v{CHART_LIBRARIES['vega-lite']}.json"


def _for_embedded_vega_lite(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's spec (validated by Altair), declared for the embedded Vega-Lite."""
    spec: dict[str, Any] = chart.to_dict()
    spec["$schema"] = VEGA_LITE_SCHEMA
    return spec


def bar_chart(
    rows: Sequence[Mapping[str, Any]],
    *,
    title: str,
    category: str,
    measure: str,
    colour: str | None = None,
    percent: bool = True,
) -> dict[str, Any]:
    """Horizontal bars of ``measure`` per ``category``, grouped by ``colour`` if given;
    a share (``percent``) is drawn from 0 to 100%."""
    measure_axis = alt.X(
        f"{measure}:Q",
        title=measure.replace("_", " "),
        axis=alt.Axis(format=".0%") if percent else alt.Undefined,
        scale=alt.Scale(domain=[0, 1]) if percent else alt.Undefined,
    )
    encodings: dict[str, Any] = {
        "y": alt.Y(f"{category}:N", sort=None, title=None),
        "x": measure_axis,
        "tooltip": [alt.Tooltip(f"{key}:N") for key in rows[0]] if rows else [],
    }
    if colour is not None:
        encodings["color"] = alt.Color(f"{colour}:N")
        encodings["yOffset"] = alt.YOffset(f"{colour}:N")
    chart = (
        alt.Chart(alt.InlineData(values=[dict(row) for row in rows]), title=title, width=420)
        .mark_bar()
        .encode(**encodings)
    )
    return _for_embedded_vega_lite(chart)


def quality_curve_chart(
    expected: Sequence[Mapping[str, Any]],
    measured: Sequence[Mapping[str, Any]],
    thresholds: Sequence[Mapping[str, Any]],
    *,
    title: str,
) -> dict[str, Any]:
    """Lines of ``expected`` and points of ``measured`` quality (rows of threshold,
    measure, value) against the threshold, with a dashed rule at each of
    ``thresholds`` (rows of threshold, which)."""
    x_axis = alt.X("threshold:Q", scale=alt.Scale(domain=[0, 1]))
    # Not from zero: the differences that matter lie between about 0.8 and 1.
    y_axis = alt.Y("value:Q", scale=alt.Scale(zero=False))
    colour = alt.Color("measure:N", title=None)
    lines = (
        alt.Chart(alt.InlineData(values=list(expected)))
        .mark_line()
        .encode(x=x_axis, y=y_axis, color=colour)
    )
    points = (
        alt.Chart(alt.InlineData(values=list(measured)))
        .mark_point(filled=True)
        .encode(x=x_axis, y=y_axis, color=colour)
    )
    rules = (
        alt.Chart(alt.InlineData(values=list(thresholds)))
        .mark_rule(strokeDash=[4, 3])
        .encode(x=alt.X("threshold:Q"), tooltip=["which:N", "threshold:Q"])
    )
    layered = alt.layer(lines, points, rules, title=title, width=520, height=300)
    return _for_embedded_vega_lite(layered)
