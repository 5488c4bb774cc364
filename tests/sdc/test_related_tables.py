"""Related tables: one table's cells are sums, over a variable it lacks, of another's.

The attacker here is written from scratch on the published CSV files (no ``sdc`` code):
it reads every cell with its coordinates, takes as unknowns the counts of the finest
cross-classification by every variable of every table (each at least zero), requires
each published cell to equal the sum of the unknowns it covers, and minimises and
maximises each suppressed cell with scipy's ``linprog``. Whatever it narrows below the
policy's protection, the audit must catch, and protection must not publish.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from sdc import audit_outputs, frequency_table, load_policy, read_table_file
from sdc.errors import SuppressionError, TableInputError
from sdc.refinement import common_refinement
from sdc.structure import CellKey
from sdc.tablefile import write_table
from tests.entry_point import run_trelink as run

POLICY = load_policy()
PROTECTION = POLICY.count_protection
SLACK = 1e-6

Coordinates = dict[str, str]
Cell = tuple[str, str, str, Coordinates, float | None]  # file, row, column, where, value


def published_cells(path: Path, row_variables: Sequence[str]) -> list[Cell]:
    """Every cell of a wide table CSV: its labels, its coordinates, its value (None if
    suppressed). Headers are ``var: value`` parts joined by `` | ``; ``Total`` is a margin."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    cells: list[Cell] = []
    for _, line in frame.iterrows():
        base = {name: line[name] for name in row_variables if line[name] != "Total"}
        row_label = " | ".join(line[name] for name in row_variables)
        for header in frame.columns[len(row_variables) :]:
            where = dict(base)
            if header != "Total":
                for part in header.split(" | "):
                    name, category = part.split(": ", 1)
                    if category != "Total":
                        where[name] = category
            text = line[header]
            cells.append((path.name, row_label, header, where, float(text) if text else None))
    return cells


def attacker_ranges(cells: list[Cell]) -> list[tuple[Cell, float, float]]:
    """[min, max] of every suppressed cell over all non-negative joint tables that agree
    with every published cell."""
    categories: dict[str, set[str]] = {}
    for *_, where, _ in cells:
        for name, category in where.items():
            categories.setdefault(name, set()).add(category)
    names = sorted(categories)
    joint = list(itertools.product(*(sorted(categories[name]) for name in names)))
    column_of = {name: number for number, name in enumerate(names)}

    def covers(where: Coordinates) -> np.ndarray:
        return np.array(
            [all(atom[column_of[n]] == c for n, c in where.items()) for atom in joint], dtype=float
        )

    known = [(covers(cell[3]), cell[4]) for cell in cells if cell[4] is not None]
    equations = np.array([row for row, _ in known])
    totals = np.array([value for _, value in known])
    solved: dict[tuple[tuple[str, str], ...], tuple[float, float]] = {}
    ranges = []
    for cell in cells:
        if cell[4] is not None:
            continue
        where = tuple(sorted(cell[3].items()))  # a cell hidden in two tables is solved once
        if where not in solved:
            objective = covers(cell[3])
            low = linprog(objective, A_eq=equations, b_eq=totals, bounds=(0, None), method="highs")
            high = linprog(
                -objective, A_eq=equations, b_eq=totals, bounds=(0, None), method="highs"
            )
            assert low.status == 0, "the published tables contradict each other"
            solved[where] = (float(low.fun), np.inf if high.status == 3 else float(-high.fun))
        ranges.append((cell, *solved[where]))
    return ranges


def narrowed(ranges: list[tuple[Cell, float, float]]) -> list[tuple[str, str, str]]:
    return [
        (cell[0], cell[1], cell[2]) for cell, low, high in ranges if high - low + SLACK < PROTECTION
    ]


# The issue's scenario: 1,500 children by region, sex and age band; East and Wales small.
def scenario_microdata() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    size = 1500
    return pd.DataFrame(
        {
            "region": rng.choice(
                ["East", "London", "North", "South", "Wales"],
                size,
                p=[0.06, 0.3, 0.26, 0.26, 0.12],
            ),
            "sex": rng.choice(["F", "M"], size),
            "age_band": rng.choice(
                ["0-9", "10-13", "14-15", "16-17"], size, p=[0.1, 0.2, 0.3, 0.4]
            ),
        }
    )


SCENARIO = [
    ("by_region_sex_age.csv", ["sex", "age_band"]),
    ("by_region_sex.csv", ["sex"]),
    ("by_region_age.csv", ["age_band"]),
]


def protect_scenario(monkeypatch: pytest.MonkeyPatch, folder: Path, *, jointly: bool) -> list[Path]:
    micro = folder / "micro.csv"
    scenario_microdata().to_csv(micro, index=False)
    written: list[Path] = []
    for name, columns in SCENARIO:
        out = folder / name
        linked = ["--with", *written] if jointly and written else []
        code = run(monkeypatch, "sdc", "protect", "--in", micro, "--rows", "region",
                   "--cols", *columns, *linked, "--out", out)  # fmt: skip
        assert code == 0
        written.append(out)
    return written


def test_tables_protected_with_links_resist_the_attacker_and_pass_the_audit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    paths = protect_scenario(monkeypatch, tmp_path, jointly=True)
    ranges = attacker_ranges([c for path in paths for c in published_cells(path, ["region"])])
    assert ranges, "the scenario suppresses cells"
    assert narrowed(ranges) == []
    capsys.readouterr()
    report = tmp_path / "audit.json"
    assert run(monkeypatch, "sdc", "audit", *paths, "--report", report) == 0
    assert "audit passed" in capsys.readouterr().out
    # The audit's intervals are the attacker's, cell by cell.
    audited = {
        (cell["file"], cell["row"], cell["column"]): cell["interval"]
        for cell in json.loads(report.read_text())["cells"]
    }
    for (name, row, column, _, _), low, high in ranges:
        if (name, row, column) in audited:
            assert audited[name, row, column] == pytest.approx([low, high], abs=1e-6)


def test_tables_protected_apart_fail_the_audit_on_every_cell_the_attacker_narrows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    paths = protect_scenario(monkeypatch, tmp_path, jointly=False)
    ranges = attacker_ranges([c for path in paths for c in published_cells(path, ["region"])])
    exposed = narrowed(ranges)
    assert len(exposed) == 8
    assert sum(high - low < SLACK for _, low, high in ranges) == 4  # recovered exactly
    capsys.readouterr()
    report = tmp_path / "audit.json"
    assert run(monkeypatch, "sdc", "audit", *paths, "--report", report) == 4
    assert "audit FAILED" in capsys.readouterr().out
    flagged = {
        (cell["file"], cell["row"], cell["column"])
        for cell in json.loads(report.read_text())["cells"]
        if not cell["safe"]
    }
    assert flagged == set(exposed)


# Property: random microdata, 2-4 related tables over 2-4 variables.
@st.composite
def related_tables(draw: st.DrawFn) -> tuple[pd.DataFrame, list[tuple[list[str], list[str]]]]:
    variables = [f"v{number}" for number in range(draw(st.integers(2, 4)))]
    seed = draw(st.integers(0, 2**32 - 1))
    size = draw(st.integers(40, 400))
    rng = np.random.default_rng(seed)
    data = {}
    for name in variables:
        levels = draw(st.integers(2, 3 if len(variables) < 4 else 2))  # keeps LPs small
        weights = rng.dirichlet(np.ones(levels))
        data[name] = rng.choice([f"{name}_{level}" for level in range(levels)], size, p=weights)
    layouts = []
    for _ in range(draw(st.integers(2, 4))):
        chosen = draw(
            st.lists(st.sampled_from(variables), min_size=2, max_size=len(variables), unique=True)
        )
        split = draw(st.integers(1, len(chosen) - 1))
        layouts.append((chosen[:split], chosen[split:]))
    return pd.DataFrame(data), layouts


def _row_variables(layout: tuple[list[str], list[str]]) -> list[str]:
    return layout[0]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(related_tables())
def test_protection_with_links_leaves_nothing_the_attacker_can_narrow(
    case: tuple[pd.DataFrame, list[tuple[list[str], list[str]]]],
) -> None:
    data, layouts = case
    with TemporaryDirectory() as folder:
        paths: list[Path] = []
        for number, (rows, columns) in enumerate(layouts):
            linked = [read_table_file(path) for path in paths]
            try:
                table = frequency_table(data, rows, columns, policy=POLICY, linked=linked)
            except SuppressionError:
                # A cell unsafe here but published by an earlier table: refused, as it must be.
                assume(False)
            path, _ = write_table(table, Path(folder) / f"table{number}.csv")
            paths.append(path)
        cells = [
            cell
            for path, layout in zip(paths, layouts, strict=True)
            for cell in published_cells(path, _row_variables(layout))
        ]
        assert narrowed(attacker_ranges(cells)) == []
        assert audit_outputs(paths, policy=POLICY).passed


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(related_tables())
def test_audit_of_tables_protected_apart_matches_the_attacker(
    case: tuple[pd.DataFrame, list[tuple[list[str], list[str]]]],
) -> None:
    data, layouts = case
    with TemporaryDirectory() as folder:
        paths = []
        for number, (rows, columns) in enumerate(layouts):
            table = frequency_table(data, rows, columns, policy=POLICY)
            paths.append(write_table(table, Path(folder) / f"table{number}.csv")[0])
        cells = [
            cell
            for path, layout in zip(paths, layouts, strict=True)
            for cell in published_cells(path, _row_variables(layout))
        ]
        ranges = attacker_ranges(cells)
        report = audit_outputs(paths, policy=POLICY)
        audited = {(c.file, c.row, c.column): (c.lower, c.upper) for c in report.cells}
        for (name, row, column, _, _), low, high in ranges:
            key = (name, row, column)
            if key in audited:  # a cell hidden in two tables is audited once
                assert audited[key] == pytest.approx((low, high), abs=1e-6)
        assert report.passed == (narrowed(ranges) == [])


def keys_of(measure: str, cells: list[dict[str, str]]) -> list[CellKey]:
    return [(measure, tuple(sorted(cell.items()))) for cell in cells]


def test_refinement_of_nested_and_flat_tables() -> None:
    # District within region (nested: only observed pairs) beside district x sex.
    nested = keys_of(
        "count",
        [
            {"region": "N", "district": "a"},
            {"region": "N", "district": "b"},
            {"region": "S", "district": "c"},
            {"region": "N"},
            {"region": "S"},
            {},
        ],
    )
    by_sex = keys_of(
        "count",
        [{"district": district, "sex": sex} for district in ("a", "b", "c") for sex in ("F", "M")]
        + [{"district": district} for district in ("a", "b", "c")]
        + [{"sex": "F"}, {"sex": "M"}, {}],
    )
    refinement = common_refinement([nested, by_sex])
    assert sorted(refinement.variables) == ["district", "region", "sex"]
    # A join tree (they share district): per district, the two tables' cells balance.
    assert refinement.atoms == []
    balances = {tuple(sorted(plus)): sorted(minus) for plus, minus in refinement.balances}
    assert balances[(("count", (("district", "a"), ("region", "N"))),)] == [
        ("count", (("district", "a"), ("sex", "F"))),
        ("count", (("district", "a"), ("sex", "M"))),
    ]
    assert len(balances) == 3


def test_cyclic_tables_get_atoms_of_their_joint_table() -> None:
    # Region x sex, sex x age, age x region: margins of one unpublished three-way table.
    pairs = [("region", "sex"), ("sex", "age"), ("age", "region")]
    levels = {"region": ["N", "S"], "sex": ["F", "M"], "age": ["0", "1", "2"]}
    tables = [
        keys_of(
            "count",
            [{first: x, second: y} for x in levels[first] for y in levels[second]],
        )
        for first, second in pairs
    ]
    refinement = common_refinement(tables)
    assert len(refinement.atoms) == 12 and refinement.balances == []
    assert len(refinement.sums) == 4 + 6 + 6
    assert all(
        members.size == len(levels[third])
        for (_, where), members in refinement.sums
        for third in set(levels) - {name for name, _ in where}
    )


def test_variables_coded_two_ways_are_joined_as_two_variables(tmp_path: Path) -> None:
    data = scenario_microdata()
    coarse = data.assign(age_band=data["age_band"].replace({"14-15": "14-17", "16-17": "14-17"}))
    fine_path, _ = write_table(
        frequency_table(data, ["region"], ["age_band"], policy=POLICY), tmp_path / "fine.csv"
    )
    coarse_path, _ = write_table(
        frequency_table(coarse, ["region"], ["sex", "age_band"], policy=POLICY),
        tmp_path / "coarse.csv",
    )
    fine, coarse_file = read_table_file(fine_path), read_table_file(coarse_path)
    refinement = common_refinement(
        [fine.grid.cell_keys("count"), coarse_file.grid.cell_keys("count")]
    )
    assert len(refinement.variables) == 4  # region, sex and two codings of age_band
    report = audit_outputs([fine_path, coarse_path], policy=POLICY)  # no contradiction
    assert report.cells and report.passed


def test_too_many_combinations_are_refused_with_a_clear_error() -> None:
    def grid(first: str, second: str) -> list[CellKey]:
        return keys_of(
            "count", [{first: str(i), second: str(j)} for i in range(30) for j in range(30)]
        )

    with pytest.raises(TableInputError, match="more than 1,000 combinations"):
        common_refinement([grid("a", "b"), grid("b", "c"), grid("c", "a")], limit=1_000)


def test_tables_sharing_no_variable_are_refined_apart() -> None:
    # Their joint table exists whenever the grand totals agree: no product is needed.
    first = keys_of("count", [{"a": str(i), "b": str(j)} for i in range(30) for j in range(30)])
    second = keys_of("count", [{"c": str(i), "d": str(j)} for i in range(30) for j in range(30)])
    refinement = common_refinement([first, second], limit=2_000)
    assert refinement.atoms == [] and refinement.sums == [] and refinement.balances == []


def plain_table(folder: Path, rows: tuple[str, int], columns: tuple[str, int]) -> Path:
    """A table with margins whose every interior cell is 10 (nothing to suppress)."""
    (row, row_levels), (column, column_levels) = rows, columns
    frame = pd.DataFrame(
        np.full((row_levels, column_levels), 10),
        columns=[f"{column}: {j:03d}" for j in range(column_levels)],
    )
    frame["Total"] = frame.sum(axis=1)
    frame.loc[len(frame)] = frame.sum(axis=0)
    frame.insert(0, row, [f"{i:03d}" for i in range(row_levels)] + ["Total"])
    path = folder / f"{row}_by_{column}.csv"
    frame.to_csv(path, index=False)
    return path


def test_audit_of_too_many_combinations_is_refused_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # a x b, b x c, c x a with 60 categories each: 216,000 cells of their joint table.
    paths = [plain_table(tmp_path, (x, 60), (y, 60)) for x, y in ("ab", "bc", "ca")]
    assert run(monkeypatch, "sdc", "audit", *paths) == 3
    captured = capsys.readouterr()
    assert "more than 200,000 combinations" in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


def test_large_tables_along_a_join_tree_need_no_joint_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # a x b beside a x c, 120 categories each: 1,728,000 combinations, but they share
    # only a, so balancing their a margins is all the attacker can use.
    paths = [plain_table(tmp_path, ("a", 120), (other, 120)) for other in "bc"]
    assert run(monkeypatch, "sdc", "audit", *paths) == 0
    output = capsys.readouterr().out
    assert "audit passed" in output and "audited apart" not in output
