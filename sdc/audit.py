"""The joint audit: for every suppressed cell of a set of outputs, the interval an
attacker can derive from everything published together.

All tables of a request (and, with ``earlier``, tables released before) go into one
constraint system. Cells of different tables are the same unknown when they have the
same measure (``count``, ``sum:VAR``) and the same coordinates (variable = category over
their non-total parts), so a cell hidden in one table but published, or derivable, in
another is caught. Every cell is also tied to the atoms of the tables' common
refinement (:mod:`sdc.refinement`: the finest cross-classification by every variable of
the tables, each atom at least zero; along a join tree, the equivalent balances
between tables on the variables they share), so a table whose cells are sums of another
table's cells over a variable it lacks (region x age beside region x sex x age), or
tables that are margins of one unpublished table, are seen for what they are. Tables
whose shared cells disagree count different populations and are audited apart.
Attacker knowledge: published values (or, for rounded counts, the range each rounded
value allows), every additive equation, non-negativity, and "at least one" for hidden
counts when the policy publishes zeros. The audit fails a cell
whose range is exact or narrower than the policy's protection width. A table of means
enters as the sums it implies (mean x count, from its decision record), since a reader
who knows the counts can form them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from sdc.intervals import TOLERANCE, AttackerLp
from sdc.policy import Policy, RoundingMethod
from sdc.progress import progress_bar
from sdc.refinement import common_refinement
from sdc.rounding import rounding_bounds
from sdc.status import TableKind
from sdc.tablefile import TableFile, as_sums, read_table_file

__all__ = ["AuditReport", "AuditedCell", "audit_outputs", "audit_tables"]

LINEAR_KINDS = frozenset({TableKind.FREQUENCY, TableKind.SUM})


@dataclass(frozen=True)
class AuditedCell:
    """One suppressed cell and the range an attacker can derive for it."""

    file: str
    row: str
    column: str
    lower: float
    upper: float
    required: float
    earlier: bool = False  # the cell belongs to an earlier release

    @property
    def width(self) -> float:
        return self.upper - self.lower

    @property
    def safe(self) -> bool:
        return self.width > TOLERANCE and self.width + TOLERANCE >= self.required


@dataclass(frozen=True)
class AuditReport:
    passed: bool
    cells: list[AuditedCell]
    failures: list[str]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "failures": self.failures,
            "notes": self.notes,
            "cells": [
                {
                    "file": cell.file,
                    "row": cell.row,
                    "column": cell.column,
                    "interval": [_finite(cell.lower), _finite(cell.upper)],
                    "required_width": cell.required,
                    "safe": cell.safe,
                    "earlier_release": cell.earlier,
                }
                for cell in self.cells
            ],
        }


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def audit_outputs(
    paths: Iterable[str | os.PathLike[str]],
    *,
    policy: Policy,
    earlier: Iterable[str | os.PathLike[str]] = (),
    show_progress: bool = False,
) -> AuditReport:
    """Audit table files together (``earlier``: tables already released)."""
    current = [read_table_file(path) for path in paths]
    released = [read_table_file(path) for path in earlier]
    return audit_tables(current, policy=policy, earlier=released, show_progress=show_progress)


def audit_tables(
    tables: Sequence[TableFile],
    *,
    policy: Policy,
    earlier: Sequence[TableFile] = (),
    show_progress: bool = False,
) -> AuditReport:
    # Means enter the system as the sums they imply (value x count, same pattern).
    everything = [as_sums(table) for table in (*tables, *earlier)]
    earlier_ids = set(map(id, everything[len(tables) :]))
    notes: list[str] = []
    linear = [table for table in everything if table.kind in LINEAR_KINDS]
    for table in everything:
        if table.kind is TableKind.MEAN:
            notes.append(
                f"{table.path.name}: a table of means without its decision record cannot "
                "be audited (its cells are not linear)"
            )
        elif table.kind not in LINEAR_KINDS:
            notes.append(
                f"{table.path.name}: {table.kind.value} cells are not linear; they are "
                "checked for contributors by `sdc check`, not by the audit"
            )
    cells: list[AuditedCell] = []
    for group in _populations(linear, policy, notes):
        cells.extend(_audit_group(group, earlier_ids, policy, show_progress))
    failures = [
        f"{cell.file}: cell ({cell.row}, {cell.column}) can be narrowed to "
        f"[{cell.lower:g}, {cell.upper:g}] (width {cell.width:g}, needs {cell.required:g})"
        + (" by combining with earlier releases" if cell.earlier else "")
        for cell in cells
        if not cell.safe
    ]
    return AuditReport(not failures, cells, failures, notes)


def _populations(
    tables: list[TableFile], policy: Policy, notes: list[str]
) -> list[list[TableFile]]:
    """Group tables that describe the same people (shared cells, no contradictions)."""
    keys = [table.grid.cell_keys(table.measure) for table in tables]
    published = [
        {
            key: value
            for key, value in zip(key_list, table.published, strict=True)
            if np.isfinite(value)
        }
        for key_list, table in zip(keys, tables, strict=True)
    ]
    linked = sp.lil_matrix((len(tables), len(tables)))
    for first in range(len(tables)):
        for second in range(first + 1, len(tables)):
            shared = set(keys[first]) & set(keys[second])
            if not shared:
                continue
            conflict = any(
                key in published[first]
                and key in published[second]
                and abs(published[first][key] - published[second][key])
                > _slack(tables, first, second, policy)
                for key in shared
            )
            if conflict:
                notes.append(
                    f"{tables[first].path.name} and {tables[second].path.name} disagree on "
                    "shared cells, so they count different populations; audited apart"
                )
            else:
                linked[first, second] = 1
    count, labels = connected_components(linked.tocsr(), directed=False)
    return [
        [table for table, label in zip(tables, labels, strict=True) if label == group]
        for group in range(count)
    ]


def _slack(tables: list[TableFile], first: int, second: int, policy: Policy) -> float:
    bases = [_rounding(tables[i], policy)[0] for i in (first, second)]
    return float(sum(base or 0 for base in bases)) + TOLERANCE


def _rounding(table: TableFile, policy: Policy) -> tuple[int | None, RoundingMethod]:
    """The rounding a reader can assume: the record's; without a record, the policy's
    when every published count is a multiple of its base (else none)."""
    if table.record is not None:
        rounding = table.record.get("rounding")
        if rounding:
            return int(rounding["base"]), RoundingMethod(rounding["method"])
        return None, RoundingMethod.NEAREST
    if policy.rounding is not None and table.kind is TableKind.FREQUENCY:
        shown = table.published[np.isfinite(table.published)]
        if shown.size and not np.any(shown % policy.rounding.base):
            return policy.rounding.base, policy.rounding.method
    return None, RoundingMethod.NEAREST


def _audit_group(
    group: list[TableFile], earlier_ids: set[int], policy: Policy, show_progress: bool
) -> list[AuditedCell]:
    index: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    mappings = []
    keys = [table.grid.cell_keys(table.measure) for table in group]
    for table_keys in keys:
        mappings.append(np.array([index.setdefault(key, len(index)) for key in table_keys]))
    # Every cell, published or hidden, is a sum of the atoms of the tables' common
    # refinement; atoms no table shows are hidden unknowns of their own.
    refinement = common_refinement(keys)
    shown_cells = len(index)
    for atom in refinement.atoms:
        index.setdefault(atom, len(index))
    size = len(index)
    lower = np.full(size, -np.inf)
    if all(_hidden_floor(table, policy) >= 0 for table in group):
        lower[shown_cells:] = 0.0  # atoms of counts (or of non-negative sums)
    upper = np.full(size, np.inf)
    required = np.zeros(size)
    where: dict[int, tuple[TableFile, int]] = {}
    blocks = []
    for table, mapping in zip(group, mappings, strict=True):
        matrix = table.grid.constraints.tocoo()
        blocks.append(
            sp.csr_matrix(
                (matrix.data, (matrix.row, mapping[matrix.col])), shape=(matrix.shape[0], size)
            )
        )
        base, method = _rounding(table, policy)
        shown = table.published
        known = np.isfinite(shown)
        if base is not None:
            low, high = rounding_bounds(shown, base, method)
        else:
            low, high = shown, shown
        floor = _hidden_floor(table, policy)
        low = np.where(known, np.maximum(low, min(floor, 0.0)), floor)
        high = np.where(known, high, np.inf)
        np.maximum.at(lower, mapping, low)
        np.minimum.at(upper, mapping, high)
        need = _required(table, policy)
        for cell in np.flatnonzero(~known):
            glob = int(mapping[cell])
            required[glob] = max(required[glob], need[cell])
            current = where.get(glob)
            if current is None or (id(current[0]) in earlier_ids and id(table) not in earlier_ids):
                where[glob] = (table, int(cell))
    blocks.append(refinement.equations(index, size))
    matrix = sp.vstack(blocks, format="csr")
    variable = lower < upper - TOLERANCE
    values = np.where(variable, np.nan, lower)
    lp = AttackerLp(matrix, values, variable, lower, upper)
    audited = []
    with progress_bar(show=show_progress) as progress:
        task = progress.add_task("auditing suppressed cells", total=len(where))
        for glob in sorted(where):
            table, position = where[glob]
            if variable[glob]:
                low_value, high_value = lp.interval(glob)
            else:
                low_value = high_value = float(lower[glob])  # pinned by another table
            row, column = table.label(position)
            audited.append(
                AuditedCell(
                    table.path.name,
                    row,
                    column,
                    low_value,
                    high_value,
                    float(required[glob]),
                    id(table) in earlier_ids,
                )
            )
            progress.advance(task)
    return audited


def _hidden_floor(table: TableFile, policy: Policy) -> float:
    if table.kind is TableKind.FREQUENCY:
        # When zeros are always published, a hidden count is at least one.
        return 0.0 if policy.zeros_disclosive else 1.0
    return 0.0 if np.nanmin(table.published, initial=0.0) >= 0 else -np.inf


def _required(table: TableFile, policy: Policy) -> np.ndarray:
    if table.kind is TableKind.FREQUENCY:
        return np.full(table.grid.size, policy.count_protection)
    values = table.recorded_values()
    primary = table.recorded_primary()
    if values is None or primary is None:  # pragma: no cover - magnitude kinds need one
        return np.full(table.grid.size, policy.count_protection)
    return policy.required_widths(values, counts=False, sensitive=primary)
