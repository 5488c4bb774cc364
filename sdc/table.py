"""Protected frequency and magnitude tables built from microdata.

``frequency_table`` and ``magnitude_table`` take a pandas DataFrame (one row per
person), build the table with hierarchical margins, apply the policy's primary rules,
run secondary suppression, and return a ``ProtectedTable``: the true values, each
cell's status and the decision record. Margins are the true totals of the microdata;
they are published or suppressed, never recomputed from visible cells.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sdc.errors import TableInputError
from sdc.linked import link_problem
from sdc.policy import InformationLoss, Policy, RoundingMethod
from sdc.rounding import base_round, controlled_round
from sdc.rules import CellFacts, dominance_shares, p_percent_margins, primary_rules
from sdc.status import PUBLISHED_STATUSES, CellStatus, Rule, TableKind
from sdc.structure import LABEL_SEPARATOR, TOTAL, Axis, TableGrid, hierarchy
from sdc.suppression import Method, SuppressionProblem, SuppressionResult, suppress

if TYPE_CHECKING:
    from sdc.cleanup import CleanUp
    from sdc.tablefile import TableFile


__all__ = [
    "MISSING_LABEL",
    "CellCodes",
    "ProtectedTable",
    "assemble_table",
    "column_headers",
    "frequency_table",
    "magnitude_table",
    "numeric_column",
]

MISSING_LABEL = "Missing"


@dataclass(frozen=True)
class ProtectedTable:
    """A table after disclosure control, with everything a checker needs to follow it."""

    kind: TableKind
    grid: TableGrid
    values: np.ndarray  # flat true values (counts, sums or means)
    counts: np.ndarray  # flat contributors per cell
    statuses: tuple[CellStatus, ...]
    rules: tuple[tuple[Rule, ...], ...]
    policy: Policy
    value_variable: str | None
    suppression: SuppressionResult
    facts: dict[str, np.ndarray]  # rule numbers per cell (shares, p% margins)
    published: np.ndarray  # flat values as released: hidden cells NaN, rounded if asked
    rounding: RoundingMethod | None  # the rounding actually applied (None: none)

    @property
    def hidden(self) -> np.ndarray:
        published = PUBLISHED_STATUSES
        return np.array([status not in published for status in self.statuses], dtype=bool)

    @property
    def measure(self) -> str:
        """What a cell counts: ``count`` or ``sum:VAR`` / ``mean:VAR``."""
        if self.kind is TableKind.FREQUENCY:
            return "count"
        return f"{self.kind.value}:{self.value_variable}"

    def to_frame(self) -> pd.DataFrame:
        """The published wide table: row labels as columns, one column per column key."""
        rows, columns = self.grid.rows, self.grid.columns
        body = self.published.reshape(self.grid.shape)
        frame = pd.DataFrame(body, columns=column_headers(columns))
        labels = pd.DataFrame(list(rows.keys), columns=list(rows.variables))
        return pd.concat([labels, frame], axis=1)

    def decision_record(self) -> dict[str, Any]:
        """Every cell's status, rule and numbers, with the policy and solver summary.

        It contains true values of suppressed cells: it is evidence for output checkers
        inside the TRE and must never be released.
        """
        headers = column_headers(self.grid.columns)
        n_columns = self.grid.shape[1]
        cells = []
        for index, status in enumerate(self.statuses):
            row, column = divmod(index, n_columns)
            entry: dict[str, Any] = {
                "row": self.grid.rows.label(row),
                "column": headers[column],
                "status": status.value,
                "rules": [rule.value for rule in self.rules[index]],
                "count": int(self.counts[index]),
                "value": _number(self.values[index]),
            }
            for name, numbers in self.facts.items():
                entry[name] = _number(numbers[index])
            if index in self.suppression.intervals:
                low, high = self.suppression.intervals[index]
                name = "sum_interval" if self.kind is TableKind.MEAN else "interval"
                entry[name] = [_number(low), _number(high)]
            cells.append(entry)
        summary = {status.value: self.statuses.count(status) for status in CellStatus}
        return {
            "format": "trelink-sdc-decision-record",
            "version": 1,
            "kind": self.kind.value,
            "measure": self.measure,
            "row_variables": list(self.grid.rows.variables),
            "column_variables": list(self.grid.columns.variables),
            "policy": self.policy.model_dump(mode="json"),
            "rounding": None
            if self.rounding is None or self.policy.rounding is None
            else {"base": self.policy.rounding.base, "method": self.rounding.value},
            "suppression": {
                "method": self.suppression.method.value,
                "optimal": self.suppression.optimal,
                "iterations": self.suppression.iterations,
                "information_loss": self.suppression.information_loss,
                "seconds": round(self.suppression.seconds, 3),
                "clean_up": _clean_up_record(self.suppression.clean_up),
            },
            "summary": summary,
            "cells": cells,
        }


def _clean_up_record(clean_up: CleanUp | None) -> dict[str, Any] | None:
    """The clean-up pass's work for the decision record; None when it did not run."""
    if clean_up is None:
        return None
    return {
        "tried": clean_up.tried,
        "published_again": clean_up.published_again,
        "value_published_again": _number(clean_up.value_published_again),
        "solves": clean_up.solves,
        "complete": clean_up.complete,
        "seconds": round(clean_up.seconds, 3),
    }


def _number(value: float) -> float | int | None:
    if value is None or not np.isfinite(value):
        return None
    return int(value) if float(value).is_integer() else round(float(value), 10)


def column_headers(axis: Axis) -> list[str]:
    """Header of each column key: ``var: value`` parts joined by `` | ``; the grand
    total is ``Total``."""
    headers = []
    for key in axis.keys:
        if all(part == TOTAL for part in key):
            headers.append(TOTAL)
        else:
            headers.append(
                LABEL_SEPARATOR.join(
                    f"{variable}: {part}"
                    for variable, part in zip(axis.variables, key, strict=True)
                )
            )
    return headers


def frequency_table(
    data: pd.DataFrame,
    rows: Sequence[str],
    columns: Sequence[str],
    *,
    policy: Policy,
    method: Method = Method.AUTO,
    linked: Sequence[TableFile] = (),
    nested: bool = False,
    show_progress: bool = False,
) -> ProtectedTable:
    """Counts of records by ``rows`` x ``columns`` with hierarchical margins, protected.

    ``linked``: table files already released (or released together with this one); the
    suppression pattern is chosen so that nothing hidden here or there can be derived
    from all of them together (see :mod:`sdc.linked`).

    ``nested``: the row (and column) variables form hierarchies whose absent
    combinations are public (district within region): only observed combinations get
    rows, with subtotals per level. Without it every combination of categories gets a
    row, since a missing row would reveal an empty combination.
    """
    codes = CellCodes.build(data, rows, columns, nested=nested)
    counts = np.bincount(codes.cell, minlength=codes.interior_size).astype(float)
    grid, full_counts = codes.aggregate(counts)
    facts = CellFacts(counts=full_counts, values=full_counts)
    return _protect(
        TableKind.FREQUENCY, grid, facts, policy, None, method, show_progress, full_counts, linked
    )


def magnitude_table(
    data: pd.DataFrame,
    rows: Sequence[str],
    columns: Sequence[str],
    value: str,
    *,
    statistic: str = "sum",
    policy: Policy,
    method: Method = Method.AUTO,
    linked: Sequence[TableFile] = (),
    nested: bool = False,
    show_progress: bool = False,
) -> ProtectedTable:
    """Sums (or means) of ``value`` by ``rows`` x ``columns``, protected.

    Dominance and p% rules use each cell's largest contributions; the suppression
    pattern is computed on the sums and applied unchanged to means.
    """
    if statistic not in ("sum", "mean"):
        raise TableInputError(f"--stat must be 'sum' or 'mean', not {statistic!r}")
    numbers = numeric_column(data, value)
    codes = CellCodes.build(data, rows, columns, nested=nested)
    present = numbers.notna().to_numpy()
    cell = codes.cell[present]
    amounts = numbers.to_numpy(dtype=float)[present]
    counts = np.bincount(cell, minlength=codes.interior_size).astype(float)
    sums = np.bincount(cell, weights=amounts, minlength=codes.interior_size)
    absolute = np.bincount(cell, weights=np.abs(amounts), minlength=codes.interior_size)
    grid, full_counts = codes.aggregate(counts)
    _, full_sums = codes.aggregate(sums)
    _, full_absolute = codes.aggregate(absolute)
    top_n = max(2, policy.dominance.n if policy.dominance else 2)
    largest = codes.largest_per_cell(cell, np.abs(amounts), top_n)
    facts = CellFacts(full_counts, full_sums, full_absolute, largest)
    kind = TableKind.SUM if statistic == "sum" else TableKind.MEAN
    return _protect(kind, grid, facts, policy, value, method, show_progress, full_counts, linked)


def numeric_column(data: pd.DataFrame, value: str) -> pd.Series:
    """``data[value]`` as numbers (missing stays missing); errors name the row."""
    if value not in data.columns:
        raise TableInputError(f"value column {value!r} is not in the data")
    numbers = pd.to_numeric(data[value], errors="coerce")
    bad = numbers.isna() & data[value].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise TableInputError(f"column {value!r} row {row}: not a number")
    return numbers


@dataclass(frozen=True)
class CellCodes:
    """Each record's interior cell, and how interior cells map onto the full grid."""

    grid: TableGrid
    cell: np.ndarray  # interior cell code of each record
    row_members: list[np.ndarray]  # for each grid row: interior row codes below it
    column_members: list[np.ndarray]
    interior_shape: tuple[int, int]

    @property
    def interior_size(self) -> int:
        return self.interior_shape[0] * self.interior_shape[1]

    @classmethod
    def build(
        cls, data: pd.DataFrame, rows: Sequence[str], columns: Sequence[str], *, nested: bool
    ) -> CellCodes:
        rows, columns = list(rows), list(columns)
        if not rows or not columns:
            raise TableInputError("give at least one row variable and one column variable")
        missing = [name for name in [*rows, *columns] if name not in data.columns]
        if missing:
            raise TableInputError(f"unknown column(s) {missing}; the data has {list(data.columns)}")
        if len(set(rows + columns)) != len(rows) + len(columns):
            raise TableInputError("a variable appears twice among the rows and columns")
        if len(data) == 0:
            raise TableInputError("the data has no records; there is no table to protect")
        row_code, row_keys = _combine(data, rows, nested=nested)
        column_code, column_keys = _combine(data, columns, nested=nested)
        row_axis = hierarchy(rows, row_keys)
        column_axis = hierarchy(columns, column_keys)
        grid = TableGrid(row_axis, column_axis)
        return cls(
            grid,
            row_code * len(column_keys) + column_code,
            _members(row_axis, row_keys),
            _members(column_axis, column_keys),
            (len(row_keys), len(column_keys)),
        )

    def aggregate(self, interior: np.ndarray) -> tuple[TableGrid, np.ndarray]:
        """Full-grid values (margins as true totals) from flat interior values."""
        block = interior.reshape(self.interior_shape)
        by_row = np.stack([block[members].sum(axis=0) for members in self.row_members])
        full = np.stack([by_row[:, members].sum(axis=1) for members in self.column_members])
        return self.grid, full.T.ravel()

    def largest_per_cell(self, cell: np.ndarray, amounts: np.ndarray, top_n: int) -> np.ndarray:
        """The ``top_n`` largest amounts of every full-grid cell, descending (0-padded)."""
        order = np.lexsort((-amounts, cell))
        sorted_cells, sorted_amounts = cell[order], amounts[order]
        starts = np.searchsorted(sorted_cells, np.arange(self.interior_size))
        ends = np.searchsorted(sorted_cells, np.arange(self.interior_size), side="right")
        interior_top = np.zeros((self.interior_size, top_n))
        for rank in range(top_n):
            has = starts + rank < ends
            interior_top[has, rank] = sorted_amounts[starts[has] + rank]
        tops = interior_top.reshape(*self.interior_shape, top_n)
        n_rows, n_columns = self.grid.shape
        result = np.zeros((n_rows * n_columns, top_n))
        for row, row_members in enumerate(self.row_members):
            for column, column_members in enumerate(self.column_members):
                pool = tops[np.ix_(row_members, column_members)].reshape(-1)
                if pool.size > top_n:
                    pool = np.partition(pool, pool.size - top_n)[-top_n:]
                result[row * n_columns + column, : pool.size] = np.sort(pool)[::-1]
        return result


def _combine(
    data: pd.DataFrame, variables: list[str], *, nested: bool
) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Code each record by its combination of ``variables``; keys in sorted order.

    ``nested``: the variables form a hierarchy (district within region) whose absent
    combinations are public knowledge, so only observed combinations get a row.
    Otherwise every combination gets one.
    """
    part_codes = []
    part_labels = []
    for variable in variables:
        codes, uniques = pd.factorize(data[variable], sort=False, use_na_sentinel=True)
        labels = [_label(value, variable) for value in uniques]
        if (codes < 0).any():
            labels.append(MISSING_LABEL)
            codes = np.where(codes < 0, len(labels) - 1, codes)
        part_codes.append(codes.astype(np.int64))
        part_labels.append(labels)
    sizes = [len(labels) for labels in part_labels]
    combined = np.ravel_multi_index(part_codes, sizes) if len(sizes) > 1 else part_codes[0]
    observed, inverse = np.unique(combined, return_inverse=True)
    tuples = [
        tuple(part_labels[i][code] for i, code in enumerate(np.unravel_index(value, sizes)))
        for value in observed
    ]
    order = sorted(range(len(tuples)), key=lambda position: tuples[position])
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    if nested or len(variables) == 1:
        return rank[inverse], [tuples[position] for position in order]
    # Every combination of categories, observed or not: a missing row would tell the
    # reader that a combination is empty, which is a disclosive zero.
    everything = sorted(itertools.product(*part_labels))
    position_of = {key: position for position, key in enumerate(everything)}
    observed_position = np.array([position_of[key] for key in tuples], dtype=np.int64)
    return observed_position[inverse], everything


def _label(value: object, variable: str) -> str:
    text = str(value)
    if text == TOTAL or LABEL_SEPARATOR in text or ": " in text:
        raise TableInputError(
            f"column {variable!r}: a category label is {TOTAL!r} or contains ' | ' or ': ', "
            "which mark margins and column headers; recode it first"
        )
    return text


def _members(axis: Axis, interior: list[tuple[str, ...]]) -> list[np.ndarray]:
    """For each axis key, the interior positions it sums (itself for interior keys)."""
    position = {key: number for number, key in enumerate(interior)}
    members = []
    for key in axis.keys:
        depth = sum(part != TOTAL for part in key)
        prefix = key[:depth]
        members.append(
            np.array(
                [position[inner] for inner in interior if inner[:depth] == prefix], dtype=np.int64
            )
        )
    return members


def _protect(
    kind: TableKind,
    grid: TableGrid,
    facts: CellFacts,
    policy: Policy,
    value_variable: str | None,
    method: Method,
    show_progress: bool,
    counts: np.ndarray,
    linked: Sequence[TableFile],
) -> ProtectedTable:
    matrix = grid.constraints
    rules = primary_rules(facts, kind, policy, matrix)
    primary = np.array([bool(cell_rules) for cell_rules in rules], dtype=bool)
    values = facts.values
    zero_published = (counts == 0) & (not policy.zeros_disclosive)

    is_count = kind is TableKind.FREQUENCY
    required = policy.required_widths(values, counts=is_count, sensitive=primary)
    if kind is TableKind.FREQUENCY:
        # With zeros published, an attacker knows every hidden count is at least one.
        lower = np.full(values.size, 0.0 if policy.zeros_disclosive else 1.0)
    else:
        non_negative = facts.absolute is None or np.allclose(facts.absolute, np.abs(values))
        lower = np.full(values.size, 0.0 if non_negative and (values >= 0).all() else -np.inf)
    if policy.protection.information_loss is InformationLoss.VALUE:
        cost = np.abs(values) + 1.0
    else:
        cost = np.ones(values.size)
    problem = SuppressionProblem(
        matrix=matrix,
        values=values,
        lower=lower,
        upper=np.full(values.size, np.inf),
        required=required,
        primary=primary & ~zero_published,
        eligible=~zero_published,
        cost=cost,
    )
    # Means are protected as the sums they come from, and linked to sums (or to means,
    # read as the sums they imply).
    measure = "count" if kind is TableKind.FREQUENCY else f"sum:{value_variable}"
    if linked:
        labels = [grid.cell_labels(index) for index in range(values.size)]
        problem = link_problem(
            problem,
            grid.cell_keys(measure),
            labels,
            linked,
            required_for=lambda value, sensitive: float(
                policy.required_widths(
                    np.array([value]), counts=is_count, sensitive=np.array([sensitive])
                )[0]
            ),
        )
    if method is Method.AUTO:
        exact = problem.values.size <= policy.protection.exact_cell_limit
        method = Method.EXACT if exact else Method.HEURISTIC
    result = suppress(
        problem,
        method=method,
        show_progress=show_progress,
        clean_up=policy.protection.clean_up,
    )
    if result.hidden.size > values.size:
        result = replace(
            result,
            hidden=result.hidden[: values.size],
            intervals={cell: span for cell, span in result.intervals.items() if cell < values.size},
        )
    shown = values
    if kind is TableKind.MEAN:
        with np.errstate(divide="ignore", invalid="ignore"):
            shown = np.where(counts > 0, values / counts, np.nan)
    extra: dict[str, np.ndarray] = {}
    if facts.largest is not None and facts.absolute is not None:
        n = policy.dominance.n if policy.dominance else 2
        extra["dominance_share"] = dominance_shares(facts.absolute, facts.largest, n)
        extra["p_percent_margin"] = p_percent_margins(facts.absolute, facts.largest)
    published, rounding = _publish(kind, shown, result.hidden, matrix, policy)
    return assemble_table(
        kind,
        grid,
        shown,
        counts,
        primary=primary,
        rules=rules,
        policy=policy,
        value_variable=value_variable,
        suppression=result,
        facts=extra,
        published=published,
        rounding=rounding,
    )


def assemble_table(
    kind: TableKind,
    grid: TableGrid,
    values: np.ndarray,
    counts: np.ndarray,
    *,
    primary: np.ndarray,
    rules: list[list[Rule]],
    policy: Policy,
    value_variable: str | None,
    suppression: SuppressionResult,
    facts: dict[str, np.ndarray],
    published: np.ndarray,
    rounding: RoundingMethod | None,
) -> ProtectedTable:
    """Give every cell its status from what the rules and the suppression decided."""
    statuses = []
    hidden = suppression.hidden
    for index in range(values.size):
        if primary[index] and hidden[index]:
            statuses.append(CellStatus.PRIMARY)
        elif hidden[index]:
            statuses.append(CellStatus.SECONDARY)
            rules[index] = [Rule.PROTECTION]
        elif counts[index] == 0:
            statuses.append(CellStatus.ZERO)
        elif grid.is_margin[index]:
            statuses.append(CellStatus.MARGIN)
        else:
            statuses.append(CellStatus.SAFE)
    return ProtectedTable(
        kind=kind,
        grid=grid,
        values=values,
        counts=counts,
        statuses=tuple(statuses),
        rules=tuple(tuple(cell_rules) for cell_rules in rules),
        policy=policy,
        value_variable=value_variable,
        suppression=suppression,
        facts=facts,
        published=published,
        rounding=rounding,
    )


def _publish(
    kind: TableKind,
    shown: np.ndarray,
    hidden: np.ndarray,
    matrix: sp.csr_matrix,
    policy: Policy,
) -> tuple[np.ndarray, RoundingMethod | None]:
    """Released values: hidden cells NaN; counts rounded when the policy asks."""
    if policy.rounding is None or kind is not TableKind.FREQUENCY:
        return np.where(hidden, np.nan, shown), None
    base = policy.rounding.base
    method = policy.rounding.method
    rounded = None
    if method is RoundingMethod.CONTROLLED:
        rounded = controlled_round(shown, matrix, base)
    if rounded is None:
        # No additive rounding exists (or none was asked for): round each cell.
        rounded, method = base_round(shown, base), RoundingMethod.NEAREST
    return np.where(hidden, np.nan, rounded), method
