"""Quoting names and values: a hostile name or value is taken as itself by DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from trelink.sql import column_types, quote_identifier, quote_literal

HOSTILE = 'x" ; DROP TABLE t; --\'y'


def test_a_hostile_name_and_value_round_trip() -> None:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t (a INTEGER)")
    table = quote_identifier(HOSTILE)
    connection.execute(f"CREATE TABLE {table} AS SELECT {quote_literal(HOSTILE)} AS {table}")
    assert connection.sql(f"SELECT * FROM {table}").fetchall() == [(HOSTILE,)]
    assert column_types(connection, table) == {HOSTILE: "VARCHAR"}
    assert column_types(connection, "t") == {"a": "INTEGER"}  # not dropped


def test_column_types_of_a_parquet_file_at_a_path_with_a_quote(tmp_path: Path) -> None:
    path = tmp_path / "o'brien.parquet"
    pq.write_table(pa.table({"record_pid": ["a"], "n": [1]}), path)
    connection = duckdb.connect()
    relation = f"read_parquet({quote_literal(str(path))})"
    assert column_types(connection, relation) == {"record_pid": "VARCHAR", "n": "BIGINT"}
