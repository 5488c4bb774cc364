"""Where the ICTG stage 2-4 inputs come from, and the checks they pass before any rule runs.

The stages read three pseudonymised attribute tables (referral, monthly, contact), each
keyed by the pseudonymous URN (``record_pid`` by default). A table may arrive as one or
more Parquet files (the DW, RPC and Missing returns separately, or already combined by
``trelink prepare``), or as a table of a TRE DuckDB database. ``load_inputs`` checks
every source (readable, not empty, every canonical column present, values of the right
type) and copies the union of a table's sources into one work table with canonical
types and a stable row number ``_row`` (input order), which the rules use as their last
tie-break so results never depend on scan order.

Errors name the file (or database table), the column and, for a bad value, its row;
they never quote a value.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from linkage.errors import KeyMismatchError, LinkageError
from linkage.importer import list_datasets
from trelink.sql import column_types, quote_identifier, quote_literal

__all__ = [
    "TABLE_COLUMNS",
    "IctgInputError",
    "IctgSources",
    "TableName",
    "TableSource",
    "database_sources",
    "load_inputs",
    "parquet_sources",
    "work_table",
]

TableName = Literal["referral", "monthly", "contact"]

# Canonical attribute columns of each table (docs/data.md) and the DuckDB type each is
# cast to; the key column is added by the caller's choice (``record_pid``/``record_id``).
TABLE_COLUMNS: Mapping[TableName, Mapping[str, str]] = {
    "referral": {
        "nationality": "VARCHAR",
        "site": "VARCHAR",
        "referral_date": "DATE",
        "exploitation_types": "VARCHAR[]",
        "worker_type": "VARCHAR",
        "closure_date": "DATE",
        "closure_reason": "VARCHAR",
        "moved_on_service": "VARCHAR",
        "period": "VARCHAR",
        "group": "VARCHAR",
    },
    "monthly": {
        "month": "DATE",
        "status": "VARCHAR",
        "missing_episodes": "BIGINT",
        "placement_type": "VARCHAR",
        "period": "VARCHAR",
        "group": "VARCHAR",
    },
    "contact": {
        "contact_date": "DATE",
        "contact_type": "VARCHAR",
        "contact_subject": "VARCHAR",
        "period": "VARCHAR",
        "group": "VARCHAR",
    },
}

_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class IctgInputError(LinkageError):
    """An ICTG input table is unreadable, empty, lacks a column or holds a bad value."""


@dataclass(frozen=True)
class TableSource:
    """One relation DuckDB can read (``read_parquet(...)`` or a table) and its name in messages.

    ``owner_key_id`` is the id of the owner key the ``record_pid`` values were made
    under, where a manifest or the import registry records it.
    """

    relation: str
    origin: str
    owner_key_id: str | None = None


@dataclass(frozen=True)
class IctgSources:
    """The sources of the three tables; several sources of one table are stacked."""

    referral: tuple[TableSource, ...]
    monthly: tuple[TableSource, ...]
    contact: tuple[TableSource, ...]
    attach: tuple[str, ...] = ()  # SQL run first on the work connection (ATTACH ...)

    def of(self, table: TableName) -> tuple[TableSource, ...]:
        """The sources of ``table``."""
        sources: tuple[TableSource, ...] = getattr(self, table)
        return sources


def work_table(table: TableName) -> str:
    """Name of the work table ``load_inputs`` creates for ``table``."""
    return f"ictg_{table}_input"


def _owner_key_id(parquet: Path) -> str | None:
    """The owner key id in the ``manifest.json`` beside a pseudonymised table, if any."""
    manifest = parquet.parent / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        value = json.loads(manifest.read_text(encoding="utf-8")).get("owner_key_id")
    except (OSError, ValueError, AttributeError) as error:
        raise IctgInputError(f"{manifest}: not a readable manifest ({error})") from error
    return value if isinstance(value, str) else None


def parquet_sources(
    *,
    referral: Sequence[str | os.PathLike[str]],
    monthly: Sequence[str | os.PathLike[str]],
    contact: Sequence[str | os.PathLike[str]],
) -> IctgSources:
    """Sources from Parquet files (for example ``attributes.parquet`` of pseudonymised folders)."""

    def sources(table: str, given: Sequence[str | os.PathLike[str]]) -> tuple[TableSource, ...]:
        paths = [Path(path) for path in given]
        if not paths:
            raise IctgInputError(f"no {table} file given; pass at least one Parquet file")
        for path in paths:
            if not path.is_file():
                raise IctgInputError(f"{path}: {table} file not found")
        return tuple(
            TableSource(
                relation=f"read_parquet({quote_literal(str(path))})",
                origin=str(path),
                owner_key_id=_owner_key_id(path),
            )
            for path in paths
        )

    return IctgSources(
        referral=sources("referral", referral),
        monthly=sources("monthly", monthly),
        contact=sources("contact", contact),
    )


def _relation(name: str) -> str:
    return "tre." + ".".join(quote_identifier(part) for part in name.split("."))


def database_sources(
    database: str | os.PathLike[str],
    *,
    referral: Sequence[str],
    monthly: Sequence[str],
    contact: Sequence[str],
) -> IctgSources:
    """Sources from a TRE DuckDB database, attached read-only.

    Each name is a dataset imported with ``trelink import`` (its ``<name>__attributes``
    table is read and its owner key id checked) or else a table or view of the database.
    """
    database = Path(database)
    if not database.is_file():
        raise IctgInputError(f"{database}: database not found")
    try:
        with duckdb.connect(str(database), read_only=True) as connection:
            tables = {
                str(row[0])
                for row in connection.execute(
                    "SELECT table_name FROM information_schema.tables"
                ).fetchall()
            }
            # The registry reader leaves a result open: give it its own cursor.
            imported = {entry.dataset: entry for entry in list_datasets(connection.cursor())}
    except duckdb.Error as error:
        raise IctgInputError(f"{database}: cannot open the database ({error})") from error

    by_table = {entry.attributes_table: entry for entry in imported.values()}

    def source(table: str, name: str) -> TableSource:
        # A dataset name, or its attributes table named directly: both are checked.
        entry = imported.get(name) or by_table.get(name)
        if entry is not None and entry.attributes_table is not None:
            return TableSource(
                relation=_relation(entry.attributes_table),
                origin=f"{database}:{name}",
                owner_key_id=entry.owner_key_id,
            )
        parts = name.split(".")
        if (
            len(parts) <= 2
            and all(_IDENTIFIER.match(part) for part in parts)
            and (parts[-1] in tables)
        ):
            return TableSource(relation=_relation(name), origin=f"{database}:{name}")
        raise IctgInputError(
            f"{database}: no imported dataset or table {name!r} for the {table} table; "
            f"imported datasets: {sorted(imported) or 'none'}"
        )

    def sources(table: str, names: Sequence[str]) -> tuple[TableSource, ...]:
        if not names:
            raise IctgInputError(f"{database}: no {table} dataset named; pass at least one")
        return tuple(source(table, name) for name in names)

    return IctgSources(
        referral=sources("referral", referral),
        monthly=sources("monthly", monthly),
        contact=sources("contact", contact),
        attach=(f"ATTACH {quote_literal(str(database))} AS tre (READ_ONLY)",),
    )


def _check_owner_keys(sources: IctgSources) -> None:
    """Refuse tables whose ``record_pid`` values were made under different owner keys."""
    known = [
        source
        for table in ("referral", "monthly", "contact")
        for source in sources.of(table)
        if source.owner_key_id is not None
    ]
    if len({source.owner_key_id for source in known}) > 1:
        listing = ", ".join(f"{source.origin}={source.owner_key_id}" for source in known)
        raise KeyMismatchError(
            f"these tables were pseudonymised under different owner keys ({listing}), so "
            "their record_pid values cannot join; ask the owner to pseudonymise all three "
            "with one owner key"
        )


def _describe(connection: duckdb.DuckDBPyConnection, source: TableSource) -> dict[str, str]:
    try:
        return column_types(connection, source.relation)
    except duckdb.Error as error:
        # DuckDB's read errors name the file and the format problem, never a value.
        raise IctgInputError(f"{source.origin}: cannot read the table ({error})") from error


def _type_problem(column: str, actual: str, wanted: str) -> str | None:
    """Why ``actual`` cannot serve as ``wanted``, or None when a cast is safe to try."""
    if wanted == "VARCHAR[]":
        if actual.endswith("[]") or actual == '"NULL"':
            return None
        return f"column {column!r} is {actual}, expected a list of category codes"
    if wanted == "DATE" and not (actual in {"DATE", "VARCHAR"} or actual.startswith("TIMESTAMP")):
        return f"column {column!r} is {actual}, expected a date"
    if wanted == "BIGINT" and actual not in _INTEGER_TYPES | {"VARCHAR", "BIGINT", "HUGEINT"}:
        return f"column {column!r} is {actual}, expected a whole number"
    return None


def _bad_value_row(
    connection: duckdb.DuckDBPyConnection, source: TableSource, column: str, wanted: str
) -> tuple[int, int] | None:
    """(first bad row, 1-based; number of bad rows) for values that do not cast, or None."""
    found = connection.sql(
        f"SELECT min(_position), count(*) FROM (SELECT row_number() OVER () AS _position, "
        f"{quote_identifier(column)} AS value FROM {source.relation}) "
        f"WHERE value IS NOT NULL AND TRY_CAST(value AS {wanted}) IS NULL"
    ).fetchall()[0]
    return None if not found[1] else (int(found[0]), int(found[1]))


def _check_source(
    connection: duckdb.DuckDBPyConnection,
    table: TableName,
    source: TableSource,
    *,
    key: str,
) -> None:
    types = _describe(connection, source)
    wanted = {key: "VARCHAR", **TABLE_COLUMNS[table]}
    missing = [column for column in wanted if column not in types]
    if missing:
        raise IctgInputError(
            f"{source.origin}: the {table} table lacks column(s) {missing}; it needs "
            f"{list(wanted)} (docs/data.md), keyed by {key!r} (see --key)"
        )
    problems = [
        problem
        for column, target in wanted.items()
        if (problem := _type_problem(column, types[column], target)) is not None
    ]
    for column, target in wanted.items():
        if types[column] != target and target in {"DATE", "BIGINT"} and not problems:
            bad = _bad_value_row(connection, source, column, target)
            if bad is not None:
                problems.append(
                    f"column {column!r}: row {bad[0]} (and {bad[1] - 1} more) is not a "
                    f"{target.lower()}"
                )
    if problems:
        raise IctgInputError(f"{source.origin}: " + "; ".join(problems))
    if connection.sql(f"SELECT count(*) FROM {source.relation}").fetchall()[0][0] == 0:
        raise IctgInputError(f"{source.origin}: the {table} table is empty")


def _load_sql(table: TableName, sources: Sequence[TableSource], *, key: str) -> str:
    columns = {key: "VARCHAR", **TABLE_COLUMNS[table]}
    casts = ", ".join(
        f"CAST({quote_identifier(column)} AS {target}) AS {quote_identifier(column)}"
        for column, target in columns.items()
    )
    stacked = " UNION ALL ".join(
        f"SELECT {casts}, {position} AS _source, row_number() OVER () AS _position "
        f"FROM {source.relation}"
        for position, source in enumerate(sources)
    )
    # Input order (source by source, row by row) numbers the rows: the rules' last tie-break.
    return (
        "SELECT * EXCLUDE (_source, _position), "
        f"row_number() OVER (ORDER BY _source, _position) AS _row FROM ({stacked})"
    )


def load_inputs(
    connection: duckdb.DuckDBPyConnection, sources: IctgSources, *, key: str
) -> dict[TableName, str]:
    """Check every source and create the three work tables; return their names."""
    _check_owner_keys(sources)
    for statement in sources.attach:
        try:
            connection.execute(statement)
        except duckdb.Error as error:
            raise IctgInputError(f"cannot open the TRE database ({error})") from error
    tables: dict[TableName, str] = {}
    table: TableName
    for table in ("referral", "monthly", "contact"):
        for source in sources.of(table):
            _check_source(connection, table, source, key=key)
        name = work_table(table)
        connection.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS {_load_sql(table, sources.of(table), key=key)}"
        )
        tables[table] = name
    return tables
