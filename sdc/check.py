"""Check one table file as it would be released: ``trelink sdc check``.

What is verifiable from the file alone is re-verified: every published count against
the threshold, zeros and class disclosure; every suppressed cell's range (the audit of
the table on its own); margins present and consistent. For sums and means the
contributor numbers come from the decision record beside the file, whose values must
match the file. A file holding text a spreadsheet would run as a formula (a label
starting with ``=``, ``+``, ``-`` or ``@``, not escaped as ``trelink sdc protect``
escapes it) is not safe to release either.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sdc.audit import AuditReport, audit_tables
from sdc.errors import TableInputError
from sdc.policy import Policy
from sdc.rules import (
    CellFacts,
    below_threshold,
    dominated,
    primary_rules,
    too_close_to_estimate,
)
from sdc.status import ORDER_STATISTICS, Rule, TableKind
from sdc.tablefile import TableFile, read_table_file
from trelink.spreadsheet import describe_formula_cells, formula_cells

__all__ = ["TableCheck", "check_table", "check_table_file"]


@dataclass(frozen=True)
class TableCheck:
    """The verdict on one table file."""

    path: Path
    safe: bool
    reasons: list[str]
    flagged_cells: list[tuple[str, str]]  # (row label, column header) as in the CSV
    kind: TableKind
    suppressed_cells: int
    audit: AuditReport
    rules: dict[tuple[str, str], list[Rule]] = field(default_factory=dict)


def check_table_file(path: str | os.PathLike[str], *, policy: Policy) -> TableCheck:
    """Check a wide table CSV written by ``trelink sdc protect`` (or a crosstab with
    ``Total`` margins). Raises ``TableInputError`` for unusable files."""
    checked = check_table(read_table_file(path), policy=policy)
    try:
        formulas = formula_cells(path)
    except csv.Error:
        raise TableInputError(
            f"{path}: cannot be read as CSV to look for spreadsheet formulas"
        ) from None
    if not formulas:
        return checked
    return replace(
        checked, safe=False, reasons=[*checked.reasons, describe_formula_cells(formulas)]
    )


def check_table(table: TableFile, *, policy: Policy) -> TableCheck:
    """Decide with the rules that protected the table (``sdc.rules``), on what the file
    publishes (and, for sums and means, the contributor facts its record holds)."""
    flagged: dict[tuple[str, str], list[Rule]] = {}
    reasons: list[str] = []
    published = table.published
    known = np.isfinite(published)
    if table.kind is TableKind.FREQUENCY:
        counts = np.where(known, published, np.nan)  # a suppressed cell breaks no rule
        broken = primary_rules(
            CellFacts(counts=counts, values=counts), table.kind, policy, table.grid.constraints
        )
        # Reported rule by rule: every threshold cell, then zeros, then class disclosure.
        for rule in (Rule.THRESHOLD, Rule.ZEROS, Rule.CLASS_DISCLOSURE):
            for index, rules in enumerate(broken):
                if rule in rules:
                    flagged.setdefault(table.label(index), []).append(rule)
    else:
        _check_magnitude_record(table, policy, flagged, reasons)
    audit = audit_tables([table], policy=policy)
    for (row, column), rules in flagged.items():
        names = ", ".join(rule.value for rule in rules)
        reasons.append(f"cell ({row}, {column}) is published but breaks: {names}")
    reasons.extend(audit.failures)
    cells = list(flagged)
    cells.extend((cell.row, cell.column) for cell in audit.cells if not cell.safe)
    return TableCheck(
        path=table.path,
        safe=not reasons,
        reasons=reasons,
        flagged_cells=list(dict.fromkeys(cells)),
        kind=table.kind,
        suppressed_cells=int((~known).sum()),
        audit=audit,
        rules=flagged,
    )


def _number(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _check_magnitude_record(
    table: TableFile,
    policy: Policy,
    flagged: dict[tuple[str, str], list[Rule]],
    reasons: list[str],
) -> None:
    """Flag published sums and means by the contributor facts in their decision record
    (counts, dominance shares, p% margins: the file alone cannot show them)."""
    record = table.record
    assert record is not None  # magnitude kinds are only known from a record
    by_label = {(cell["row"], cell["column"]): cell for cell in record.get("cells", [])}
    needed = policy.threshold
    if table.kind in ORDER_STATISTICS and table.kind.value in policy.unsafe_statistics.statistics:
        needed = policy.statistic_min_contributors
    digits = 4 if table.kind is TableKind.MEAN else 6
    mismatched = 0
    indices: list[int] = []
    facts: list[tuple[int, float, float]] = []  # count, dominance share, p% margin
    for index in np.flatnonzero(np.isfinite(table.published)):
        cell = by_label.get(table.label(int(index)))
        if cell is None:
            mismatched += 1
            continue
        value = cell.get("value")
        if value is None or round(float(value), digits) != round(
            float(table.published[index]), digits
        ):
            mismatched += 1
        indices.append(int(index))
        share, margin = cell.get("dominance_share"), cell.get("p_percent_margin")
        facts.append((int(cell.get("count", 0)), _number(share), _number(margin)))
    if facts:
        counts, shares, margins = (np.array(column) for column in zip(*facts, strict=True))
        masks = [
            (Rule.THRESHOLD, below_threshold(counts, needed)),
            (Rule.ZEROS, (counts == 0) & policy.zeros_disclosive),
            (Rule.DOMINANCE, dominated(shares, policy)),
            (Rule.P_PERCENT, too_close_to_estimate(margins, policy)),
        ]
        # Reported cell by cell, each cell's rules in this order.
        for position, cell_index in enumerate(indices):
            for rule, mask in masks:
                if mask[position]:
                    flagged.setdefault(table.label(cell_index), []).append(rule)
    if mismatched:
        reasons.append(
            f"{mismatched} published cell(s) differ from the decision record beside the file; "
            "re-run `trelink sdc protect` rather than editing its output"
        )
