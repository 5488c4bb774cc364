"""Automated checks on the stored output files, run once when a request is submitted.

Tables go through ``sdc.check_table_file`` one by one and then through
``sdc.audit_outputs`` together with the request's other tables and every table the
project released before, so a suppressed cell that can be recovered by differencing
two outputs is caught. Models are re-checked by ``sdc.check_model_file`` when the file
carries the metadata the check needs; anything else (figures, text, a model without
metadata) is marked for a checker's judgement, never passed silently.

Two checks cannot be sidestepped by the kind a researcher chooses: an output added as
text whose file parses as a table (delimited rows of one width with numbers in them) is
checked and audited as a table; and every table, and every file named ``.csv`` or
``.tsv``, fails if a cell holds text a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-`` or ``@``, not escaped with ``'``; see ``trelink.spreadsheet``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sdc
from tre_export.errors import RequestError
from tre_export.model import CheckOutcome, Output, OutputKind
from tre_export.table_view import read_layout
from trelink.errors import TrelinkError
from trelink.spreadsheet import describe_formula_cells, formula_cells
from trelink.trust.canonical import canonical_json
from trelink.trust.hashing import sha256_bytes

__all__ = [
    "CHECKS_VERSION",
    "OutputCheck",
    "RequestChecks",
    "load_checks",
    "opens_in_a_spreadsheet",
    "parses_as_table",
    "run_checks",
]

CHECKS_VERSION = 2  # 2 added each flagged cell's rules, intervals and per-table differencing
_SPREADSHEET_SUFFIXES = (".csv", ".tsv")
_TABLE_SAMPLE = 1 << 20
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?")


Cell = tuple[str, str]  # (row, column) as the checks name it (see ``table_view``)
Interval = tuple[float | None, float | None]  # None: unbounded

RULE_OWN_AUDIT = "range too narrow (the table's own audit)"
RULE_DIFFERENCING = "differencing (request-wide audit)"
RULE_LAYOUT = "checked cell by cell: {rule}"


@dataclass(frozen=True)
class OutputCheck:
    """The automated verdict on one output, with the evidence a checker reads."""

    outcome: CheckOutcome
    reasons: list[str] = field(default_factory=list)
    flagged_cells: list[Cell] = field(default_factory=list)
    cell_rules: dict[Cell, list[str]] = field(default_factory=dict)  # why each was flagged
    # The request-wide differencing audit for this table: None when it was not audited
    # (not a table, or a layout the audit cannot read), else passed, with its failures.
    differencing: bool | None = None
    differencing_failures: list[str] = field(default_factory=list)
    # Each suppressed cell's range as an attacker derives it: from this table alone, and
    # from the request-wide audit (which reports a cell two tables share under one).
    own_intervals: dict[Cell, Interval] = field(default_factory=dict)
    intervals: dict[Cell, Interval] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestChecks:
    """Every output's verdict and the request-wide differencing audit."""

    policy: str
    outputs: dict[str, OutputCheck]
    audit_passed: bool | None  # None: the request holds no tables
    audit_failures: list[str] = field(default_factory=list)

    def to_json(self) -> bytes:
        document: dict[str, Any] = {
            "version": CHECKS_VERSION,
            "policy": self.policy,
            "audit": {"passed": self.audit_passed, "failures": self.audit_failures},
            "outputs": {name: _output_json(check) for name, check in self.outputs.items()},
        }
        return canonical_json(document) + b"\n"


def _output_json(check: OutputCheck) -> dict[str, Any]:
    return {
        "outcome": check.outcome.value,
        "reasons": check.reasons,
        "flagged_cells": [list(cell) for cell in check.flagged_cells],
        "cell_rules": [[*cell, rules] for cell, rules in check.cell_rules.items()],
        "differencing": {"passed": check.differencing, "failures": check.differencing_failures},
        "intervals": [[*cell, *interval] for cell, interval in check.intervals.items()],
        "own_intervals": [[*cell, *interval] for cell, interval in check.own_intervals.items()],
    }


def _output_from_json(entry: dict[str, Any]) -> OutputCheck:
    # Version 1 files (written before cell rules and intervals) read with those empty.
    differencing = entry.get("differencing", {"passed": None, "failures": []})
    return OutputCheck(
        outcome=CheckOutcome(entry["outcome"]),
        reasons=[str(reason) for reason in entry["reasons"]],
        flagged_cells=[(str(row), str(column)) for row, column in entry["flagged_cells"]],
        cell_rules={
            (str(row), str(column)): [str(rule) for rule in rules]
            for row, column, rules in entry.get("cell_rules", [])
        },
        differencing=None if differencing["passed"] is None else bool(differencing["passed"]),
        differencing_failures=[str(failure) for failure in differencing["failures"]],
        intervals=_intervals(entry.get("intervals", [])),
        own_intervals=_intervals(entry.get("own_intervals", [])),
    )


def _intervals(entries: list[Any]) -> dict[Cell, Interval]:
    return {
        (str(row), str(column)): (_bound(lower), _bound(upper))
        for row, column, lower, upper in entries
    }


def _bound(value: Any) -> float | None:
    return None if value is None else float(value)


def load_checks(path: str | os.PathLike[str], *, expected_sha256: str) -> RequestChecks:
    """Read a ``checks.json`` written at submit, refusing one whose bytes differ from the
    digest the submit entry recorded (so the evidence a checker sees is what was run)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        raise RequestError(f"{path}: the stored check results are missing") from None
    if sha256_bytes(data) != expected_sha256:
        raise RequestError(
            f"{path}: the stored check results were changed after submit; do not rely on them"
        )
    try:
        document = json.loads(data)
        outputs = {name: _output_from_json(entry) for name, entry in document["outputs"].items()}
        return RequestChecks(
            policy=str(document["policy"]),
            outputs=outputs,
            audit_passed=document["audit"]["passed"],
            audit_failures=[str(failure) for failure in document["audit"]["failures"]],
        )
    except (OSError, ValueError, KeyError, TypeError):
        raise RequestError(f"{path}: the stored check results are damaged") from None


def _check_table(path: Path, policy: Any) -> tuple[OutputCheck, bool]:
    """The table's own check, and whether sdc could read it (and so audit it with the
    request's other tables)."""
    try:
        result = sdc.check_table_file(path, policy=policy)
    except TrelinkError as error:
        return _check_cells(
            path, policy, f"the table could not be checked as a whole: {error}"
        ), False
    flagged = [(str(row), str(column)) for row, column in result.flagged_cells]
    rules = {
        (str(row), str(column)): [rule.value for rule in found]
        for (row, column), found in result.rules.items()
    }
    for cell in flagged:
        rules.setdefault(cell, [RULE_OWN_AUDIT])
    # The table's own audit gives every suppressed cell a range; the request-wide audit
    # narrows it where tables share cells (and reports a shared cell under one table).
    intervals = {
        (str(cell.row), str(cell.column)): (_finite(cell.lower), _finite(cell.upper))
        for cell in result.audit.cells
        if not cell.earlier
    }
    return (
        OutputCheck(
            CheckOutcome.PASS if result.safe else CheckOutcome.FAIL,
            list(result.reasons),
            flagged,
            rules,
            own_intervals=intervals,
        ),
        True,
    )


def _check_cells(path: Path, policy: Any, problem: str) -> OutputCheck:
    """What can be checked of a table sdc cannot read whole (a crosstab without margins,
    or with several column variables): each published count against the threshold and
    zeros rules. Suppressed cells and differencing cannot be audited without every
    margin, so the table fails whatever the cells show; its small cells are flagged."""
    layout = read_layout(path)
    reasons = [problem]
    if layout is None:
        return OutputCheck(CheckOutcome.FAIL, reasons)
    numbers = [
        [float(text) if _NUMBER.fullmatch(text.strip()) else None for text in row]
        for row in layout.values
    ]
    if not all(value is None or value.is_integer() for row in numbers for value in row):
        reasons.append("its values are not all whole numbers, so they were not checked as counts")
        return OutputCheck(CheckOutcome.FAIL, reasons)
    rules: dict[Cell, list[str]] = {}
    for row_name, row in zip(layout.row_names, numbers, strict=True):
        for column, value in zip(layout.column_names, row, strict=False):
            found = []
            if value is not None and 0 < value < policy.threshold:
                found.append(RULE_LAYOUT.format(rule="threshold"))
            if value == 0 and policy.zeros_disclosive:
                found.append(RULE_LAYOUT.format(rule="zeros"))
            if found:
                rules[(row_name, column)] = found
    reasons.extend(
        f"cell ({row}, {column}) is published but breaks: {', '.join(found)}"
        for (row, column), found in rules.items()
    )
    reasons.append(
        "without every margin, suppressed cells and differencing with the request's other "
        "tables cannot be audited: a checker must judge them"
    )
    return OutputCheck(CheckOutcome.FAIL, reasons, list(rules), rules)


def _check_model(path: Path, policy: Any) -> OutputCheck:
    try:
        result = sdc.check_model_file(path, policy=policy)
    except TrelinkError as error:
        return OutputCheck(
            CheckOutcome.MANUAL,
            [f"no automated model check applies ({error}); judge the model by hand"],
        )
    return OutputCheck(
        CheckOutcome.PASS if result.safe else CheckOutcome.FAIL, list(result.reasons)
    )


def parses_as_table(path: Path) -> bool:
    """Whether a file reads as a table: UTF-8 text of at least two delimited rows of one
    width (two columns or more) with a number in a row below the header."""
    try:
        data = path.read_bytes()[:_TABLE_SAMPLE]
    except OSError:
        return False
    truncated = len(data) == _TABLE_SAMPLE
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if not truncated:
            return False
        text = data.decode("utf-8", errors="ignore")
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|")
    except csv.Error:
        return False
    previous_limit = csv.field_size_limit(_TABLE_SAMPLE)
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), dialect) if row]
    except csv.Error:
        return False
    finally:
        csv.field_size_limit(previous_limit)
    if truncated:
        rows = rows[:-1]  # the sample may end inside its last row
    if len(rows) < 2 or len(rows[0]) < 2 or any(len(row) != len(rows[0]) for row in rows):
        return False
    return any(_NUMBER.fullmatch(cell.strip()) for row in rows[1:] for cell in row)


def opens_in_a_spreadsheet(output: Output, path: Path) -> bool:
    """Tables and files a spreadsheet opens by their name."""
    return output.kind is OutputKind.TABLE or path.name.lower().endswith(_SPREADSHEET_SUFFIXES)


def _formula_reasons(path: Path) -> list[str]:
    """Reasons to fail a file holding cells a spreadsheet would run as formulas."""
    try:
        cells = formula_cells(path)
    except (OSError, csv.Error):
        return ["the file could not be read as CSV to look for spreadsheet formulas"]
    return [f"{describe_formula_cells(cells)}, and add the file again"] if cells else []


def _with_reasons(check: OutputCheck, reasons: list[str], *, fail: bool) -> OutputCheck:
    if not reasons:
        return check
    outcome = CheckOutcome.FAIL if fail else check.outcome
    return replace(check, outcome=outcome, reasons=[*check.reasons, *reasons])


_MANUAL = {
    OutputKind.FIGURE: "figures are not checked automatically; compare every plotted "
    "value against the policy by hand",
    OutputKind.TEXT: "text is not checked automatically; read it for numbers and "
    "descriptions of small groups",
}


def run_checks(
    files: list[tuple[Output, Path]],
    *,
    policy_path: Path | None,
    earlier: list[Path],
) -> RequestChecks:
    """Check each stored file and audit the request's tables together with ``earlier``."""
    policy = sdc.load_policy(policy_path)  # loaded even for figures: a bad policy is an error
    verdicts: dict[str, OutputCheck] = {}
    tables: list[tuple[Output, Path]] = []  # audited together
    checked_as_tables: list[tuple[Output, Path]] = []
    for output, path in files:
        if output.kind is OutputKind.TABLE or (
            output.kind is OutputKind.TEXT and parses_as_table(path)
        ):
            # The kind is the researcher's word; a table is checked as a table whatever
            # it was added as.
            verdict, readable = _check_table(path, policy)
            if output.kind is OutputKind.TEXT:
                note = "added as text, but the file parses as a table, so it is checked as one"
                verdict = _with_reasons(verdict, [note], fail=False)
            verdicts[output.name] = verdict
            checked_as_tables.append((output, path))
            if readable:
                tables.append((output, path))
        elif output.kind is OutputKind.MODEL:
            verdicts[output.name] = _check_model(path, policy)
        else:
            verdicts[output.name] = OutputCheck(CheckOutcome.MANUAL, [_MANUAL[output.kind]])
        # Tables are scanned by sdc's table check; other files a spreadsheet opens here.
        if opens_in_a_spreadsheet(output, path) and (output, path) not in checked_as_tables:
            verdicts[output.name] = _with_reasons(
                verdicts[output.name], _formula_reasons(path), fail=True
            )
    audit_passed: bool | None = None
    failures: list[str] = []
    if tables:
        audit_passed, failures, unsafe, intervals = _audit(tables, policy, earlier)
        for output, _ in tables:
            verdicts[output.name] = _with_audit(
                verdicts[output.name], output.name, unsafe, failures, intervals
            )
    return RequestChecks(
        policy=str(policy_path.name if policy_path else "sdc default policy"),
        outputs=verdicts,
        audit_passed=audit_passed,
        audit_failures=failures,
    )


def _audit(
    tables: list[tuple[Output, Path]], policy: Any, earlier: list[Path]
) -> tuple[bool, list[str], dict[str | None, list[Cell]], dict[str, dict[Cell, Interval]]]:
    """Audit the tables together; return the verdict, the failures, the unsafe cells by
    file name (``None`` for cells of earlier releases, which implicate every table), and
    the range an attacker can derive for each suppressed cell, by file name."""
    try:
        report = sdc.audit_outputs([path for _, path in tables], policy=policy, earlier=earlier)
    except TrelinkError as error:
        return False, [f"the tables could not be audited together: {error}"], {None: []}, {}
    unsafe: dict[str | None, list[Cell]] = {}
    intervals: dict[str, dict[Cell, Interval]] = {}
    for cell in report.cells:
        name = (str(cell.row), str(cell.column))
        if not cell.earlier:
            intervals.setdefault(Path(cell.file).name, {})[name] = (
                _finite(cell.lower),
                _finite(cell.upper),
            )
        if not cell.safe:
            owner = None if cell.earlier else Path(cell.file).name
            unsafe.setdefault(owner, []).append(name)
    failures = [str(failure) for failure in report.failures]
    return bool(report.passed), failures, unsafe, intervals


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _with_audit(
    check: OutputCheck,
    name: str,
    unsafe: dict[str | None, list[Cell]],
    failures: list[str],
    intervals: dict[str, dict[Cell, Interval]],
) -> OutputCheck:
    """Record the request-wide audit on one table: its suppressed cells' ranges, and
    whether it passed. A table whose cells the audit can narrow fails (and every table
    when a cell of an earlier release is narrowed); its narrowed cells join the flagged
    ones."""
    audited = replace(check, intervals=intervals.get(name, {}), differencing=True)
    if name not in unsafe and None not in unsafe:
        return audited
    mine = [failure for failure in failures if failure.startswith(f"{name}:")] or failures
    flagged = [*check.flagged_cells]
    rules = {cell: list(found) for cell, found in check.cell_rules.items()}
    for cell in unsafe.get(name, []):
        if cell not in flagged:
            flagged.append(cell)
        if RULE_DIFFERENCING not in rules.setdefault(cell, []):
            rules[cell].append(RULE_DIFFERENCING)
    return replace(
        audited,
        outcome=CheckOutcome.FAIL,
        reasons=[
            *check.reasons,
            *(f"request-wide audit: {failure}" for failure in mine if failure not in check.reasons),
        ],
        flagged_cells=flagged,
        cell_rules=rules,
        differencing=False,
        differencing_failures=mine,
    )
