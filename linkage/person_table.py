"""The person-level table: one row per person of the spine, attributes joined by rule.

``clusters.parquet`` (what ``trelink link`` writes) gives each record its ``person_id``;
research on outcomes per child starts from one row per person instead. This module
builds that table from the clusters and the linked datasets' attributes:

* ``person_id``; ``datasets``, the sorted list of datasets the person appears in;
  ``records``, their records in all; ``<dataset>_records`` for every dataset of the
  spine (0 where absent);
* one column per attribute rule of a ``PersonTableSpec`` (``linkage.person_spec``).

A dataset whose owner declared repeated record ids (ICTG URNs) has several attribute
rows per record; the rules look at every row. The table is written as Parquet (and
CSV if asked) atomically: both files appear together or neither does.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from linkage.errors import InputTableError, LinkageError
from linkage.inputs import DatasetSource, attach_database, check_distinct_names
from linkage.person_spec import AttributeRule, PersonTableSpec, fixed_columns
from trelink.atomic import atomic_file
from trelink.specs.loader import SpecError
from trelink.sql import column_types, quote_identifier, quote_literal

__all__ = ["PersonTable", "build_person_table", "person_table_sql", "write_person_table"]


@dataclass(frozen=True)
class PersonTable:
    """What ``write_person_table`` wrote."""

    path: Path
    csv_path: Path | None
    persons: int
    records: int
    columns: tuple[str, ...]


def _clusters_path(clusters: str | os.PathLike[str]) -> Path:
    path = Path(clusters)
    if path.is_dir():
        path = path / "clusters.parquet"
    if not path.is_file():
        raise InputTableError(
            f"{path}: not found; give clusters.parquet or the output folder of `trelink link`"
        )
    return path


def _load_clusters(connection: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """Load ``path`` as the table ``spine``; return its datasets, sorted."""
    try:
        names = set(column_types(connection, f"read_parquet({quote_literal(str(path))})"))
    except duckdb.Error as error:
        raise InputTableError(f"{path}: not a readable Parquet file ({error})") from error
    missing = sorted({"dataset", "record_pid", "person_id"} - names)
    if missing:
        raise InputTableError(
            f"{path}: columns {missing} are missing; give the clusters.parquet `trelink link` wrote"
        )
    connection.execute(
        "CREATE TABLE spine AS SELECT CAST(dataset AS VARCHAR) AS dataset, "
        "CAST(record_pid AS VARCHAR) AS record_pid, CAST(person_id AS VARCHAR) AS person_id "
        f"FROM read_parquet({quote_literal(str(path))})"
    )
    ((empty,),) = connection.execute(
        "SELECT count(*) FILTER (WHERE person_id IS NULL OR dataset IS NULL) FROM spine"
    ).fetchall()
    if empty:
        raise InputTableError(f"{path}: {empty} rows have no person_id or dataset")
    return [
        str(row[0])
        for row in connection.sql("SELECT DISTINCT dataset FROM spine ORDER BY dataset").fetchall()
    ]


def _column_types(connection: duckdb.DuckDBPyConnection, source: DatasetSource) -> dict[str, str]:
    assert source.attributes is not None
    try:
        return column_types(connection, source.attributes)
    except duckdb.Error as error:
        raise InputTableError(f"{source.origin}: cannot read the attributes table") from error


def _check_spec(
    spec: PersonTableSpec,
    source_name: str,
    datasets: list[str],
    sources: dict[str, DatasetSource],
    types: dict[str, dict[str, str]],
) -> None:
    """Every problem of ``spec`` against these data, raised at once as a SpecError."""
    problems: list[str] = []
    for dataset, chosen in spec.datasets.items():
        where = f"datasets.{dataset}"
        if dataset not in datasets:
            problems.append(f"{where}: the spine has no dataset {dataset!r}; it has {datasets}")
            continue
        if dataset not in sources:
            problems.append(f"{where}: no source given for dataset {dataset!r}")
            continue
        if dataset not in types:
            problems.append(f"{where}: dataset {dataset!r} has no attributes table")
            continue
        available = types[dataset]
        known = sorted(name for name in available if name != "record_pid")
        if chosen.order_by is not None and chosen.order_by not in available:
            problems.append(
                f"{where}.order_by: dataset {dataset!r} has no column {chosen.order_by!r}; "
                f"its attribute columns are {known}"
            )
        for index, item in enumerate(chosen.attributes):
            if item.column not in available or item.column == "record_pid":
                problems.append(
                    f"{where}.attributes[{index}].column: dataset {dataset!r} has no attribute "
                    f"column {item.column!r}; its attribute columns are {known}"
                )
    taken = set(fixed_columns(datasets))
    for dataset, item in spec.columns():
        if item.output_name(dataset) in taken:
            problems.append(
                f"datasets.{dataset}: column name {item.output_name(dataset)!r} is one "
                "trelink writes itself; set `name:`"
            )
    if problems:
        raise SpecError(source_name, problems)


def _aggregate(item: AttributeRule, order_by: str | None, column_type: str) -> str:
    """The aggregate of one rule over a person's attribute rows ``a``."""
    column = f"a.{quote_identifier(item.column)}"
    if item.rule in ("first", "latest"):
        assert order_by is not None  # the spec requires it for these rules
        direction = "ASC" if item.rule == "first" else "DESC"
        order = f"a.{quote_identifier(order_by)} {direction} NULLS LAST, a.record_pid, {column}"
        return f"first({column} ORDER BY {order}) FILTER (WHERE {column} IS NOT NULL)"
    counted = (
        f"count(*) FILTER (WHERE {column})" if column_type == "BOOLEAN" else f"count({column})"
    )
    return counted if item.rule == "count" else f"{counted} > 0"


def _empty_value(item: AttributeRule) -> str:
    """What a person with no rows in the dataset gets."""
    return {"count": "0", "any": "false"}.get(item.rule, "NULL")


def person_table_sql(
    spec: PersonTableSpec,
    datasets: Sequence[str],
    relations: dict[str, str],
    types: dict[str, dict[str, str]],
) -> str:
    """SELECT of the person table over the table ``spine`` (dataset, record_pid,
    person_id) and each spec'd dataset's attributes relation in ``relations``."""
    counts = "".join(
        f", count(*) FILTER (WHERE dataset = {quote_literal(name)}) "
        f"AS {quote_identifier(name + '_records')}"
        for name in datasets
    )
    ctes = [
        "persons AS (SELECT person_id, list_sort(list_distinct(list(dataset))) AS datasets, "
        f"count(*) AS records{counts} FROM spine GROUP BY person_id)"
    ]
    joins: list[str] = []
    selected: list[str] = []
    for index, (dataset, chosen) in enumerate(spec.datasets.items()):
        if not chosen.attributes:
            continue
        alias = f"attributes_{index}"
        aggregates = ", ".join(
            f"{_aggregate(item, chosen.order_by, types[dataset][item.column])} AS "
            f"{quote_identifier(item.output_name(dataset))}"
            for item in chosen.attributes
        )
        ctes.append(
            f"{alias} AS (SELECT s.person_id, {aggregates} FROM spine s JOIN (SELECT * REPLACE "
            f"(CAST(record_pid AS VARCHAR) AS record_pid) FROM {relations[dataset]}) a "
            f"ON s.dataset = {quote_literal(dataset)} AND a.record_pid = s.record_pid "
            "GROUP BY s.person_id)"
        )
        joins.append(f" LEFT JOIN {alias} USING (person_id)")
        for item in chosen.attributes:
            name = quote_identifier(item.output_name(dataset))
            empty = _empty_value(item)
            selected.append(
                f"{alias}.{name}"
                if empty == "NULL"
                else f"coalesce({alias}.{name}, {empty}) AS {name}"
            )
    return (
        "WITH "
        + ", ".join(ctes)
        + " SELECT persons.*"
        + "".join(f", {column}" for column in selected)
        + " FROM persons"
        + "".join(joins)
        + " ORDER BY person_id"
    )


@contextlib.contextmanager
def _connection() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    try:
        yield connection
    finally:
        connection.close()


def build_person_table(
    connection: duckdb.DuckDBPyConnection,
    clusters: str | os.PathLike[str],
    sources: Sequence[DatasetSource],
    spec: PersonTableSpec | None = None,
    *,
    spec_source: str = "person table spec",
) -> list[str]:
    """Create the table ``persons`` in ``connection``; return the spine's datasets.

    ``clusters`` is ``clusters.parquet`` or the folder ``trelink link`` wrote;
    ``sources`` give the attributes of the datasets ``spec`` names (others may be
    omitted). ``spec_source`` names the spec in errors (its file).
    """
    spec = spec if spec is not None else PersonTableSpec()
    datasets = _load_clusters(connection, _clusters_path(clusters))
    check_distinct_names(sources)
    by_name = {source.name: source for source in sources if source.name in spec.datasets}
    attach_database(connection, list(by_name.values()))
    types = {
        name: _column_types(connection, source)
        for name, source in by_name.items()
        if source.attributes is not None
    }
    _check_spec(spec, spec_source, datasets, by_name, types)
    relations = {name: str(source.attributes) for name, source in by_name.items()}
    try:
        connection.execute(
            "CREATE TABLE persons AS " + person_table_sql(spec, datasets, relations, types)
        )
    except duckdb.Error as error:
        # The spec was checked against the data above; the engine's message may quote
        # values, so only its kind is shown.
        raise LinkageError(
            f"building the person table failed ({type(error).__name__}); check the spec's "
            "columns and order_by against the datasets' attributes"
        ) from error
    return datasets


def write_person_table(
    clusters: str | os.PathLike[str],
    sources: Sequence[DatasetSource],
    out: str | os.PathLike[str],
    *,
    spec: PersonTableSpec | None = None,
    spec_source: str = "person table spec",
    csv: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> PersonTable:
    """Build the person table (``build_person_table``) and write it to ``out`` (Parquet)
    and, if given, ``csv``; both appear together or neither does."""
    out_path = Path(out)
    csv_path = None if csv is None else Path(csv)
    for path in (out_path, csv_path):
        if path is not None and path.exists() and not overwrite:
            raise LinkageError(f"{path} already exists; choose another path or overwrite")
    if csv_path is not None and csv_path.resolve() == out_path.resolve():
        raise LinkageError(f"{out_path}: the Parquet and CSV outputs must be different files")
    with _connection() as connection:
        build_person_table(connection, clusters, sources, spec, spec_source=spec_source)
        persons, records = connection.execute(
            "SELECT count(*), coalesce(sum(records), 0) FROM persons"
        ).fetchall()[0]
        columns = tuple(column_types(connection, "persons"))
        with contextlib.ExitStack() as stack:
            parquet_temp = stack.enter_context(atomic_file(out_path))
            connection.execute(
                f"COPY persons TO {quote_literal(str(parquet_temp))} (FORMAT parquet)"
            )
            if csv_path is not None:
                csv_temp = stack.enter_context(atomic_file(csv_path))
                connection.execute(
                    f"COPY persons TO {quote_literal(str(csv_temp))} (FORMAT csv, HEADER)"
                )
    return PersonTable(
        path=out_path,
        csv_path=csv_path,
        persons=int(persons),
        records=int(records),
        columns=columns,
    )
