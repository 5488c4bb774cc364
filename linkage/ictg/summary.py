"""What the ICTG stage rules did: counts per rule, for ``summary.json`` and the terminal.

Only counts, dates of the data's extent and reporting months appear here, never a key
or an attribute value of a child. ``months_without_returns`` lists, per source group,
the reporting months inside the data's range with no monthly return at all: the
documented gaps (DW February-March 2019, RPC October 2018-March 2019, 2021 Q3 only in
Missing files) show up here, so a reader can tell a gap in the returns from a child
who was not seen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

from trelink.sql import quote_identifier

__all__ = ["EventOutcome", "IctgSummary", "ReferralOutcome", "render", "summarise"]


@dataclass(frozen=True)
class ReferralOutcome:
    """Rule outcomes for referrals."""

    input_rows: int
    episodes: int
    children: int
    duplicate_rows_merged: int
    site_conflicts: int
    date_conflicts: int
    field_conflicts: int
    re_entries: int
    re_entries_unclosed: int
    closure_before_referral: int
    excluded: dict[str, int]
    urn_missing_by_period: dict[str, int]
    unknown_exploitation_types: int


@dataclass(frozen=True)
class EventOutcome:
    """Rule outcomes for monthly returns or contacts."""

    input_rows: int
    output_rows: int
    duplicates_removed: int
    conflicting_rows: int
    attached: int
    orphans: dict[str, int]
    unknown_codes: dict[str, int]


@dataclass(frozen=True)
class IctgSummary:
    """Everything ``summary.json`` holds."""

    key: str
    end_of_data: date
    rules: dict[str, int]
    referral: ReferralOutcome
    monthly: EventOutcome
    contact: EventOutcome
    wide_rows: int
    months_without_returns: dict[str, list[str]]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        data = asdict(self)
        data["end_of_data"] = self.end_of_data.isoformat()
        return data


def _scalar(connection: duckdb.DuckDBPyConnection, sql: str) -> int:
    value = connection.sql(sql).fetchall()[0][0]
    return int(value or 0)


def _counts(connection: duckdb.DuckDBPyConnection, sql: str) -> dict[str, int]:
    return {str(name): int(count) for name, count in connection.sql(sql).fetchall()}


def _unknown(
    connection: duckdb.DuckDBPyConnection, table: str, column: str, codes: tuple[str, ...]
) -> int:
    listed = ", ".join(f"'{code}'" for code in codes) or "NULL"
    return _scalar(
        connection,
        f"SELECT count(*) FROM {table} WHERE {quote_identifier(column)} IS NOT NULL "
        f"AND {quote_identifier(column)} NOT IN ({listed})",
    )


def _referral_outcome(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    combined: str,
    *,
    key: str,
    exploitation_types: tuple[str, ...],
) -> ReferralOutcome:
    row = connection.sql(
        f"""SELECT count(episode),
            count(DISTINCT {quote_identifier(key)}) FILTER (WHERE episode IS NOT NULL),
            coalesce(sum(referral_rows - 1) FILTER (WHERE episode IS NOT NULL), 0),
            count(*) FILTER (WHERE site_conflict), count(*) FILTER (WHERE date_conflict),
            count(*) FILTER (WHERE len(conflicting_fields) > 0),
            count(*) FILTER (WHERE entry = 're_entry'),
            count(*) FILTER (WHERE entry = 're_entry_unclosed'),
            count(*) FILTER (WHERE closure_before_referral)
        FROM {combined}"""
    ).fetchall()[0]
    listed = ", ".join(f"'{code}'" for code in exploitation_types) or "NULL"
    return ReferralOutcome(
        input_rows=_scalar(connection, f"SELECT count(*) FROM {source}"),
        episodes=int(row[0]),
        children=int(row[1]),
        duplicate_rows_merged=int(row[2]),
        site_conflicts=int(row[3]),
        date_conflicts=int(row[4]),
        field_conflicts=int(row[5]),
        re_entries=int(row[6]),
        re_entries_unclosed=int(row[7]),
        closure_before_referral=int(row[8]),
        excluded=_counts(
            connection,
            f"SELECT excluded_reason, count(*) FROM {combined} "
            "WHERE excluded_reason IS NOT NULL GROUP BY ALL ORDER BY 1",
        ),
        urn_missing_by_period=_counts(
            connection,
            f"SELECT coalesce(period, 'unknown'), count(*) FROM {combined} "
            "WHERE excluded_reason = 'urn_missing' GROUP BY ALL ORDER BY 1",
        ),
        unknown_exploitation_types=_scalar(
            connection,
            f"SELECT count(*) FROM (SELECT unnest(exploitation_types) AS code FROM {source}) "
            f"WHERE code IS NOT NULL AND code NOT IN ({listed})",
        ),
    )


def _event_outcome(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    combined: str,
    *,
    codes: dict[str, tuple[str, ...]],
) -> EventOutcome:
    row = connection.sql(
        f"""SELECT count(*), sum(duplicates_removed),
            count(*) FILTER (WHERE len(conflicting_fields) > 0), count(episode)
        FROM {combined}"""
    ).fetchall()[0]
    return EventOutcome(
        input_rows=_scalar(connection, f"SELECT count(*) FROM {source}"),
        output_rows=int(row[0]),
        duplicates_removed=int(row[1] or 0),
        conflicting_rows=int(row[2]),
        attached=int(row[3]),
        orphans=_counts(
            connection,
            f"SELECT orphan_reason, count(*) FROM {combined} "
            "WHERE orphan_reason IS NOT NULL GROUP BY ALL ORDER BY 1",
        ),
        unknown_codes={
            column: _unknown(connection, combined, column, column_codes)
            for column, column_codes in codes.items()
        },
    )


def _months_without_returns(
    connection: duckdb.DuckDBPyConnection, monthly_source: str
) -> dict[str, list[str]]:
    rows = connection.sql(
        f"""WITH months AS (
            SELECT CAST(date_trunc('month', month) AS DATE) AS month,
                {quote_identifier("group")} AS grp
            FROM {monthly_source} WHERE month IS NOT NULL
        ), calendar AS (
            SELECT CAST(unnest(generate_series(min(month), max(month), INTERVAL 1 MONTH))
                AS DATE) AS month FROM months
        ), groups AS (
            SELECT DISTINCT grp FROM months WHERE grp IS NOT NULL UNION ALL SELECT 'any group'
        )
        SELECT g.grp, strftime(c.month, '%Y-%m')
        FROM groups AS g CROSS JOIN calendar AS c
        WHERE NOT EXISTS (
            SELECT 1 FROM months AS m
            WHERE m.month = c.month AND (g.grp = 'any group' OR m.grp = g.grp)
        )
        ORDER BY g.grp, c.month"""
    ).fetchall()
    gaps: dict[str, list[str]] = {}
    for group, month in rows:
        gaps.setdefault(str(group), []).append(str(month))
    return gaps


def summarise(
    connection: duckdb.DuckDBPyConnection,
    *,
    inputs: dict[str, str],
    outputs: dict[str, str],
    key: str,
    end_of_data: date,
    rules: dict[str, int],
    exploitation_types: tuple[str, ...],
    contact_types: tuple[str, ...],
    contact_subjects: tuple[str, ...],
) -> IctgSummary:
    """Count the rule outcomes from the stage tables (input and output table names by stage)."""
    return IctgSummary(
        key=key,
        end_of_data=end_of_data,
        rules=rules,
        referral=_referral_outcome(
            connection,
            inputs["referral"],
            outputs["referral"],
            key=key,
            exploitation_types=exploitation_types,
        ),
        monthly=_event_outcome(connection, inputs["monthly"], outputs["monthly"], codes={}),
        contact=_event_outcome(
            connection,
            inputs["contact"],
            outputs["contact"],
            codes={"contact_type": contact_types, "contact_subject": contact_subjects},
        ),
        wide_rows=_scalar(connection, f"SELECT count(*) FROM {outputs['wide']}"),
        months_without_returns=_months_without_returns(connection, inputs["monthly"]),
    )


def _month_ranges(months: list[str]) -> str:
    """'2019-02, 2019-03, 2019-05' -> '2019-02..2019-03, 2019-05'."""
    ranges: list[list[str]] = []
    for month in months:
        year, number = (int(part) for part in month.split("-"))
        previous = f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"
        if ranges and ranges[-1][1] == previous:
            ranges[-1][1] = month
        else:
            ranges.append([month, month])
    return ", ".join(start if start == end else f"{start}..{end}" for start, end in ranges)


def render(summary: IctgSummary, console: Console) -> None:
    """Print the rule outcomes as tables."""
    referral = summary.referral
    table = Table(title=f"ICTG stages 2-4 (key {summary.key}, data to {summary.end_of_data})")
    table.add_column("rule")
    table.add_column("count", justify="right")
    rows: list[tuple[str, int]] = [
        ("referral rows in", referral.input_rows),
        ("episodes", referral.episodes),
        ("children (wide rows)", summary.wide_rows),
        ("duplicate referral rows merged", referral.duplicate_rows_merged),
        ("re-entries after closure", referral.re_entries),
        ("re-entries without closure (flagged)", referral.re_entries_unclosed),
        ("episodes with a site conflict (flagged)", referral.site_conflicts),
        ("episodes with a referral-date conflict (flagged)", referral.date_conflicts),
        ("episodes whose copies disagree on a field", referral.field_conflicts),
        ("episodes closed before referral (flagged)", referral.closure_before_referral),
        *((f"referrals excluded: {reason}", n) for reason, n in referral.excluded.items()),
    ]
    for name, outcome in (("monthly", summary.monthly), ("contact", summary.contact)):
        rows += [
            (f"{name} rows in", outcome.input_rows),
            (f"{name} duplicates removed", outcome.duplicates_removed),
            (f"{name} rows attached to an episode", outcome.attached),
            *((f"{name} orphans: {reason}", n) for reason, n in outcome.orphans.items()),
            *((f"{name} unknown {column}", n) for column, n in outcome.unknown_codes.items() if n),
        ]
    for name, count in rows:
        table.add_row(name, f"{count:,}")
    console.print(table)
    for group, months in summary.months_without_returns.items():
        console.print(f"months without monthly returns ({group}): {_month_ranges(months)}")
