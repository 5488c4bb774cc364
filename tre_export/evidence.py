"""The evidence a checker reads for one output, gathered once for the page and the CLI.

* a table: the file rendered with each flagged cell marked and the rules that fired,
  each suppressed cell labelled primary or secondary with its recorded interval (from
  the decision record beside it) and the interval the request-wide audit derived, and
  the table's own differencing verdict;
* a model (``NAME.model.json``): its coefficient table with the terms the checks flag,
  and each check (residual degrees of freedom, small dummy groups, separation);
* a decision record: its summary and every cell, for reading (it is never released).

Everything read here is a stored file of the request, looked up by the names the log
recorded; nothing is taken from a URL or an argument as a path.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sdc
from tre_export.area import ExportArea
from tre_export.checks import OutputCheck
from tre_export.model import Output, OutputKind
from tre_export.state import ProjectState
from tre_export.table_view import CellEvidence, RenderedTable, record_evidence, render_table

__all__ = [
    "DecisionRecordView",
    "ModelCheckLine",
    "ModelTerm",
    "ModelView",
    "decision_record_name",
    "project_policy_path",
    "read_decision_record",
    "read_model",
    "table_evidence",
]

_MODEL_FORMAT = "trelink-sdc-model"
_RECORD_FORMAT = "trelink-sdc-decision-record"


def decision_record_name(output: Output) -> str | None:
    """The name of the decision record stored with a table, if it came with one."""
    expected = sdc.decision_record_path(Path(output.name)).name
    return expected if expected in output.evidence else None


def project_policy_path(area: ExportArea, state: ProjectState) -> Path | None:
    """The SDC policy the area was set up with (None: sdc's default)."""
    return area.policy_path if state.settings().policy_sha256 is not None else None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def table_evidence(
    area: ExportArea, request_id: str, output: Output, check: OutputCheck | None
) -> RenderedTable | None:
    """The table with every cell's evidence: rules from the checks, status and intervals."""
    record_name = decision_record_name(output)
    record = (
        _read_json(area.output_path(request_id, record_name)) if record_name is not None else None
    )
    if record is not None and record.get("format") != _RECORD_FORMAT:
        record = None
    evidence = record_evidence(record)
    if check is not None:
        cells = {*check.cell_rules, *check.flagged_cells, *check.intervals, *check.own_intervals}
        for cell in cells:
            known = evidence.get(cell, CellEvidence())
            rules = check.cell_rules.get(cell) or (
                ["flagged"] if cell in check.flagged_cells else []
            )
            evidence[cell] = CellEvidence(
                rules=rules,
                status=known.status,
                record_rules=known.record_rules,
                recorded_interval=known.recorded_interval,
                own_interval=check.own_intervals.get(cell),
                audited_interval=check.intervals.get(cell),
            )
    labels = None
    if record is not None and isinstance(record.get("row_variables"), list):
        labels = len(record["row_variables"]) or None
    return render_table(area.output_path(request_id, output.name), evidence, label_columns=labels)


@dataclass(frozen=True)
class ModelTerm:
    term: str
    coefficient: str
    std_error: str
    p_value: str
    flagged: bool


@dataclass(frozen=True)
class ModelCheckLine:
    name: str
    value: str
    passed: bool


@dataclass(frozen=True)
class ModelView:
    kind: str
    formula: str
    terms: list[ModelTerm]
    checks: list[ModelCheckLine]
    fit_warnings: list[str] = field(default_factory=list)


def _number(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    if not math.isfinite(value):
        return "-"
    return f"{value:.4g}"


def read_model(path: Path, output: Output, policy_path: Path | None) -> ModelView | None:
    """A model output's coefficients and checks (None unless it is a trelink model file)."""
    if output.kind is not OutputKind.MODEL:
        return None
    document = _read_json(path)
    if document is None or document.get("format") != _MODEL_FORMAT:
        return None
    policy = sdc.load_policy(policy_path)
    try:
        flagged = set(sdc.check_model_file(path, policy=policy).flagged_terms)
        observations = int(document["observations"])
        dof = float(document["residual_dof"])
        dummies = [
            (str(dummy["term"]), int(dummy["ones"]), int(dummy["zeros"]))
            for dummy in document["dummies"]
        ]
        separated = [str(term) for term in document["separated_terms"]]
        terms = [
            ModelTerm(
                term=str(item["term"]),
                coefficient=_number(item["coefficient"]),
                std_error=_number(item["std_error"]),
                p_value=_number(item["p_value"]),
                flagged=str(item["term"]) in flagged,
            )
            for item in document["parameters"]
        ]
    except (sdc.SdcError, KeyError, TypeError, ValueError):
        return None
    checks = [
        ModelCheckLine(
            "residual degrees of freedom",
            f"{dof:g} for {observations} observations (policy minimum "
            f"{policy.model.min_residual_dof})",
            dof >= policy.model.min_residual_dof and len(terms) < observations,
        )
    ]
    for term, ones, zeros in dummies:
        checks.append(
            ModelCheckLine(
                f"dummy {term}",
                f"groups of {ones} and {zeros} (threshold {policy.threshold})",
                min(ones, zeros) >= policy.threshold,
            )
        )
    checks.append(
        ModelCheckLine(
            "separation",
            ", ".join(separated) if separated else "no term separates the outcome",
            not separated,
        )
    )
    return ModelView(
        kind=str(document.get("kind", "")),
        formula=str(document.get("formula", "")),
        terms=terms,
        checks=checks,
        fit_warnings=[str(warning) for warning in document.get("fit_warnings", [])],
    )


@dataclass(frozen=True)
class DecisionRecordView:
    table: str
    kind: str
    measure: str
    summary: dict[str, int]
    suppression: dict[str, str]
    policy: str
    cells: list[dict[str, str]]  # row, column, status, rules, count, value, interval


def read_decision_record(path: Path, table: str) -> DecisionRecordView | None:
    """A decision record for reading (None if it is not one)."""
    document = _read_json(path)
    if document is None or document.get("format") != _RECORD_FORMAT:
        return None
    cells = []
    for cell in document.get("cells", []):
        if not isinstance(cell, dict):
            continue
        interval = cell.get("interval", cell.get("sum_interval"))
        cells.append(
            {
                "row": str(cell.get("row", "")),
                "column": str(cell.get("column", "")),
                "status": str(cell.get("status", "")),
                "rules": ", ".join(str(rule) for rule in cell.get("rules", [])),
                "count": _number(cell.get("count")),
                "value": _number(cell.get("value")),
                "interval": (
                    f"[{_number(interval[0])}, {_number(interval[1])}]"
                    if isinstance(interval, list) and len(interval) == 2
                    else ""
                ),
            }
        )
    suppression = document.get("suppression")
    summary = document.get("summary")
    return DecisionRecordView(
        table=table,
        kind=str(document.get("kind", "")),
        measure=str(document.get("measure", "")),
        summary={str(key): int(value) for key, value in summary.items()}
        if isinstance(summary, dict)
        else {},
        suppression={
            str(key): str(value)
            for key, value in suppression.items()
            if not isinstance(value, dict | list)
        }
        if isinstance(suppression, dict)
        else {},
        policy=json.dumps(document.get("policy", {}), indent=1, sort_keys=True),
        cells=cells,
    )
