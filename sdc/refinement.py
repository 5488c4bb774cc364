"""The common refinement of related tables: the finest cells every table is a sum of.

Tables of one population over different variables (region x sex x age, region x age,
sex x age) need not share a single cell and still constrain each other: a region x
age cell is the sum, over sex, of region x sex x age cells, whether or not any table
publishes those. An attacker who knows every table describes the same people can write
each published or hidden cell as a sum of the unknown counts (or sums) of the finest
cross-classification by every variable of every table, each at least zero. That joint
table is the common refinement; its cells are the *atoms*.

Atoms are the combinations of categories that every table allows: the natural join of
the tables' interior keys (a table over nested variables lists only the combinations
observed, so a combination it lacks is empty and gets no atom). An atom is the cell
with coordinates over every variable, so an atom that a table publishes (a table over
all the variables) is that table's cell, not a new unknown.

The system adds, for each interior cell of each table, one equation: the cell equals
the sum of the atoms that project onto it. With each table's own margin equations that
ties every cell of every table to the atoms, which is the strongest linear knowledge an
attacker can draw from the tables together (beyond it lie integrality and knowledge
from outside the tables).

Most requests need no atoms. When the tables' variable sets form a join tree (each
variable's tables connected in it: a table and its margins over fewer variables,
region x sex beside region x age), a non-negative joint table exists exactly when
neighbouring tables balance on the variables they share, so the system gets, per
shared category, "these cells of one table sum to those of the other" instead: the
same knowledge, without the product of every variable's categories. Atoms are built
only for cyclic tables (region x sex, sex x age, age x region), where balances
between pairs are not enough.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from sdc.errors import TableInputError
from sdc.structure import CellKey

__all__ = ["ATOM_LIMIT", "Refinement", "common_refinement"]

# Atoms the joint system may hold: the largest joint table whose attacker LPs still
# solve in seconds. Beyond it the tables are refused, never audited on a weaker system.
ATOM_LIMIT = 200_000

# Joins a variable's name to the number of its coding when tables code it differently;
# a control character, so no category label or variable name can contain it.
CODING_SEPARATOR = "\x1f"

Assignment = tuple[str, ...]  # category per variable, in the order of ``variables``


@dataclass(frozen=True)
class Refinement:
    """The atoms of related tables and, per interior cell, the atoms that sum to it."""

    variables: tuple[str, ...]
    atoms: list[CellKey]
    sums: list[tuple[CellKey, np.ndarray]]  # (interior cell, positions in ``atoms``)
    # Tables joined along a join tree: per separator category, the cells of one table
    # that share it and the cells of the other (the two sums are equal).
    balances: list[tuple[list[CellKey], list[CellKey]]] = field(default_factory=list)

    def equations(self, index: Mapping[CellKey, int], size: int) -> sp.csr_matrix:
        """``cell - sum of its atoms == 0`` per interior cell, then one equation per
        balance, over ``index`` positions (which must hold every atom and cell)."""
        rows: list[np.ndarray] = []
        columns: list[np.ndarray] = []
        data: list[np.ndarray] = []
        atom_positions = np.array([index[atom] for atom in self.atoms], dtype=np.int64)
        for number, (cell, members) in enumerate(self.sums):
            rows.append(np.full(members.size + 1, number))
            columns.append(np.concatenate([[index[cell]], atom_positions[members]]))
            data.append(np.concatenate([[1.0], -np.ones(members.size)]))
        for number, (plus, minus) in enumerate(self.balances, start=len(self.sums)):
            rows.append(np.full(len(plus) + len(minus), number))
            columns.append(np.array([index[key] for key in (*plus, *minus)], dtype=np.int64))
            data.append(np.concatenate([np.ones(len(plus)), -np.ones(len(minus))]))
        if not rows:
            return sp.csr_matrix((0, size))
        return sp.csr_matrix(
            (np.concatenate(data), (np.concatenate(rows), np.concatenate(columns))),
            shape=(len(self.sums) + len(self.balances), size),
        )


def common_refinement(
    tables: Sequence[Sequence[CellKey]], *, limit: int = ATOM_LIMIT
) -> Refinement:
    """The refinement of tables given as their cell keys (one measure, one population).

    Tables that share no variable, directly or through other tables, are refined apart:
    a joint table of two such groups exists whenever their grand totals agree (which
    they share as a cell), so their product would add unknowns and no knowledge.
    Raises ``TableInputError`` when the atoms would exceed ``limit``.
    """
    measure = next((keys[0][0] for keys in tables if keys), "")
    interiors = [_interior(keys) for keys in tables]
    names = _join_names(interiors)
    atoms: list[CellKey] = []
    sums: list[tuple[CellKey, np.ndarray]] = []
    balances: list[tuple[list[CellKey], list[CellKey]]] = []
    for group in _sharing_groups(names):
        tree = _join_tree([names[number] for number in group])
        if tree is not None:
            for first, second in tree:
                balances.extend(_balances(measure, interiors, names, group[first], group[second]))
            continue
        # Widest tables first: the join then grows least on the way.
        group.sort(key=lambda number: -len(names[number]))
        variables: tuple[str, ...] = ()
        assignments: list[Assignment] = [()]
        for number in group:
            joined = _join(
                variables, assignments, names[number], interiors[number][1], limit - len(atoms)
            )
            if joined is None:
                raise TableInputError(
                    f"these tables together span more than {limit:,} combinations of their "
                    "variables, too many to audit them as one system; split them into "
                    "smaller requests or coarsen categories"
                )
            variables, assignments = joined
        offset = len(atoms)
        atoms.extend(_key(measure, variables, assignment) for assignment in assignments)
        for number in group:
            sums.extend(
                _sums(measure, interiors[number], names[number], variables, assignments, offset)
            )
    every = tuple(sorted({variable for joined_as in names for variable in joined_as}))
    return Refinement(every, atoms, sums, balances)


def _join_tree(variable_sets: list[tuple[str, ...]]) -> list[tuple[int, int]] | None:
    """Edges of a join tree of the tables (each variable's tables form a connected
    subtree), or None when the tables are cyclic (region x sex, sex x age, age x
    region). A maximum spanning tree of shared-variable counts is a join tree exactly
    when one exists."""
    sets = [set(variables) for variables in variable_sets]
    inside, edges = {0}, []
    while len(inside) < len(sets):
        first, second = max(
            ((a, b) for a in inside for b in range(len(sets)) if b not in inside),
            key=lambda pair: (len(sets[pair[0]] & sets[pair[1]]), -pair[1]),
        )
        edges.append((first, second))
        inside.add(second)
    for variable in set().union(*sets):
        holders = {number for number, table in enumerate(sets) if variable in table}
        linked = [(a, b) for a, b in edges if a in holders and b in holders]
        if len(linked) != len(holders) - 1:  # a forest of holders is a tree iff so
            return None
    return edges


def _balances(
    measure: str,
    interiors: list[tuple[tuple[str, ...], list[Assignment]]],
    names: list[tuple[str, ...]],
    first: int,
    second: int,
) -> list[tuple[list[CellKey], list[CellKey]]]:
    """Per category of the variables two tables share: the first table's interior
    cells in it sum to the same as the second's (a non-negative joint table of tables
    along a join tree exists exactly when every such balance holds)."""
    shared = [variable for variable in names[first] if variable in names[second]]
    if not shared:
        return []  # only the grand total links them, and it is a cell of both
    sides: list[dict[Assignment, list[CellKey]]] = []
    for number in (first, second):
        table_variables, assignments = interiors[number]
        picks = [names[number].index(variable) for variable in shared]
        side: dict[Assignment, list[CellKey]] = {}
        for assignment in assignments:
            side.setdefault(tuple(assignment[pick] for pick in picks), []).append(
                _key(measure, table_variables, assignment)
            )
        sides.append(side)
    balances = []
    for category in sorted(set(sides[0]) | set(sides[1])):
        plus, minus = sides[0].get(category, []), sides[1].get(category, [])
        if sorted(plus) != sorted(minus):  # the same cells: nothing to say
            balances.append((plus, minus))
    return balances


def _sharing_groups(names: list[tuple[str, ...]]) -> list[list[int]]:
    """Tables linked by shared variables (directly or through other tables)."""
    group_of: dict[str, int] = {}
    groups: list[set[int]] = []
    for number, variables in enumerate(names):
        joined = {group_of[variable] for variable in variables if variable in group_of}
        merged = {number}.union(*(groups[group] for group in joined))
        for group in joined:
            groups[group] = set()
        groups.append(merged)
        for table in merged:
            for variable in names[table]:
                group_of[variable] = len(groups) - 1
    return [sorted(group) for group in groups if group]


def _sums(
    measure: str,
    interior: tuple[tuple[str, ...], list[Assignment]],
    joined_as: tuple[str, ...],
    variables: tuple[str, ...],
    assignments: list[Assignment],
    offset: int,
) -> list[tuple[CellKey, np.ndarray]]:
    """Each interior cell of one table with the atoms (``offset`` + position) in it."""
    table_variables, table_assignments = interior
    if set(joined_as) == set(variables):
        # Its interior cells are atoms; one the join ruled out must be empty.
        atom_set = {_key(measure, variables, assignment) for assignment in assignments}
        cells = (_key(measure, table_variables, assignment) for assignment in table_assignments)
        return [(key, np.zeros(0, dtype=np.int64)) for key in cells if key not in atom_set]
    picks = [variables.index(variable) for variable in joined_as]
    members: dict[Assignment, list[int]] = {}
    for position, assignment in enumerate(assignments):
        members.setdefault(tuple(assignment[pick] for pick in picks), []).append(offset + position)
    return [
        (
            _key(measure, table_variables, assignment),
            np.asarray(members.get(assignment, []), dtype=np.int64),
        )
        for assignment in table_assignments
    ]


def _interior(keys: Sequence[CellKey]) -> tuple[tuple[str, ...], list[Assignment]]:
    """A table's variables (sorted) and its interior cells as category tuples."""
    variables = tuple(sorted({variable for _, pairs in keys for variable, _ in pairs}))
    interior = [
        tuple(value for _, value in pairs) for _, pairs in keys if len(pairs) == len(variables)
    ]
    return variables, interior


def _join_names(interiors: list[tuple[tuple[str, ...], list[Assignment]]]) -> list[Assignment]:
    """The name each table's variables are joined by: their own, unless tables list
    different categories under one name (age bands cut two ways), in which case each
    coding is a variable of its own (its atoms never match a published cell's key)."""
    codings: dict[str, list[frozenset[str]]] = {}
    seen: list[dict[str, frozenset[str]]] = []
    for variables, assignments in interiors:
        table = {
            variable: frozenset(assignment[place] for assignment in assignments)
            for place, variable in enumerate(variables)
        }
        for variable, categories in table.items():
            if categories not in codings.setdefault(variable, []):
                codings[variable].append(categories)
        seen.append(table)
    return [
        tuple(
            variable
            if len(codings[variable]) == 1
            else f"{variable}{CODING_SEPARATOR}{codings[variable].index(table[variable])}"
            for variable in variables
        )
        for (variables, _), table in zip(interiors, seen, strict=True)
    ]


def _join(
    variables: tuple[str, ...],
    assignments: list[Assignment],
    other_variables: tuple[str, ...],
    other_assignments: list[Assignment],
    room: int,
) -> tuple[tuple[str, ...], list[Assignment]] | None:
    """Natural join of two sets of assignments on their shared variables (None when it
    holds more than ``room`` assignments)."""
    shared = [variable for variable in other_variables if variable in variables]
    extra = [variable for variable in other_variables if variable not in variables]
    left_picks = [variables.index(variable) for variable in shared]
    right_shared = [other_variables.index(variable) for variable in shared]
    right_extra = [other_variables.index(variable) for variable in extra]
    extensions: dict[Assignment, list[Assignment]] = {}
    for assignment in other_assignments:
        extensions.setdefault(tuple(assignment[i] for i in right_shared), []).append(
            tuple(assignment[i] for i in right_extra)
        )
    joined: list[Assignment] = []
    for assignment in assignments:
        for extension in extensions.get(tuple(assignment[i] for i in left_picks), ()):
            joined.append(assignment + extension)
        if len(joined) > room:
            return None
    return (*variables, *extra), joined


def _key(measure: str, variables: Sequence[str], assignment: Assignment) -> CellKey:
    return (measure, tuple(sorted(zip(variables, assignment, strict=True))))
