"""The datasets a linkage run reads, checked and narrowed to the columns it needs.

A ``DatasetSource`` says where one dataset's identity (tokens) and attributes are, as
DuckDB relations, plus the linkage key id its tokens were made under and the version of
the normalisation rules they were made by. ``prepare_inputs`` checks every source (not
empty, ``record_pid`` present and unique, the tokens the job needs present with the
right types, one linkage key id and one normalisation version across all datasets) and
copies only the needed columns into tables of a DuckDB work connection, so the wide
token tables never travel further than necessary.

A dataset that holds no column of a comparison (a school census has no police id)
gets that comparison as nulls; a dataset holding only some of a comparison's columns
is refused, because that comparison would silently lose levels.

Repeated record ids. A record id names one entity of its dataset; ICTG referral returns
repeat a child's URN (copies of a referral in a second return, re-referrals after
closure), and one URN is one child by definition. Such a dataset's owner pseudonymises
with ``unique_record_id: false`` (its dataset spec allows repeats), and the signed
manifest then says ``record_ids_unique: false``. Only for such a dataset, rows sharing a
``record_pid`` become ONE linkage record (``merged_identity_sql``):

* every scalar token comes from one row of the record: the most complete (most
  non-null tokens), ties broken by the token values so the choice is deterministic
  (the identity table carries no dates, so "most recent" cannot be told here);
* every list token is the union of the rows' lists, and the list named in a comparison
  term ``member: [scalar, list]`` (``dob`` in ``dob_alt``, ``fn_sn`` in
  ``alias_fn_sn``: same token domain) also receives the other rows' values of that
  scalar, so another recorded date of birth or full name still matches;
* the other rows' values of scalars with no such list (a second postcode) are dropped;
* the attributes become one row per record_pid: per column the most frequent non-null
  value, ties to the smallest (the ICTG stage tables, not these, are the place for
  episode-level attributes).

A repeated record_pid in any other dataset is refused, as before.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from linkage.comparisons import comparison_columns
from linkage.errors import InputTableError, KeyMismatchError, NormalisationMismatchError
from linkage.subgroups import nationality_group_sql
from trelink.specs.match_keys import ComparisonSpec, MatchKeySpec, MemberTerm
from trelink.sql import column_types, quote_identifier, quote_literal

__all__ = [
    "DATABASE_ALIAS",
    "DatasetSource",
    "PreparedInputs",
    "attach_database",
    "declares_repeated_record_ids",
    "folder_source",
    "manifest_normalisation_version",
    "merged_identity_sql",
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
    # The owner's signed manifest says record ids repeat (ICTG URNs): rows sharing a
    # record_pid are merged into one linkage record (``declares_repeated_record_ids``).
    record_ids_repeat: bool = False
    # The normalisation rules the tokens were made by (``manifest_normalisation_version``);
    # None when no manifest says.
    normalisation_version: int | None = None


def check_distinct_names(sources: Sequence[DatasetSource]) -> None:
    """Refuse two sources of one dataset name (``x/nrm`` and ``y/nrm``, ``NRM`` and
    ``nrm``), naming where each came from: one would silently stand for the other."""
    origins: dict[str, list[str]] = {}
    for source in sources:
        origins.setdefault(source.name, []).append(source.origin)
    repeated = {name: places for name, places in origins.items() if len(places) > 1}
    if repeated:
        detail = "; ".join(
            f"{name!r} from {' and '.join(places)}" for name, places in sorted(repeated.items())
        )
        raise InputTableError(
            f"datasets given more than once: {detail}. Each dataset needs its own name "
            "(a folder's name is its dataset's: rename one folder)"
        )


@dataclass(frozen=True)
class PreparedInputs:
    """The work tables a run links: one per dataset, same columns in each."""

    tables: dict[str, str]  # dataset name -> work table name
    attributes: dict[str, str]  # dataset name -> work table name (where the source has one)
    comparisons: tuple[ComparisonSpec, ...]  # those with data in at least one dataset
    columns: tuple[str, ...]  # token columns in every work table
    record_counts: dict[str, int] = field(default_factory=dict)  # linkage records
    # Rows merged into another row of the same record_pid (datasets with repeats only).
    merged_rows: dict[str, int] = field(default_factory=dict)
    # Attribute columns (sex, nationality) copied into every work table as text, for
    # comparison: only those every dataset's attributes carry.
    attribute_columns: tuple[str, ...] = ()
    # What the command line and the report should tell the researcher about the inputs
    # (rows merged per repeated record_pid).
    notes: tuple[str, ...] = ()
    # The token columns some record fills: blocking rules and training blocks on any
    # other column could find no pair, and would only cost a join each.
    filled: tuple[str, ...] | None = None

    @property
    def available(self) -> set[str]:
        """Token columns rules and blocks may use: those filled in some dataset."""
        return set(self.columns if self.filled is None else self.filled)


def _read_manifest(manifest_path: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise InputTableError(f"{manifest_path}: not readable JSON ({error})") from error
    if not isinstance(manifest, dict):
        raise InputTableError(f"{manifest_path}: not a JSON object")
    return manifest


def read_manifest_key_id(manifest_path: Path) -> str | None:
    """The linkage key id recorded in a pseudonymised folder's ``manifest.json``."""
    manifest = _read_manifest(manifest_path)
    return None if manifest is None else _manifest_key_id(manifest)


def declares_repeated_record_ids(manifest: Mapping[str, Any]) -> bool:
    """Whether a pseudonymised extract's manifest (or a package manifest holding one as
    ``extract``) says its identity table repeats record ids.

    ``trelink pseudonymise`` refuses repeated record ids unless the owner's spec sets
    ``unique_record_id: false`` (the dataset spec allows repeats, as for ICTG URNs), so
    ``record_ids_unique: false`` in a signed manifest is the owner's declaration.
    """
    extract = manifest.get("extract", manifest)
    return (
        isinstance(extract, Mapping)
        and extract.get("kind", "identity") == "identity"
        and extract.get("record_ids_unique") is False
    )


def manifest_normalisation_version(manifest: Mapping[str, Any]) -> int | None:
    """The version of the normalisation rules (``pseudonymise.NORMALISATION_VERSION``)
    that a pseudonymised extract's manifest (or a package manifest holding one as
    ``extract``) records, or None when it records none."""
    extract = manifest.get("extract", manifest)
    version = extract.get("normalisation_version") if isinstance(extract, Mapping) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def _manifest_key_id(manifest: Mapping[str, Any]) -> str | None:
    key_ids = manifest.get("key_ids")
    if isinstance(key_ids, dict) and isinstance(key_ids.get("linkage"), str):
        return str(key_ids["linkage"])
    value = manifest.get("linkage_key_id")
    return value if isinstance(value, str) else None


def folder_source(folder: str | os.PathLike[str]) -> DatasetSource:
    """A pseudonymised folder (``identity.parquet``, ``attributes.parquet``, ``manifest.json``)."""
    folder_path = Path(folder)
    identity = folder_path / "identity.parquet"
    if not identity.is_file():
        raise InputTableError(
            f"{folder_path}: no identity.parquet; give a folder written by `trelink pseudonymise`"
        )
    name = re.sub(r"[^a-z0-9_]", "_", folder_path.resolve().name.lower())
    if not _NAME.match(name):
        name = f"dataset_{name}"
    attributes = folder_path / "attributes.parquet"
    manifest = _read_manifest(folder_path / "manifest.json")
    return DatasetSource(
        name=name,
        identity=f"read_parquet({quote_literal(str(identity))})",
        attributes=(
            f"read_parquet({quote_literal(str(attributes))})" if attributes.is_file() else None
        ),
        linkage_key_id=None if manifest is None else _manifest_key_id(manifest),
        origin=str(identity),
        record_ids_repeat=manifest is not None and declares_repeated_record_ids(manifest),
        normalisation_version=None
        if manifest is None
        else manifest_normalisation_version(manifest),
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


def _check_normalisation_versions(sources: Sequence[DatasetSource]) -> None:
    """Refuse datasets normalised by different versions of the rules: the same name,
    date or number can then have different tokens (a placeholder email nulled in one
    dataset and tokenised in the other), and links would be lost without a word. A
    source whose manifest records no version is not compared."""
    versions = {source.normalisation_version for source in sources} - {None}
    if len(versions) > 1:
        listing = ", ".join(
            f"{source.name}={source.normalisation_version}"
            for source in sources
            if source.normalisation_version is not None
        )
        raise NormalisationMismatchError(
            "these datasets were pseudonymised under different normalisation versions, so "
            f"one identifier can have different tokens in each ({listing}); have the owners "
            "of the datasets at the older versions re-pseudonymise them with the trelink "
            "that made the newest"
        )


def attach_database(
    connection: duckdb.DuckDBPyConnection, sources: Sequence[DatasetSource]
) -> None:
    """Attach the TRE database that ``sources`` read from (read-only, as
    ``DATABASE_ALIAS``); several databases at once are refused."""
    databases = {source.database for source in sources if source.database is not None}
    if len(databases) > 1:
        raise InputTableError(f"datasets come from several TRE databases: {sorted(databases)}")
    for database in databases:
        try:
            connection.execute(
                f"ATTACH {quote_literal(str(database))} AS {DATABASE_ALIAS} (READ_ONLY)"
            )
        except duckdb.Error as error:
            raise InputTableError(f"{database}: cannot open the TRE database ({error})") from error


def _column_types(connection: duckdb.DuckDBPyConnection, source: DatasetSource) -> dict[str, str]:
    try:
        return column_types(connection, source.identity)
    except duckdb.Error as error:
        raise InputTableError(f"{source.origin}: cannot read the identity table") from error


def _present_columns(
    source: DatasetSource,
    types: dict[str, str],
    comparisons: Sequence[ComparisonSpec],
    match_keys: MatchKeySpec,
    required: Sequence[str],
) -> set[str]:
    """The token columns of ``source`` that the run will read; raise on gaps.

    A dataset may lack a whole identifier (every key of a comparison), never part of
    one: a missing variant key would silently switch levels off for its records.
    """
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


def _check_rows(
    connection: duckdb.DuckDBPyConnection, source: DatasetSource, *, repeats_allowed: bool
) -> tuple[int, int]:
    """Rows and distinct record_pids of ``source``; refuse empty tables, missing ids and,
    unless ``repeats_allowed``, repeated ids."""
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
    if distinct != rows and not repeats_allowed:
        raise InputTableError(
            f"{source.origin} (dataset {source.name!r}): "
            f"{rows - distinct} duplicate record_pid values; only a dataset whose owner "
            "declared repeated record ids (`unique_record_id: false`, recorded in the "
            "manifest as record_ids_unique: false) may repeat them"
        )
    return int(rows), int(distinct)


def _alternative_keys(
    comparisons: Sequence[ComparisonSpec], present: set[str]
) -> dict[str, list[str]]:
    """List key -> the scalar keys whose other recorded values it collects.

    The comparisons already say which list holds alternatives of which scalar: a
    ``member: [scalar, list]`` term, valid only within one token domain.
    """
    alternatives: dict[str, list[str]] = {}
    for comparison in comparisons:
        for level in comparison.levels:
            for term in level.terms:
                if not isinstance(term, MemberTerm):
                    continue
                scalar, listed = term.member
                if scalar in present and listed in present:
                    scalars = alternatives.setdefault(listed, [])
                    if scalar not in scalars:
                        scalars.append(scalar)
    return alternatives


def merged_identity_sql(
    identity: str,
    *,
    scalars: Sequence[str],
    lists: Sequence[str],
    alternatives: Mapping[str, Sequence[str]],
    label_column: str | None = None,
) -> str:
    """SQL of ``identity`` with one row per record_pid (the rule in the module docstring).

    ``scalars`` and ``lists`` are the token columns kept; ``alternatives`` maps a list
    column to the scalar columns whose other rows' values it also receives.
    """
    labels = [label_column] if label_column else []
    kept = [*scalars, *lists, *labels]  # in this order they break ties between rows
    filled = " + ".join(f"CAST({column} IS NOT NULL AS INTEGER)" for column in kept) or "0"
    order = ", ".join([f"({filled}) DESC", *(f"{column} NULLS LAST" for column in kept)])
    ranked = (
        f"SELECT record_pid, {', '.join(kept) or 'NULL AS no_tokens'}, row_number() OVER "
        f"(PARTITION BY record_pid ORDER BY {order}) AS merge_rank FROM {identity}"
    )
    merged_lists = []
    for column in lists:
        parts = [f"flatten(list(r.{column}))"]
        parts.extend(
            f"coalesce(list(r.{scalar}) FILTER (WHERE r.{scalar} IS NOT NULL AND "
            f"r.{scalar} IS DISTINCT FROM p.{scalar}), [])"
            for scalar in alternatives.get(column, ())
        )
        union = f"list_sort(list_distinct({' || '.join(parts)}))"
        merged_lists.append(f"CASE WHEN len({union}) = 0 THEN NULL ELSE {union} END AS {column}")
    lists_sql = (
        "SELECT r.record_pid, " + ", ".join(merged_lists) + " FROM ranked r JOIN ranked p "
        "ON p.record_pid = r.record_pid AND p.merge_rank = 1 GROUP BY r.record_pid"
    )
    chosen = ", ".join(f"p.{column}" for column in [*scalars, *labels])
    return (
        f"(WITH ranked AS ({ranked})"
        + (f", merged AS ({lists_sql})" if lists else "")
        + " SELECT p.record_pid"
        + (f", {chosen}" if chosen else "")
        + "".join(f", m.{column}" for column in lists)
        + " FROM ranked p"
        + (" JOIN merged m USING (record_pid)" if lists else "")
        + " WHERE p.merge_rank = 1)"
    )


def _merged_attributes_sql(connection: duckdb.DuckDBPyConnection, source: DatasetSource) -> str:
    """SQL of ``source``'s attributes with one row per record_pid: per column the most
    frequent non-null value, ties to the smallest."""
    attributes = source.attributes
    assert attributes is not None  # called only for sources with attributes
    try:
        described = column_types(connection, attributes)
    except duckdb.Error as error:
        raise InputTableError(f"{source.origin}: cannot read the attributes table") from error
    columns = [quote_identifier(name) for name in described]
    modes = "".join(
        f", mode({column} ORDER BY {column}) AS {column}"
        for column in columns
        if column != '"record_pid"'
    )
    return f"(SELECT record_pid{modes} FROM {attributes} GROUP BY record_pid)"


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
    check_distinct_names(sources)
    _check_key_ids(sources)
    _check_normalisation_versions(sources)
    attach_database(connection, sources)
    known = set(match_keys.token_columns)
    present_by_source: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    merged_rows: dict[str, int] = {}
    notes: list[str] = []
    checked: list[DatasetSource] = []
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
        rows, counts[source.name] = _check_rows(
            connection, source, repeats_allowed=source.record_ids_repeat
        )
        if rows > counts[source.name]:
            merged_rows[source.name] = rows - counts[source.name]
            notes.append(
                f"dataset {source.name!r}: {merged_rows[source.name]:,} rows repeat a "
                f"record_pid and were merged into {counts[source.name]:,} linkage records "
                "(the owner declared repeated record ids)"
            )
            source = _merged_source(
                connection,
                source,
                present=present,
                match_keys=match_keys,
                comparisons=comparisons,
                label_column=label_column,
            )
        checked.append(source)
    sources = checked
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
        merged_rows=merged_rows,
        attribute_columns=shared,
        notes=tuple(notes),
        filled=tuple(column for column in columns if column in filled),
    )


def _merged_source(
    connection: duckdb.DuckDBPyConnection,
    source: DatasetSource,
    *,
    present: set[str],
    match_keys: MatchKeySpec,
    comparisons: Sequence[ComparisonSpec],
    label_column: str | None,
) -> DatasetSource:
    """``source`` read as one row per record_pid (identity and attributes)."""
    identity = merged_identity_sql(
        source.identity,
        scalars=sorted(column for column in present if not match_keys.key(column).list),
        lists=sorted(column for column in present if match_keys.key(column).list),
        alternatives=_alternative_keys(comparisons, present),
        label_column=label_column,
    )
    attributes = None if source.attributes is None else _merged_attributes_sql(connection, source)
    return replace(source, identity=identity, attributes=attributes)


def _add_nationality_group(connection: duckdb.DuckDBPyConnection, table: str) -> None:
    """Group nationalities for the report where the owner sent nationality alone."""
    names = column_types(connection, table)
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
        assert source.attributes is not None  # checked above
        try:
            names = column_types(connection, source.attributes)
        except duckdb.Error as error:
            raise InputTableError(f"{source.origin}: cannot read the attributes table") from error
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
