"""ICTG stages 2-3 for events: combine monthly returns and contacts and attach them to episodes.

Both are SQL builders over named tables, used for monthly and contact rows alike:

* ``dedupe_events_sql`` merges copies of one event reported by several groups. An
  event is identified by the key plus its identity columns (monthly: the month;
  contact: date, type and subject). Monthly returns are one per child and month, so all
  copies merge. Two identical contacts in one group's return can be genuine (two calls
  on one day), so contacts are numbered within each group and only the n-th copy of
  each group merges with the n-th of the others: the number kept is the largest count
  any one group reported. Values come from the preferred copy (``preference``).
* ``attach_events_sql`` gives each event the episode whose window contains it: from the
  referral (monthly: its month) less ``grace_days`` to the closure date plus
  ``grace_days`` (open episodes never end). Where windows overlap (an unclosed
  re-entry), the later episode wins. An event outside every window keeps a null
  episode and an ``orphan_reason``: ``no_key``, ``no_date``, ``no_referral`` (the key
  has no episode), ``before_referral`` or ``outside_episodes``.
"""

from __future__ import annotations

from collections.abc import Sequence

from linkage.ictg.preference import group_rank, preferred, source_groups, values_conflict
from trelink.sql import quote_identifier

__all__ = ["attach_events_sql", "dedupe_events_sql"]


def dedupe_events_sql(
    table: str,
    *,
    key: str,
    identity: Sequence[str],
    values: Sequence[str],
    compared: Sequence[str],
    keep_repeats: bool,
) -> str:
    """One row per distinct event; rows without key or date (``identity[0]``) pass through."""
    k = quote_identifier(key)
    ids = ", ".join(quote_identifier(column) for column in identity)
    dated = f"{k} IS NOT NULL AND {quote_identifier(identity[0])} IS NOT NULL"
    occurrence = (
        f", row_number() OVER (PARTITION BY {k}, {ids}, {quote_identifier('group')} ORDER BY _row)"
        " AS _occurrence"
        if keep_repeats
        else ""
    )
    grouping = f"{k}, {ids}" + (", _occurrence" if keep_repeats else "")
    merged = ", ".join(preferred(column) for column in values)
    passed = ", ".join(quote_identifier(column) for column in values)
    return f"""
        WITH ranked AS (
            SELECT *, {group_rank()} AS _rank{occurrence} FROM {table} WHERE {dated}
        )
        SELECT {k}, {ids}, {merged}, {source_groups()},
            count(*) - 1 AS duplicates_removed,
            {values_conflict(compared)} AS conflicting_fields,
            min(_row) AS _row
        FROM ranked GROUP BY {grouping}
        UNION ALL BY NAME
        SELECT {k}, {ids}, {passed}, [{quote_identifier("group")}] AS source_groups,
            0 AS duplicates_removed, CAST([] AS VARCHAR[]) AS conflicting_fields, _row
        FROM {table} WHERE NOT ({dated})
    """


def attach_events_sql(
    events: str,
    episodes: str,
    *,
    key: str,
    date_column: str,
    by_month: bool,
    grace_days: int,
) -> str:
    """``events`` with ``episode`` and ``orphan_reason``; one output row per input row."""
    k = quote_identifier(key)
    when = quote_identifier(date_column)
    start = "CAST(date_trunc('month', episode_start) AS DATE)" if by_month else "episode_start"
    grace = int(grace_days)
    return f"""
        WITH windows AS (
            SELECT {k}, episode, {start} AS _start, closure_date AS _closure
            FROM {episodes} WHERE episode IS NOT NULL
        ), firsts AS (
            SELECT {k}, min(_start) AS _first_start FROM windows GROUP BY {k}
        ), candidates AS (
            SELECT ev.*, w.episode, w._start
            FROM {events} AS ev LEFT JOIN windows AS w
                ON w.{k} = ev.{k} AND ev.{when} >= w._start - {grace}
                AND (w._closure IS NULL OR ev.{when} <= w._closure + {grace})
            QUALIFY row_number() OVER (
                PARTITION BY ev._row ORDER BY w._start DESC NULLS LAST, w.episode DESC) = 1
        )
        SELECT c.* EXCLUDE (_start), CASE
            WHEN c.episode IS NOT NULL THEN NULL
            WHEN c.{k} IS NULL THEN 'no_key'
            WHEN c.{when} IS NULL THEN 'no_date'
            WHEN f.{k} IS NULL THEN 'no_referral'
            WHEN c.{when} < f._first_start - {grace} THEN 'before_referral'
            ELSE 'outside_episodes'
        END AS orphan_reason
        FROM candidates AS c LEFT JOIN firsts AS f ON f.{k} = c.{k}
        ORDER BY c.{k} NULLS LAST, c.{when} NULLS LAST, c._row
    """
