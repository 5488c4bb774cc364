"""ICTG stages 2-4 in the TRE: combine the DW, RPC and Missing returns, then long and wide forms.

The stages read pseudonymised attribute tables keyed by the pseudonymous URN
(``record_pid``; any key column can be named) and never an identifier:

* stage 2-3: ``referral`` becomes one row per child-episode (duplicates merged,
  re-entries numbered, unjoinable rows set aside with a reason), ``monthly`` and
  ``contact`` are de-duplicated across groups and attached to episodes;
* stage 4: ``long`` (every event with its episode's referral details) and ``wide``
  (one row per child).

``build_stages`` runs the SQL of ``episodes``, ``events`` and ``forms`` (this package)
in a DuckDB connection and leaves the tables ``ictg_referral``, ``ictg_monthly``,
``ictg_contact``, ``ictg_long`` and ``ictg_wide`` there; ``write_stages`` does so in a
private connection and writes ``<table>.parquet`` plus ``summary.json`` atomically.
The rules are documented in docs/ictg-stages.md.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import duckdb

from linkage.errors import LinkageError
from linkage.ictg.episodes import (
    episode_entries_sql,
    episodes_sql,
    referral_clusters_sql,
    referral_status_sql,
)
from linkage.ictg.events import attach_events_sql, dedupe_events_sql
from linkage.ictg.forms import IctgCodes, long_form_sql, wide_form_sql
from linkage.ictg.inputs import (
    IctgInputError,
    IctgSources,
    load_inputs,
)
from linkage.ictg.summary import IctgSummary, summarise
from trelink.atomic import atomic_directory
from trelink.specs.dataset import dataset_spec_path, load_dataset_spec
from trelink.sql import quote_literal

__all__ = ["OUTPUT_TABLES", "IctgRules", "build_stages", "default_codes", "write_stages"]

# Output tables, in the order they are built; each is ``ictg_<name>`` in the connection.
OUTPUT_TABLES = ("referral", "monthly", "contact", "long", "wide")

_KEY = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class IctgRules:
    """The tolerances of the duplicate, re-entry and attachment rules (docs/ictg-stages.md)."""

    duplicate_window_days: int = 7
    reentry_gap_days: int = 90
    event_grace_days: int = 31
    end_of_data: date | None = None  # default: the latest date in the inputs

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be zero or more"
            for name in ("duplicate_window_days", "reentry_gap_days", "event_grace_days")
            if getattr(self, name) < 0
        ]
        if self.reentry_gap_days < self.duplicate_window_days:
            problems.append("reentry_gap_days must not be below duplicate_window_days")
        if problems:
            raise LinkageError("ICTG rules: " + "; ".join(problems))


def default_codes() -> IctgCodes:
    """The wide-form code lists of the shipped ICTG dataset spec."""
    return IctgCodes.from_spec(load_dataset_spec(dataset_spec_path("ictg")))


def _end_of_data(connection: duckdb.DuckDBPyConnection, inputs: dict[str, str]) -> date:
    found = connection.sql(
        f"""SELECT greatest(
            (SELECT max(greatest(referral_date, closure_date)) FROM {inputs["referral"]}),
            (SELECT max(CAST(month + INTERVAL 1 MONTH AS DATE) - 1) FROM {inputs["monthly"]}),
            (SELECT max(contact_date) FROM {inputs["contact"]}))"""
    ).fetchall()[0][0]
    if found is None:
        raise IctgInputError("no input table holds a date; nothing to combine")
    return found if isinstance(found, date) else date.fromisoformat(str(found))


def _steps(
    inputs: dict[str, str], *, key: str, rules: IctgRules, end: date, codes: IctgCodes
) -> list[tuple[str, str]]:
    """(table to create, SQL) in order: the whole pipeline as data."""
    grace = rules.event_grace_days
    return [
        (
            "ictg_referral_status",
            referral_status_sql(inputs["referral"], inputs["monthly"], inputs["contact"], key=key),
        ),
        (
            "ictg_referral_clusters",
            referral_clusters_sql(
                "ictg_referral_status", key=key, duplicate_window_days=rules.duplicate_window_days
            ),
        ),
        (
            "ictg_referral_entries",
            episode_entries_sql(
                "ictg_referral_clusters", key=key, reentry_gap_days=rules.reentry_gap_days
            ),
        ),
        (
            "ictg_referral",
            episodes_sql(
                "ictg_referral_status",
                "ictg_referral_clusters",
                "ictg_referral_entries",
                key=key,
                end_of_data=end,
            ),
        ),
        (
            "ictg_monthly_merged",
            dedupe_events_sql(
                inputs["monthly"],
                key=key,
                identity=("month",),
                values=("status", "missing_episodes", "placement_type", "period"),
                compared=("status", "missing_episodes", "placement_type"),
                keep_repeats=False,
            ),
        ),
        (
            "ictg_monthly",
            attach_events_sql(
                "ictg_monthly_merged",
                "ictg_referral",
                key=key,
                date_column="month",
                by_month=True,
                grace_days=grace,
            ),
        ),
        (
            "ictg_contact_merged",
            dedupe_events_sql(
                inputs["contact"],
                key=key,
                identity=("contact_date", "contact_type", "contact_subject"),
                values=("period",),
                compared=(),
                keep_repeats=True,
            ),
        ),
        (
            "ictg_contact",
            attach_events_sql(
                "ictg_contact_merged",
                "ictg_referral",
                date_column="contact_date",
                by_month=False,
                key=key,
                grace_days=grace,
            ),
        ),
        ("ictg_long", long_form_sql("ictg_monthly", "ictg_contact", "ictg_referral", key=key)),
        (
            "ictg_wide",
            wide_form_sql("ictg_referral", "ictg_monthly", "ictg_contact", key=key, codes=codes),
        ),
    ]


def build_stages(
    connection: duckdb.DuckDBPyConnection,
    sources: IctgSources,
    *,
    key: str = "record_pid",
    rules: IctgRules | None = None,
    codes: IctgCodes | None = None,
    on_step: Callable[[str, int], None] | None = None,
) -> IctgSummary:
    """Run stages 2-4; leave ``ictg_<table>`` for each of ``OUTPUT_TABLES`` in ``connection``.

    ``on_step`` is called with each work table's name and the number of steps as the
    table is built (for progress bars).
    """
    if not _KEY.match(key):
        raise IctgInputError(f"key column {key!r} is not a plain lower-case column name")
    rules = rules or IctgRules()
    codes = codes or default_codes()
    inputs: dict[str, str] = {
        name: table for name, table in load_inputs(connection, sources, key=key).items()
    }
    end = rules.end_of_data or _end_of_data(connection, inputs)
    steps = _steps(inputs, key=key, rules=rules, end=end, codes=codes)
    for table, sql in steps:
        if on_step is not None:
            on_step(table, len(steps))
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}")
    return summarise(
        connection,
        inputs=inputs,
        outputs={name: f"ictg_{name}" for name in OUTPUT_TABLES},
        key=key,
        end_of_data=end,
        rules={
            name: value
            for name, value in asdict(rules).items()
            if isinstance(value, int) and name != "end_of_data"
        },
        exploitation_types=codes.exploitation_types,
        contact_types=codes.contact_types,
        contact_subjects=codes.contact_subjects,
    )


def write_stages(
    sources: IctgSources,
    out: str | os.PathLike[str],
    *,
    key: str = "record_pid",
    rules: IctgRules | None = None,
    codes: IctgCodes | None = None,
    overwrite: bool = False,
    on_step: Callable[[str, int], None] | None = None,
) -> IctgSummary:
    """Build the stages and write ``out/<table>.parquet`` and ``out/summary.json`` atomically."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not overwrite)):
        raise LinkageError(f"{out} already exists and is not empty; choose another --out")
    with atomic_directory(out, overwrite=True) as work:
        connection = duckdb.connect()
        try:
            summary = build_stages(
                connection, sources, key=key, rules=rules, codes=codes, on_step=on_step
            )
            for name in OUTPUT_TABLES:
                # Internal columns (rank, row numbers) start with an underscore; none leave.
                target = quote_literal(str(work / f"{name}.parquet"))
                connection.execute(
                    f"COPY (SELECT COLUMNS(lambda c: NOT starts_with(c, '_')) FROM ictg_{name}) "
                    f"TO {target} (FORMAT parquet)"
                )
        finally:
            connection.close()
        (work / "summary.json").write_text(
            json.dumps(summary.to_json(), indent=2) + "\n", encoding="utf-8"
        )
    return summary
