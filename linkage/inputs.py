"""The datasets a linkage run reads, checked and narrowed to the columns it needs.

A ``DatasetSource`` says where one dataset's identity (tokens) and attributes are, as
DuckDB relations, plus the linkage key id its tokens were made under. ``prepare_inputs``
checks every source (not empty, ``record_pid`` present and unique, the tokens the
job needs present with the right types, one linkage key id across all datasets) and
copies only the needed columns into tables of a DuckDB work connection, so the wide
token tables never travel further than necessary.

A dataset that holds no column of a comparison (a school census has no police id)
gets that comparison as nulls; a dataset holding only some of a comparison's columns
is refused, because that comparison would silently lose levels.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from linkage.comparisons import comparison_columns
from linkage.errors import InputTableError, KeyMismatchError
from linkage.subgroups import nationality_group_sql
from specs.match_keys import ComparisonSpec, MatchKeySpec

__all__ = [
    "DATABASE_ALIAS",
    "DatasetSource",
    "PreparedInputs",
    "folder_source",
    "prepare_inputs",
    "read_manifest_key_id",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# A TRE database that sources read from is attached read-only under this name.
DATABASE_ALIAS = "tre"


@dataclass(frozen=True)
class DatasetSource:
    """Where one dataset's tables are. ``identity``/``attributes`` are DuckDB relations."""

    name: str
    identity: str
    attributes: str | None
    linkage_key_id: str | None
    origin: str  # how to name it in messages: a folder, or a dataset in a database
    database: Path | None = None  # a TRE database the relations read (see DATABASE_ALIAS)


@dataclass(frozen=True)
class PreparedInputs:
    """The work tables a run links: one per dataset, same columns in each."""

    tables: dict[str, str]  # dataset name -> work table name
    attributes: dict[str, str]  # dataset name -> work table name (where the source has one)
    comparisons: tuple[ComparisonSpec, ...]  # those with data in at least one dataset
    columns: tuple[str, ...]  # token columns in every work table
    record_counts: dict[str, int] = field(default_factory=dict)
    # Attribute columns (sex, nationality) copied into every work table as text, for
    # comparison: only those every dataset's attributes carry.
    attribute_columns: tuple[str, ...] = ()


def read_manifest_key_id(manifest_path: Path) -> str | None:
    """The linkage key id recorded in a pseudonymised folder's ``manifest.json``."""
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise InputTableError(f"{manifest_path}: not readable JSON ({error})") from error
    key_ids = manifest.get("key_ids")
    if isinstance(key_ids, dict) and isinstance(key_ids.get("linkage"), str):
        return str(key_ids["linkage"])
    value = manifest.get("linkage_key_id")
    return value if isinstance(value, str) else None


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def folder_source(folder: Path) -> DatasetSource:
    """A pseudonymised folder (``identity.parquet``, ``attributes.parquet``, ``manifest.json``)."""
    identity = folder / "identity.parquet"
    if not identity.is_file():
        raise InputTableError(
            f"{folder}: no identity.parquet; give a folder written by `trelink pseudonymise`"
        )
    name = re.sub(r"[^a-z0-9_]", "_", folder.resolve().name.lower())
    if not _NAME.match(name):
        name = f"dataset_{name}"
    attributes = folder / "attributes.parquet"
    return DatasetSource(
        name=name,
        identity=f"read_parquet({_sql_string(str(identity))})",
        attributes=(
            f"read_parquet({_sql_string(str(attributes))})" if attributes.is_file() else None
        ),
        linkage_key_id=read_manifest_key_id(folder / "manifest.json"),
        origin=str(identity),
    )


def _check_key_ids(sources: Sequence[DatasetSource]) -> None:
    key_ids = {source.linkage_key_id for source in sources}
    if len(key_ids) > 1:
        listing = ", ".join(f"{source.name}={source.linkage_key_id}" for source in sources)
        raise KeyMismatchError(
            "these datasets were tokenised under different linkage keys, so their tokens "
            f"cannot agree ({listing}); ask the key custodian which key is the project's "
            "and have the owners re-pseudonymise with it"
        )


def _attach_database(
    connection: duckdb.DuckDBPyConnection, sources: Sequence[DatasetSource]
) -> None:
    databases = {source.database for source in sources if source.database is not None}
    if len(databases) > 1:
        raise InputTableError(f"datasets come from several TRE databases: {sorted(databases)}")
    for database in databases:
        try:
            connection.execute(
                f"ATTACH {_sql_string(str(database))} AS {DATABASE_ALIAS} (READ_ONLY)"
            )
        except duckdb.Error as error:
            raise InputTableError(f"{database}: cannot open the TRE database ({error})") from error


def _column_types(connection: duckdb.DuckDBPyConnection, source: DatasetSource) -> dict[str, str]:
    try:
        described = connection.sql(f"DESCRIBE SELECT * FROM {source.identity}").fetchall()
    except duckdb.Error as error:
        raise InputTableError(f"{source.origin}: cannot read the identity table") from error
    return {str(row[0]): str(row[1]) for row in described}


def _present_columns(
    source: DatasetSource,
    types: dict[str, str],
    comparisons: Sequence[ComparisonSpec],
    match_keys: MatchKeySpec,
    required: Sequence[str],
) -> set[str]:
    """The token columns of ``source`` that the run will read; raise on gaps."""
    problems: list[str] = []
    present: set[str] = set()
    for comparison in comparisons:
        needed = comparison_columns(comparison)
        have = [column for column in needed if column in types]
        if not have and comparison.name not in required:
            continue
        lacking = [column for column in needed if column not in types]
        if lacking:
            problems.append(
                f"comparison {comparison.name!r} needs token columns {lacking}, which are missing"
            )
        present.update(have)
    for column in sorted(present):
        expected = "BIGINT[]" if match_keys.key(column).list else "BIGINT"
        if types[column] != expected:
            problems.append(f"column {column!r} is {types[column]}, expected {expected}")
    if "record_pid" not in types:
        problems.append("column 'record_pid' is missing")
    if problems:
        raise InputTableError(
            f"{source.origin} (dataset {source.name!r}): "
            + "; ".join(problems)
            + "; re-run `trelink pseudonymise` with the current match-key spec"
        )
    return present


def _check_rows(connection: duckdb.DuckDBPyConnection, source: DatasetSource) -> int:
    rows, distinct, null_ids = connection.sql(
        "SELECT count(*), count(DISTINCT record_pid), count(*) - count(record_pid) "
        f"FROM {source.identity}"
    ).fetchall()[0]
    if rows == 0:
        raise InputTableError(f"{source.origin} (dataset {source.name!r}): the table is empty")
    if null_ids:
        raise InputTableError(
            f"{source.origin} (dataset {source.name!r}): {null_ids} rows have no record_pid"
        )
    if distinct != rows:
        raise InputTableError(
            f"{source.origin} (dataset {source.name!r}): "
            f"{rows - distinct} duplicate record_pid values"
        )
    return int(rows)


def _non_null_columns(
    connection: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str]
) -> set[str]:
    if not columns:
        return set()
    counts = connection.sql(
        "SELECT " + ", ".join(f"count({column})" for column in columns) + f" FROM {table}"
    ).fetchall()[0]
    return {column for column, count in zip(columns, counts, strict=True) if count}


def prepare_inputs(
    connection: duckdb.DuckDBPyConnection,
    sources: Sequence[DatasetSource],
    *,
    match_keys: MatchKeySpec,
    comparisons: Sequence[ComparisonSpec],
    required_comparisons: Sequence[str],
    extra_columns: Sequence[str] = (),
    label_column: str | None = None,
    attribute_columns: Sequence[str] = (),
) -> PreparedInputs:
    """Check ``sources`` and copy the needed columns into work tables ``input_<name>``.

    ``extra_columns`` are further token columns (blocking and training keys) kept
    where a dataset has them. ``label_column`` (a clerical cluster label) must be in
    every identity table and is copied as text. ``attribute_columns`` are attributes
    compared as well as tokens; each is copied (as text) only if every dataset has it.
    The returned comparisons are those with at least one non-null value somewhere: a
    comparison no dataset can fill would stay untrained.
    """
    if not sources:
        raise InputTableError("no datasets to link")
    names = [source.name for source in sources]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputTableError(f"datasets given more than once: {repeated}")
    _check_key_ids(sources)
    _attach_database(connection, sources)
    known = set(match_keys.token_columns)
    present_by_source: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for source in sources:
        types = _column_types(connection, source)
        present = _present_columns(source, types, comparisons, match_keys, required_comparisons)
        present.update(column for column in extra_columns if column in types and column in known)
        present_by_source[source.name] = present
        if label_column is not None and label_column not in types:
            raise InputTableError(
                f"{source.origin} (dataset {source.name!r}): no label column {label_column!r} "
                "(training.label_column)"
            )
        counts[source.name] = _check_rows(connection, source)
    columns = sorted(set().union(*present_by_source.values()))
    shared = _shared_attributes(connection, sources, attribute_columns)
    tables: dict[str, str] = {}
    attributes: dict[str, str] = {}
    for source in sources:
        table = f"input_{source.name}"
        selected = [
            column
            if column in present_by_source[source.name]
            else f"CAST(NULL AS {'BIGINT[]' if match_keys.key(column).list else 'BIGINT'}) "
            f"AS {column}"
            for column in columns
        ]
        joined = "".join(f", CAST(a.{column} AS VARCHAR) AS {column}" for column in shared)
        connection.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT CAST(i.record_pid AS VARCHAR) AS record_pid"
            + "".join(f", i.{item}" if item in columns else f", {item}" for item in selected)
            + (f", CAST(i.{label_column} AS VARCHAR) AS {label_column}" if label_column else "")
            + joined
            + f" FROM {source.identity} i"
            + (f" LEFT JOIN {source.attributes} a USING (record_pid)" if shared else "")
        )
        tables[source.name] = table
        if source.attributes is not None:
            attributes_table = f"attributes_{source.name}"
            connection.execute(
                f"CREATE OR REPLACE TABLE {attributes_table} AS SELECT * FROM {source.attributes}"
            )
            _add_nationality_group(connection, attributes_table)
            attributes[source.name] = attributes_table
    filled: set[str] = set()
    for table in tables.values():
        filled |= _non_null_columns(connection, table, columns)
    kept = tuple(
        comparison for comparison in comparisons if set(comparison.null_when_missing) & filled
    )
    _require_filled(sources, connection, tables, comparisons, required_comparisons)
    return PreparedInputs(
        tables=tables,
        attributes=attributes,
        comparisons=kept,
        columns=tuple(columns),
        record_counts=counts,
        attribute_columns=shared,
    )


def _add_nationality_group(connection: duckdb.DuckDBPyConnection, table: str) -> None:
    """Group nationalities for the report where the owner sent nationality alone."""
    names = {str(row[0]) for row in connection.sql(f"DESCRIBE {table}").fetchall()}
    if "nationality" in names and "nationality_group" not in names:
        connection.execute(f"ALTER TABLE {table} ADD COLUMN nationality_group VARCHAR DEFAULT NULL")
        connection.execute(
            f"UPDATE {table} SET nationality_group = {nationality_group_sql('nationality')}"
        )


def _shared_attributes(
    connection: duckdb.DuckDBPyConnection, sources: Sequence[DatasetSource], wanted: Sequence[str]
) -> tuple[str, ...]:
    """The ``wanted`` attribute columns that every source's attributes table has."""
    if not wanted or any(source.attributes is None for source in sources):
        return ()
    shared = list(wanted)
    for source in sources:
        try:
            described = connection.sql(f"DESCRIBE SELECT * FROM {source.attributes}").fetchall()
        except duckdb.Error as error:
            raise InputTableError(f"{source.origin}: cannot read the attributes table") from error
        names = {str(row[0]) for row in described}
        shared = [column for column in shared if column in names]
    return tuple(shared)


def _require_filled(
    sources: Sequence[DatasetSource],
    connection: duckdb.DuckDBPyConnection,
    tables: dict[str, str],
    comparisons: Sequence[ComparisonSpec],
    required: Sequence[str],
) -> None:
    for comparison in comparisons:
        if comparison.name not in required:
            continue
        for source in sources:
            filled = _non_null_columns(
                connection, tables[source.name], comparison.null_when_missing
            )
            if not filled:
                raise InputTableError(
                    f"{source.origin} (dataset {source.name!r}): every value of "
                    f"{list(comparison.null_when_missing)} is missing, but the job needs "
                    f"comparison {comparison.name!r}"
                )
