from __future__ import annotations

import numpy as np

from sdc.structure import TOTAL, TableGrid, hierarchy


def test_hierarchy_orders_groups_with_subtotals_after_their_members() -> None:
    axis = hierarchy(["region", "district"], [("S", "s1"), ("N", "n2"), ("N", "n1")])
    assert axis.keys == (
        ("N", "n1"),
        ("N", "n2"),
        ("N", TOTAL),
        ("S", "s1"),
        ("S", TOTAL),
        (TOTAL, TOTAL),
    )
    assert axis.parents == (2, 2, 5, 4, 5, -1)


def test_equations_hold_for_a_consistent_table_and_fail_otherwise() -> None:
    rows = hierarchy(["a", "b"], [("x", "1"), ("x", "2"), ("y", "1")])
    columns = hierarchy(["s"], [("F",), ("M",)])
    grid = TableGrid(rows, columns)
    interior = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    body = np.zeros(grid.shape)
    body[[0, 1, 3], :2] = interior
    body[2, :2] = interior[0] + interior[1]
    body[4, :2] = interior[2]
    body[5, :2] = interior.sum(axis=0)
    body[:, 2] = body[:, :2].sum(axis=1)
    assert np.abs(grid.constraints @ body.ravel()).max() == 0
    body[0, 0] += 1
    assert np.abs(grid.constraints @ body.ravel()).max() == 1


def test_coordinates_link_cells_of_different_tables() -> None:
    two_way = TableGrid(hierarchy(["region"], [("N",)]), hierarchy(["sex"], [("F",)]))
    one_way = TableGrid(hierarchy(["region"], [("N",)]), hierarchy(["all"], [("x",)]))
    # (N, Total) of the two-way and (N, x) of a one-way over a constant are different
    # variables, so only an identical variable set links cells.
    assert two_way.coordinates(1) == (("region", "N"),)
    assert one_way.coordinates(0) == (("all", "x"), ("region", "N"))
    assert two_way.cell_labels(2) == ("Total", "F")
