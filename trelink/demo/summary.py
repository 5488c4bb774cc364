"""The one-page offline HTML summary of a release, built from the outbox alone.

``write_summary(outbox, path)`` reads the release ``manifest.json``, every released
table (the wide CSV ``sdc`` writes: empty cells are suppressed) and every released model
(``NAME.model.json``), and renders ``summary.html.j2``: a heat map per table, a forest
plot per model, and the tables themselves with suppressed cells marked. Charts are
inline SVG, so the page needs no script and no network.

It is the study's findings, arranged by topic. The record of the release itself (who
approved each output and when, what was withheld, the audit log's head) is the outbox's
``release.html``, which ``trelink export release`` writes for any request; the summary
links to it rather than repeating it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from tre_export.dates import readable_time
from tre_export.release_page import RELEASE_PAGE
from trelink.atomic import atomic_file
from trelink.demo.charts import Coefficient, HeatMap, forest_plot, heat_map
from trelink.demo.errors import DemoError

__all__ = ["SECTIONS", "ReleasedModel", "ReleasedTable", "read_release", "write_summary"]

TOTAL = "Total"
# Sections of the page, by output-name prefix, in reading order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("nrm_", "The nature of child exploitation in NRM referrals, Feb 2017 - Sep 2022"),
    ("ictg_", "ICTG closure reasons"),
    ("lpm_", "Who leaves the ICTG service, and why: linear probability models"),
    ("linked_", "What linkage makes newly possible: the year after ICTG referral"),
)
_OTHER_SECTION = "Other released outputs"
_TREATMENT = re.compile(r"^C\((\w+), Treatment\('([^']*)'\)\)\[T\.(.+)\]$")
_FLAG = re.compile(r"^(\w+)\[T\.True\]$")


@dataclass(frozen=True)
class ReleasedTable:
    name: str
    description: str
    header: list[str]
    labels: int  # leading row-variable columns
    rows: list[list[str | None]]  # None: suppressed
    chart: Markup
    suppressed: int
    cells: int


@dataclass(frozen=True)
class ReleasedModel:
    name: str
    description: str
    observations: int
    coefficients: list[Coefficient]
    chart: Markup


def _column_label(header: str) -> str:
    return " · ".join(part.split(": ", 1)[-1] for part in header.split(" | "))


def _is_total(header: str) -> bool:
    return header == TOTAL or any(part.split(": ", 1)[-1] == TOTAL for part in header.split(" | "))


def _read_table(path: Path, description: str) -> ReleasedTable:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    row_variables = [c for c in frame.columns if ": " not in c and c != TOTAL]
    value_columns = [c for c in frame.columns if c not in row_variables]
    numeric = any("." in text for column in value_columns for text in frame[column])
    interior_rows = frame[~(frame[row_variables] == TOTAL).any(axis=1)]
    interior_columns = [c for c in value_columns if not _is_total(c)]
    values = [
        [float(text) if text != "" else None for text in interior_rows[c]] for c in interior_columns
    ]
    chart = heat_map(
        HeatMap(
            row_labels=[" · ".join(row) for row in interior_rows[row_variables].to_numpy()],
            column_labels=[_column_label(c) for c in interior_columns],
            values=[list(row) for row in zip(*values, strict=True)] if values else [],
            decimals=3 if numeric else 0,
        )
    )
    rows = [[text if text != "" else None for text in row] for row in frame.to_numpy().tolist()]
    suppressed = sum(1 for row in rows for text in row[len(row_variables) :] if text is None)
    return ReleasedTable(
        name=path.name,
        description=description,
        header=[*row_variables, *(_column_label(c) for c in value_columns)],
        labels=len(row_variables),
        rows=rows,
        chart=chart,
        suppressed=suppressed,
        cells=len(rows) * len(value_columns),
    )


def _term_label(term: str) -> str:
    treatment = _TREATMENT.match(term)
    if treatment:
        variable, reference, level = treatment.groups()
        return f"{variable.replace('_', ' ')}: {level} (ref. {reference})"
    flag = _FLAG.match(term)
    if flag:
        return flag.group(1).replace("exploitation_", "exploitation: ").replace("_", " ")
    return term.replace("_", " ")


def _read_model(path: Path, description: str) -> ReleasedModel:
    document = json.loads(path.read_text(encoding="utf-8"))
    coefficients = [
        Coefficient(_term_label(p["term"]), float(p["coefficient"]), p["std_error"])
        for p in document["parameters"]
        if p["coefficient"] is not None
    ]
    return ReleasedModel(
        name=path.name,
        description=description,
        observations=int(document["observations"]),
        coefficients=coefficients,
        chart=forest_plot(coefficients, title=description),
    )


def read_release(outbox: Path) -> dict[str, Any]:
    """The release manifest and every released output, grouped into the page's sections."""
    manifest_path = outbox / "manifest.json"
    if not manifest_path.is_file():
        raise DemoError(f"{outbox}: no manifest.json; is this a released outbox?")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    sections: dict[str, list[ReleasedTable | ReleasedModel]] = {title: [] for _, title in SECTIONS}
    sections[_OTHER_SECTION] = []
    for output in manifest["outputs"]:
        path = outbox / output["name"]
        if output["kind"] == "table":
            item: ReleasedTable | ReleasedModel = _read_table(path, output["description"])
        elif output["kind"] == "model":
            item = _read_model(path, output["description"])
        else:
            continue
        title = next((t for prefix, t in SECTIONS if output["name"].startswith(prefix)), None)
        sections[title or _OTHER_SECTION].append(item)
    return {
        "manifest": manifest,
        "sections": {title: items for title, items in sections.items() if items},
    }


def write_summary(outbox: Path, path: Path) -> Path:
    """Render the summary of the release in ``outbox`` to ``path`` (atomically)."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("trelink.demo", "."),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["readable_time"] = readable_time
    record = outbox / RELEASE_PAGE
    # A relative link, so the pair still opens offline wherever the folder is copied.
    link = os.path.relpath(record, path.parent) if record.is_file() else None
    page = environment.get_template("summary.html.j2").render(
        **read_release(outbox), release_page=link
    )
    with atomic_file(path) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return path
