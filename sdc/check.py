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
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sdc.audit import AuditReport, audit_tables
from sdc.errors import TableInputError
from sdc.policy import Policy
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
    flagged: dict[tuple[str, str], list[Rule]] = {}
    reasons: list[str] = []

    def flag(index: int, rule: Rule) -> None:
        flagged.setdefault(table.label(index), []).append(rule)

    published = table.published
    known = np.isfinite(published)
    if table.kind is TableKind.FREQUENCY:
        counts = published
        for index in np.flatnonzero(known & (counts > 0) & (counts < policy.threshold)):
            flag(int(index), Rule.THRESHOLD)
        if policy.zeros_disclosive:
            for index in np.flatnonzero(known & (counts == 0)):
                flag(int(index), Rule.ZEROS)
    else:
        _check_magnitude_record(table, policy, flag, reasons)
    if policy.class_disclosure and table.kind is TableKind.FREQUENCY:
        for disclosed in _class_disclosed(table):
            flag(disclosed, Rule.CLASS_DISCLOSURE)
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


def _class_disclosed(table: TableFile) -> list[int]:
    """Published parts equal to their published, non-empty total."""
    matrix = table.grid.constraints
    values = table.published
    found: list[int] = []
    for equation in range(matrix.shape[0]):
        members = matrix.indices[matrix.indptr[equation] : matrix.indptr[equation + 1]]
        signs = matrix.data[matrix.indptr[equation] : matrix.indptr[equation + 1]]
        total = values[members[signs > 0][0]]
        parts = members[signs < 0]
        if parts.size >= 2 and np.isfinite(total) and total > 0:
            found.extend(int(part) for part in parts if values[part] == total)
    return sorted(set(found))


def _check_magnitude_record(
    table: TableFile, policy: Policy, flag: Callable[[int, Rule], None], reasons: list[str]
) -> None:
    record = table.record
    assert record is not None  # magnitude kinds are only known from a record
    by_label = {(cell["row"], cell["column"]): cell for cell in record.get("cells", [])}
    mismatched = 0
    needed = policy.threshold
    if table.kind in ORDER_STATISTICS and table.kind.value in policy.unsafe_statistics.statistics:
        needed = policy.statistic_min_contributors
    for index in np.flatnonzero(np.isfinite(table.published)):
        cell = by_label.get(table.label(int(index)))
        if cell is None:
            mismatched += 1
            continue
        shown = table.published[index]
        value = cell.get("value")
        digits = 4 if table.kind is TableKind.MEAN else 6
        if value is None or round(float(value), digits) != round(float(shown), digits):
            mismatched += 1
        count = int(cell.get("count", 0))
        if 0 < count < needed:
            flag(int(index), Rule.THRESHOLD)
        if count == 0 and policy.zeros_disclosive:
            flag(int(index), Rule.ZEROS)
        share = cell.get("dominance_share")
        if policy.dominance is not None and share is not None and share > policy.dominance.k / 100:
            flag(int(index), Rule.DOMINANCE)
        margin = cell.get("p_percent_margin")
        if policy.p_percent is not None and margin is not None and margin < policy.p_percent / 100:
            flag(int(index), Rule.P_PERCENT)
    if mismatched:
        reasons.append(
            f"{mismatched} published cell(s) differ from the decision record beside the file; "
            "re-run `trelink sdc protect` rather than editing its output"
        )
