"""SQL text for DuckDB: quoting names and values, and reading a relation's columns.

Every role that writes SQL quotes with these, so a name or value holding a quote can
neither break a statement nor change it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

__all__ = ["column_types", "quote_identifier", "quote_literal"]


def quote_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (a table or column name)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """``text`` as a quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def column_types(connection: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Each column of ``relation`` (a table, a view, or anything a ``FROM`` takes, such
    as ``read_parquet('...')``) and its DuckDB type, in order (``DESCRIBE``)."""
    described = connection.sql(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    return {str(row[0]): str(row[1]) for row in described}
