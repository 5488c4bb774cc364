"""ICTG stages 2-3 for referrals: one row per child-episode from the DW, RPC and Missing returns.

Every function returns one SQL ``SELECT`` over named tables; ``linkage.ictg`` runs them
in order. The rules (docs/ictg-stages.md has the full table):

* **Unjoinable referrals** are set aside with an ``excluded_reason``: no key
  (``no_key``), no referral date (``no_referral_date``), or a row carrying only site and
  date whose key occurs nowhere else (``urn_missing``: the 2020 January-April returns
  had no URN, so prepare made up an id that joins to nothing).
* **Duplicates.** A child's referral rows in date order whose referral dates lie within
  ``duplicate_window_days`` of the previous row are copies of one referral (a *cluster*),
  whichever group reported them, unless the previous row was closed before this
  referral date (a quick re-referral after closure). Different sites inside a cluster are flagged
  (``site_conflict``: a transfer or a data error), not split.
* **Re-entry.** A later cluster starts a new episode when the previous cluster was
  closed before its referral date (``re_entry``), or when it comes more than
  ``reentry_gap_days`` after the previous one without such a closure
  (``re_entry_unclosed``: flagged, the earlier closure is missing or wrong). Otherwise
  it joins the previous episode and the episode is flagged ``date_conflict`` (two
  returns disagree on the referral date of one open episode).
* **Merging.** Each field of an episode comes from the most preferred copy that has a
  value (``linkage.ictg.preference``); ``conflicting_fields`` names the fields on which
  copies disagreed.
"""

from __future__ import annotations

from datetime import date

from linkage.ictg.preference import (
    PREFERENCE_ORDER,
    group_rank,
    preferred,
    source_groups,
    values_conflict,
)
from trelink.sql import quote_identifier

__all__ = [
    "EPISODE_COLUMNS",
    "MERGED_FIELDS",
    "episode_entries_sql",
    "episodes_sql",
    "referral_clusters_sql",
    "referral_status_sql",
]

# Referral fields merged across copies, in output order.
MERGED_FIELDS = (
    "referral_date",
    "site",
    "nationality",
    "exploitation_types",
    "worker_type",
    "closure_date",
    "closure_reason",
    "moved_on_service",
    "period",
)
# Fields whose disagreement between copies is worth reporting (period always differs).
_COMPARED_FIELDS = tuple(field for field in MERGED_FIELDS if field != "period")

# Columns of the combined referral table after the key, in order.
EPISODE_COLUMNS = (
    "episode",
    "entry",
    *MERGED_FIELDS,
    "episode_start",
    "episode_end",
    "days_in_service",
    "referral_rows",
    "source_groups",
    "site_conflict",
    "date_conflict",
    "closure_before_referral",
    "conflicting_fields",
    "excluded_reason",
)


def referral_status_sql(referral: str, monthly: str, contact: str, *, key: str) -> str:
    """Every referral row with ``excluded_reason`` (null for rows that form episodes)."""
    k = quote_identifier(key)
    site_and_date_only = (
        "r.nationality IS NULL AND coalesce(len(r.exploitation_types), 0) = 0 "
        "AND r.worker_type IS NULL AND r.closure_date IS NULL "
        "AND r.closure_reason IS NULL AND r.moved_on_service IS NULL"
    )
    return f"""
        SELECT r.*, CASE
            WHEN r.{k} IS NULL THEN 'no_key'
            WHEN r.referral_date IS NULL THEN 'no_referral_date'
            WHEN {site_and_date_only}
                AND count(*) OVER (PARTITION BY r.{k}) = 1
                AND events.{k} IS NULL THEN 'urn_missing'
        END AS excluded_reason
        FROM {referral} AS r
        LEFT JOIN (SELECT {k} FROM {monthly} UNION SELECT {k} FROM {contact}) AS events
            ON events.{k} = r.{k}
    """


def referral_clusters_sql(status: str, *, key: str, duplicate_window_days: int) -> str:
    """Rows that form episodes, numbered into clusters of copies (``_cluster``) per child."""
    k = quote_identifier(key)
    order = f"referral_date, {PREFERENCE_ORDER}"
    return f"""
        WITH kept AS (
            SELECT *, {group_rank()} AS _rank FROM {status} WHERE excluded_reason IS NULL
        ), gaps AS (
            SELECT *,
                date_diff('day', lag(referral_date) OVER w, referral_date) AS _gap,
                coalesce(lag(closure_date) OVER w < referral_date, false) AS _closed_before
            FROM kept WINDOW w AS (PARTITION BY {k} ORDER BY {order})
        )
        SELECT * EXCLUDE (_gap, _closed_before),
            sum(CASE WHEN _gap IS NULL OR _gap > {int(duplicate_window_days)} OR _closed_before
                THEN 1 ELSE 0 END)
                OVER (PARTITION BY {k} ORDER BY {order} ROWS UNBOUNDED PRECEDING) AS _cluster
        FROM gaps
    """


def episode_entries_sql(clusters: str, *, key: str, reentry_gap_days: int) -> str:
    """Per cluster: its ``episode`` number and, for the first cluster of each, ``entry``."""
    k = quote_identifier(key)
    return f"""
        WITH bounds AS (
            SELECT {k}, _cluster, min(referral_date) AS _start,
                {preferred("closure_date", alias="_closure")}
            FROM {clusters} GROUP BY {k}, _cluster
        ), steps AS (
            SELECT *,
                lag(_start) OVER (PARTITION BY {k} ORDER BY _cluster) AS _previous_start,
                lag(_closure) OVER (PARTITION BY {k} ORDER BY _cluster) AS _previous_closure
            FROM bounds
        ), entries AS (
            SELECT {k}, _cluster, CASE
                WHEN _previous_start IS NULL THEN 'first'
                WHEN _previous_closure < _start THEN 're_entry'
                WHEN date_diff('day', _previous_start, _start) > {int(reentry_gap_days)}
                    THEN 're_entry_unclosed'
            END AS entry
            FROM steps
        )
        SELECT {k}, _cluster, entry,
            count(entry) OVER (PARTITION BY {k} ORDER BY _cluster ROWS UNBOUNDED PRECEDING)
                AS episode
        FROM entries
    """


def episodes_sql(status: str, clusters: str, entries: str, *, key: str, end_of_data: date) -> str:
    """The combined referral table: one row per child-episode, then the excluded rows."""
    k = quote_identifier(key)
    merged = ",\n".join(preferred(field) for field in MERGED_FIELDS)
    columns = ", ".join(quote_identifier(column) for column in (key, *EPISODE_COLUMNS))
    return f"""
        WITH numbered AS (
            SELECT c.*, e.entry AS _entry, e.episode
            FROM {clusters} AS c JOIN {entries} AS e USING ({k}, _cluster)
        ), merged AS (
            SELECT {k}, episode,
                first(_entry ORDER BY _cluster) FILTER (WHERE _entry IS NOT NULL) AS entry,
                {merged},
                min(referral_date) AS episode_start,
                count(*) AS referral_rows,
                {source_groups()},
                count(DISTINCT site) > 1 AS site_conflict,
                count(DISTINCT _cluster) > 1 AS date_conflict,
                {values_conflict(_COMPARED_FIELDS)} AS conflicting_fields
            FROM numbered GROUP BY {k}, episode
        ), ended AS (
            SELECT *, least(
                coalesce(closure_date, DATE '{end_of_data.isoformat()}'),
                lead(episode_start) OVER (PARTITION BY {k} ORDER BY episode) - 1
            ) AS episode_end
            FROM merged
        ), episodes AS (
            SELECT *,
                greatest(date_diff('day', episode_start, episode_end), 0) AS days_in_service,
                coalesce(closure_date < episode_start, false) AS closure_before_referral,
                CAST(NULL AS VARCHAR) AS excluded_reason
            FROM ended
        ), excluded AS (
            SELECT * EXCLUDE (_row, "group"), 1 AS referral_rows,
                [{quote_identifier("group")}] AS source_groups, false AS site_conflict,
                false AS date_conflict, false AS closure_before_referral,
                CAST([] AS VARCHAR[]) AS conflicting_fields, _row
            FROM {status} WHERE excluded_reason IS NOT NULL
        )
        SELECT {columns} FROM (
            SELECT *, NULL AS _row FROM episodes UNION ALL BY NAME SELECT * FROM excluded
        )
        ORDER BY {k} NULLS LAST, episode NULLS LAST, _row
    """
