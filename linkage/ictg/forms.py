"""ICTG stage 4: the long form (every event with its episode) and the wide form (one row per child).

The wide form is per child, as the analyses need: referral details from the child's
first episode (nationality and worker type from the first episode that records them),
closure reason and moved-on service from the last episode (null while it is open),
exploitation types as one flag per code plus a count (over all episodes; ``unknown`` is
not counted as a type), days and months in service summed over episodes (an episode
runs from its first referral date to its closure, the next episode's start or the end
of the data, whichever comes first; a month is 30.4375 days), monthly returns and
missing episodes, contact counts by type and by subject (one column per code of the
dataset spec, so every run has the same columns), the episode and re-entry counts and
the source groups. Only events attached to an episode are counted; orphans stay in the
long form and in the summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from linkage.ictg.inputs import IctgInputError
from trelink.specs.dataset import DatasetSpec
from trelink.sql import quote_identifier

__all__ = ["IctgCodes", "long_form_sql", "wide_form_sql"]

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class IctgCodes:
    """Category codes that become wide-form columns, from the ICTG dataset spec."""

    exploitation_types: tuple[str, ...]
    contact_types: tuple[str, ...]
    contact_subjects: tuple[str, ...]

    @classmethod
    def from_spec(cls, spec: DatasetSpec) -> IctgCodes:
        """Read the code lists of the ``referral`` and ``contact`` tables of ``spec``."""
        try:
            codes = cls(
                exploitation_types=tuple(
                    spec.table("referral").column("exploitation_types").categories
                ),
                contact_types=tuple(spec.table("contact").column("contact_type").categories),
                contact_subjects=tuple(spec.table("contact").column("contact_subject").categories),
            )
        except KeyError as error:
            raise IctgInputError(
                f"dataset spec {spec.dataset!r} has no {error.args[0]!r} table or column; "
                "give the ICTG spec (specs/datasets/ictg.yaml)"
            ) from error
        bad = [
            code
            for code in (*codes.exploitation_types, *codes.contact_types, *codes.contact_subjects)
            if not _CODE.match(code)
        ]
        if bad:
            raise IctgInputError(
                f"dataset spec {spec.dataset!r}: codes {bad} cannot name columns "
                "(use lower-case letters, digits and underscores)"
            )
        return codes


_REFERRAL_DETAILS = (
    "entry",
    "referral_date",
    "site",
    "nationality",
    "worker_type",
    "exploitation_types",
    "closure_date",
    "closure_reason",
    "moved_on_service",
)


def long_form_sql(monthly: str, contact: str, episodes: str, *, key: str) -> str:
    """Every monthly and contact row (orphans too) with its episode's referral details."""
    k = quote_identifier(key)
    details = ", ".join(f"ep.{quote_identifier(column)}" for column in _REFERRAL_DETAILS)
    return f"""
        WITH events AS (
            SELECT 'monthly' AS event_type, {k}, episode, month AS event_date,
                status, missing_episodes, placement_type,
                CAST(NULL AS VARCHAR) AS contact_type, CAST(NULL AS VARCHAR) AS contact_subject,
                period AS event_period, source_groups AS event_source_groups,
                orphan_reason, _row
            FROM {monthly}
            UNION ALL
            SELECT 'contact', {k}, episode, contact_date, NULL, NULL, NULL,
                contact_type, contact_subject, period, source_groups, orphan_reason, _row
            FROM {contact}
        )
        SELECT ev.* EXCLUDE (_row), {details}
        FROM events AS ev
        LEFT JOIN {episodes} AS ep ON ep.{k} = ev.{k} AND ep.episode = ev.episode
        ORDER BY ev.{k} NULLS LAST, ev.event_date NULLS LAST, ev.event_type, ev._row
    """


def _count_columns(column: str, prefix: str, codes: tuple[str, ...]) -> list[str]:
    return [
        f"count(*) FILTER (WHERE {quote_identifier(column)} = '{code}') "
        f"AS {quote_identifier(prefix + code)}"
        for code in codes
    ]


def wide_form_sql(episodes: str, monthly: str, contact: str, *, key: str, codes: IctgCodes) -> str:
    """One row per child with at least one episode (see the module docstring)."""
    k = quote_identifier(key)
    contact_counts = [
        *_count_columns("contact_type", "contacts_type_", codes.contact_types),
        *_count_columns("contact_subject", "contacts_subject_", codes.contact_subjects),
    ]
    contact_names = [
        quote_identifier(f"contacts_{kind}_{code}")
        for kind, group in (("type", codes.contact_types), ("subject", codes.contact_subjects))
        for code in group
    ]
    flags = [
        f"list_contains(_types, '{code}') AS {quote_identifier('exploitation_' + code)}"
        for code in codes.exploitation_types
    ]
    outputs = [
        f"c.{k}",
        "episodes",
        "re_entries",
        "re_entries_unclosed",
        "first_referral_date",
        "last_referral_date",
        "site",
        "last_site",
        "nationality",
        "worker_type",
        *flags,
        "len(list_filter(_types, lambda code: code <> 'unknown')) AS exploitation_type_count",
        "closure_date IS NULL AS open_at_end_of_data",
        "closure_date",
        "closure_reason",
        "moved_on_service",
        "days_in_service",
        "round(days_in_service / 30.4375, 1) AS months_in_service",
        "coalesce(m.monthly_returns, 0) AS monthly_returns",
        "coalesce(m.missing_episodes_total, 0) AS missing_episodes_total",
        "coalesce(ct.contacts_total, 0) AS contacts_total",
        *(f"coalesce(ct.{name}, 0) AS {name}" for name in contact_names),
        "duplicate_referral_rows",
        "site_conflict",
        "date_conflict",
        "list_sort(list_distinct(flatten(flatten("
        "[c._groups, coalesce(m._groups, []), coalesce(ct._groups, [])])))) AS source_groups",
    ]
    return f"""
        WITH children AS (
            SELECT {k},
                count(*) AS episodes,
                count(*) FILTER (WHERE entry = 're_entry') AS re_entries,
                count(*) FILTER (WHERE entry = 're_entry_unclosed') AS re_entries_unclosed,
                min(referral_date) AS first_referral_date,
                max(referral_date) AS last_referral_date,
                first(site ORDER BY episode) AS site,
                first(site ORDER BY episode DESC) AS last_site,
                first(nationality ORDER BY episode) FILTER (WHERE nationality IS NOT NULL)
                    AS nationality,
                first(worker_type ORDER BY episode) FILTER (WHERE worker_type IS NOT NULL)
                    AS worker_type,
                list_distinct(flatten(list(coalesce(exploitation_types, [])))) AS _types,
                first(closure_date ORDER BY episode DESC) AS closure_date,
                first(closure_reason ORDER BY episode DESC) AS closure_reason,
                first(moved_on_service ORDER BY episode DESC) AS moved_on_service,
                CAST(sum(days_in_service) AS BIGINT) AS days_in_service,
                CAST(sum(referral_rows) - count(*) AS BIGINT) AS duplicate_referral_rows,
                bool_or(site_conflict) AS site_conflict,
                bool_or(date_conflict) AS date_conflict,
                list(source_groups) AS _groups
            FROM {episodes} WHERE episode IS NOT NULL GROUP BY {k}
        ), monthly_counts AS (
            SELECT {k}, count(*) AS monthly_returns,
                CAST(coalesce(sum(missing_episodes), 0) AS BIGINT) AS missing_episodes_total,
                list(source_groups) AS _groups
            FROM {monthly} WHERE episode IS NOT NULL GROUP BY {k}
        ), contact_counts AS (
            SELECT {k}, {", ".join(["count(*) AS contacts_total", *contact_counts])},
                list(source_groups) AS _groups
            FROM {contact} WHERE episode IS NOT NULL GROUP BY {k}
        )
        SELECT {", ".join(outputs)}
        FROM children AS c
        LEFT JOIN monthly_counts AS m ON m.{k} = c.{k}
        LEFT JOIN contact_counts AS ct ON ct.{k} = c.{k}
        ORDER BY c.{k}
    """
