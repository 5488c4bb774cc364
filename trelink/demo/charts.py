"""Inline SVG charts for the offline summary: a heat map per table, a forest plot per model.

Suppressed cells are drawn as hatched, labelled squares: their values are unknown
outside the TRE and nothing here tries to estimate them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Coefficient", "HeatMap", "forest_plot", "heat_map"]

_LABEL_WIDTH = 230
_CELL_HEIGHT = 26
_HEADER_HEIGHT = 92
_FONT = "font-family:system-ui,sans-serif;font-size:11px"


@dataclass(frozen=True)
class HeatMap:
    """Interior cells of a released table: ``values[row][column]`` (None = suppressed)."""

    row_labels: Sequence[str]
    column_labels: Sequence[str]
    values: Sequence[Sequence[float | None]]
    decimals: int = 0


@dataclass(frozen=True)
class Coefficient:
    term: str
    estimate: float
    std_error: float | None


def _shade(share: float) -> tuple[str, str]:
    """Fill (light to dark blue) and a readable text colour for a share in [0, 1]."""
    light, dark = (239, 246, 255), (30, 64, 175)
    mix = [round(a + (b - a) * share) for a, b in zip(light, dark, strict=True)]
    return f"rgb({mix[0]},{mix[1]},{mix[2]})", "#fff" if share > 0.55 else "#111"


def _number(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def heat_map(chart: HeatMap) -> Markup:
    """A rows x columns grid shaded by value; suppressed cells hatched and marked."""
    shown = [v for row in chart.values for v in row if v is not None]
    low, high = (min(shown), max(shown)) if shown else (0.0, 1.0)
    span = high - low or 1.0
    cell_width = max(58, min(120, 760 // max(1, len(chart.column_labels))))
    # Room on the right for the last rotated column label.
    width = _LABEL_WIDTH + cell_width * len(chart.column_labels) + 120
    height = _HEADER_HEIGHT + _CELL_HEIGHT * len(chart.row_labels) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" style="{_FONT}">',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#e5e7eb"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#9ca3af" stroke-width="2"/></pattern></defs>',
    ]
    for index, label in enumerate(chart.column_labels):
        x = _LABEL_WIDTH + cell_width * index + cell_width / 2
        parts.append(
            f'<text transform="translate({x:.0f},{_HEADER_HEIGHT - 6}) rotate(-35)">'
            f"{escape(label)}</text>"
        )
    for row_index, (label, row) in enumerate(zip(chart.row_labels, chart.values, strict=True)):
        y = _HEADER_HEIGHT + _CELL_HEIGHT * row_index
        parts.append(
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end">{escape(label)}</text>'
        )
        for column_index, value in enumerate(row):
            x = _LABEL_WIDTH + cell_width * column_index
            if value is None:
                parts.append(
                    f'<rect x="{x}" y="{y}" width="{cell_width - 2}" height="{_CELL_HEIGHT - 2}" '
                    'fill="url(#hatch)"><title>suppressed</title></rect>'
                    f'<text x="{x + cell_width / 2:.0f}" y="{y + 17}" text-anchor="middle" '
                    'fill="#4b5563">supp.</text>'
                )
                continue
            fill, ink = _shade((value - low) / span)
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell_width - 2}" height="{_CELL_HEIGHT - 2}" '
                f'fill="{fill}"/><text x="{x + cell_width / 2:.0f}" y="{y + 17}" '
                f'text-anchor="middle" fill="{ink}">{_number(value, chart.decimals)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def forest_plot(coefficients: Sequence[Coefficient], *, title: str) -> Markup:
    """Estimates with 95% intervals against a zero line (the intercept left out)."""
    terms = [c for c in coefficients if c.term != "Intercept"]
    bounds = [0.0]
    for c in terms:
        spread = 1.96 * (c.std_error or 0.0)
        bounds += [c.estimate - spread, c.estimate + spread]
    low, high = min(bounds), max(bounds)
    pad = (high - low) * 0.08 or 0.1
    low, high = low - pad, high + pad
    plot_left, plot_width = 320, 440
    height = 40 + 24 * len(terms) + 30

    def x_of(value: float) -> float:
        return plot_left + (value - low) / (high - low) * plot_width

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{plot_left + plot_width + 20}" '
        f'height="{height}" role="img" aria-label="{escape(title)}" style="{_FONT}">',
        f'<line x1="{x_of(0):.1f}" y1="20" x2="{x_of(0):.1f}" y2="{height - 30}" '
        'stroke="#6b7280" stroke-dasharray="4 3"/>',
    ]
    for index, c in enumerate(terms):
        y = 34 + 24 * index
        parts.append(
            f'<text x="{plot_left - 10}" y="{y + 4}" text-anchor="end">{escape(c.term)}</text>'
        )
        if c.std_error is not None and math.isfinite(c.std_error):
            spread = 1.96 * c.std_error
            parts.append(
                f'<line x1="{x_of(c.estimate - spread):.1f}" y1="{y}" '
                f'x2="{x_of(c.estimate + spread):.1f}" y2="{y}" stroke="#1e40af" stroke-width="2"/>'
            )
        parts.append(
            f'<circle cx="{x_of(c.estimate):.1f}" cy="{y}" r="4" fill="#1e40af">'
            f"<title>{c.estimate:+.3f}</title></circle>"
        )
    for tick in (low + pad, 0.0, high - pad):
        parts.append(
            f'<text x="{x_of(tick):.1f}" y="{height - 12}" text-anchor="middle" '
            f'fill="#4b5563">{tick:+.2f}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
