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
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sdc
from tre_export.canonical import canonical_json, sha256_bytes
from tre_export.errors import RequestError
from tre_export.model import CheckOutcome, Output, OutputKind
from trelink.errors import TrelinkError
from trelink.spreadsheet import describe_formula_cells, formula_cells

__all__ = [
    "CHECKS_VERSION",
    "OutputCheck",
    "RequestChecks",
    "load_checks",
    "opens_in_a_spreadsheet",
    "parses_as_table",
    "run_checks",
]

CHECKS_VERSION = 1
_SPREADSHEET_SUFFIXES = (".csv", ".tsv")
_TABLE_SAMPLE = 1 << 20
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?")


@dataclass(frozen=True)
class OutputCheck:
    """The automated verdict on one output, with the evidence a checker reads."""

    outcome: CheckOutcome
    reasons: list[str] = field(default_factory=list)
    flagged_cells: list[tuple[str, str]] = field(default_factory=list)  # (row, column)


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
            "outputs": {
                name: {
                    "outcome": check.outcome.value,
                    "reasons": check.reasons,
                    "flagged_cells": [list(cell) for cell in check.flagged_cells],
                }
                for name, check in self.outputs.items()
            },
        }
        return canonical_json(document) + b"\n"


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
        outputs = {
            name: OutputCheck(
                outcome=CheckOutcome(entry["outcome"]),
                reasons=[str(reason) for reason in entry["reasons"]],
                flagged_cells=[(str(row), str(column)) for row, column in entry["flagged_cells"]],
            )
            for name, entry in document["outputs"].items()
        }
        return RequestChecks(
            policy=str(document["policy"]),
            outputs=outputs,
            audit_passed=document["audit"]["passed"],
            audit_failures=[str(failure) for failure in document["audit"]["failures"]],
        )
    except (OSError, ValueError, KeyError, TypeError):
        raise RequestError(f"{path}: the stored check results are damaged") from None


def _check_table(path: Path, policy: Any) -> OutputCheck:
    try:
        result = sdc.check_table_file(path, policy=policy)
    except TrelinkError as error:
        return OutputCheck(CheckOutcome.FAIL, [f"the table could not be checked: {error}"])
    return OutputCheck(
        CheckOutcome.PASS if result.safe else CheckOutcome.FAIL,
        list(result.reasons),
        [(str(row), str(column)) for row, column in result.flagged_cells],
    )


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
    return OutputCheck(outcome, [*check.reasons, *reasons], check.flagged_cells)


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
    tables: list[tuple[Output, Path]] = []
    for output, path in files:
        if output.kind is OutputKind.TABLE:
            verdicts[output.name] = _check_table(path, policy)
            tables.append((output, path))
        elif output.kind is OutputKind.TEXT and parses_as_table(path):
            # The kind is the researcher's word; a table is checked as a table whatever
            # it was added as.
            note = "added as text, but the file parses as a table, so it is checked as one"
            verdicts[output.name] = _with_reasons(_check_table(path, policy), [note], fail=False)
            tables.append((output, path))
        elif output.kind is OutputKind.MODEL:
            verdicts[output.name] = _check_model(path, policy)
        else:
            verdicts[output.name] = OutputCheck(CheckOutcome.MANUAL, [_MANUAL[output.kind]])
        # Tables are scanned by sdc's table check; other files a spreadsheet opens here.
        if opens_in_a_spreadsheet(output, path) and (output, path) not in tables:
            verdicts[output.name] = _with_reasons(
                verdicts[output.name], _formula_reasons(path), fail=True
            )
    audit_passed: bool | None = None
    failures: list[str] = []
    if tables:
        audit_passed, failures, unsafe = _audit(tables, policy, earlier)
        for output, _ in tables:
            verdicts[output.name] = _with_audit(
                verdicts[output.name], output.name, unsafe, failures
            )
    return RequestChecks(
        policy=str(policy_path.name if policy_path else "sdc default policy"),
        outputs=verdicts,
        audit_passed=audit_passed,
        audit_failures=failures,
    )


def _audit(
    tables: list[tuple[Output, Path]], policy: Any, earlier: list[Path]
) -> tuple[bool, list[str], dict[str | None, list[tuple[str, str]]]]:
    """Audit the tables together; return the verdict, the failures, and the unsafe cells
    by file name (``None`` for cells of earlier releases, which implicate every table)."""
    try:
        report = sdc.audit_outputs([path for _, path in tables], policy=policy, earlier=earlier)
    except TrelinkError as error:
        return False, [f"the tables could not be audited together: {error}"], {None: []}
    unsafe: dict[str | None, list[tuple[str, str]]] = {}
    for cell in report.cells:
        if not cell.safe:
            owner = None if cell.earlier else Path(cell.file).name
            unsafe.setdefault(owner, []).append((str(cell.row), str(cell.column)))
    return bool(report.passed), [str(failure) for failure in report.failures], unsafe


def _with_audit(
    check: OutputCheck,
    name: str,
    unsafe: dict[str | None, list[tuple[str, str]]],
    failures: list[str],
) -> OutputCheck:
    """Fail a table whose cells the request-wide audit can narrow (and every table when a
    cell of an earlier release is narrowed); its narrowed cells join the flagged ones."""
    if name not in unsafe and None not in unsafe:
        return check
    mine = [failure for failure in failures if failure.startswith(f"{name}:")] or failures
    flagged = [*check.flagged_cells]
    flagged.extend(cell for cell in unsafe.get(name, []) if cell not in flagged)
    return OutputCheck(
        CheckOutcome.FAIL,
        [
            *check.reasons,
            *(f"request-wide audit: {failure}" for failure in mine if failure not in check.reasons),
        ],
        flagged,
    )
