"""Which copy of a duplicated ICTG row wins a conflicting field.

The same referral, monthly return or contact often reaches the Home Office twice: once
from the direct-worker (DW) or regional-practice-coordinator (RPC) return and again in
a 'Missing' file of late returns. When the copies disagree, the field is taken from the
most preferred copy that has a value:

1. DW and RPC returns before Missing files (the Missing files were compiled later from
   incomplete records), any other group last;
2. then the later reporting period (a later return records later corrections, such as
   a closure);
3. then input order (``_row``), so the choice is deterministic.

A null in the preferred copy never hides a value in another copy (``preferred``).
"""

from __future__ import annotations

from collections.abc import Iterable

from trelink.sql import quote_identifier

__all__ = ["PREFERENCE_ORDER", "group_rank", "preferred", "source_groups", "values_conflict"]

# Columns every ICTG work table carries (see ``linkage.ictg.inputs``).
PREFERENCE_ORDER = "_rank, period DESC NULLS LAST, _row"


def group_rank(column: str = "group") -> str:
    """SQL for the rank of a row's source group: 1 for DW/RPC, 2 for Missing, 3 otherwise."""
    value = f"upper(trim({quote_identifier(column)}))"
    return f"CASE WHEN {value} IN ('DW', 'RPC') THEN 1 WHEN {value} = 'MISSING' THEN 2 ELSE 3 END"


def preferred(column: str, *, alias: str | None = None) -> str:
    """Aggregate SQL: the value of ``column`` in the most preferred copy that has one."""
    name = quote_identifier(column)
    not_empty = f"{name} IS NOT NULL"
    if column == "exploitation_types":
        # An empty list records nothing, like a null.
        not_empty += f" AND len({name}) > 0"
    return (
        f"first({name} ORDER BY {PREFERENCE_ORDER}) FILTER (WHERE {not_empty}) "
        f"AS {quote_identifier(alias or column)}"
    )


def source_groups(column: str = "group") -> str:
    """Aggregate SQL: the sorted distinct source groups of the merged copies."""
    quoted = quote_identifier(column)
    return f"list(DISTINCT {quoted} ORDER BY {quoted}) AS source_groups"


def values_conflict(columns: Iterable[str]) -> str:
    """Aggregate SQL: the names of ``columns`` on which the merged copies disagree (a list)."""
    checks = []
    for column in columns:
        value = quote_identifier(column)
        if column == "exploitation_types":
            value = f"list_sort({value})"
        checks.append(f"CASE WHEN count(DISTINCT {value}) > 1 THEN '{column}' END")
    return f"list_filter([{', '.join(checks)}], lambda name: name IS NOT NULL)"
