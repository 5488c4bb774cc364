"""The rule that makes the rows of one repeated record id ONE linkage record.

Fast tests on hand-made token tables; ``test_ictg_repeats.py`` runs the generator's
ICTG returns through the owner's steps, the TRE import and the spine.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from linkage.errors import InputTableError
from linkage.inputs import (
    DatasetSource,
    declares_repeated_record_ids,
    merged_identity_sql,
    prepare_inputs,
)
from trelink.specs.match_keys import MatchKeySpec, load_match_key_spec

Row = tuple[str, int | None, int | None, int | None, list[int] | None, list[int] | None]
# record_pid, fn_sn, dob, pc, alias_fn_sn, dob_alt
ROWS: list[Row] = [
    # A: the second row is the most complete; the first row's name and date become
    # alternatives of the second's.
    ("A", 1, 10, None, None, None),
    ("A", 2, 11, 100, [3], None),
    # B: one row, unchanged; empty alternatives stay null.
    ("B", 5, 20, None, None, None),
    # C: a copy with a blank postcode; equal values add no alternative.
    ("C", 8, 30, None, None, None),
    ("C", 8, 30, 300, None, [31]),
    # D: equally complete rows that disagree: the smaller tokens (dob first, the column
    # order given) win, whatever the row order.
    ("D", 7, 40, 400, None, None),
    ("D", 6, 41, 400, None, None),
]
EXPECTED = {
    "A": (2, 11, 100, [1, 3], [10]),
    "B": (5, 20, None, None, None),
    "C": (8, 30, 300, None, [31]),
    "D": (7, 40, 400, [6], [41]),
}


def _merged(rows: list[Row]) -> dict[str, tuple[Any, ...]]:
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE identity (record_pid VARCHAR, fn_sn BIGINT, dob BIGINT, pc BIGINT, "
        "alias_fn_sn BIGINT[], dob_alt BIGINT[])"
    )
    connection.executemany("INSERT INTO identity VALUES (?, ?, ?, ?, ?, ?)", rows)
    sql = merged_identity_sql(
        "identity",
        scalars=["dob", "fn_sn", "pc"],
        lists=["alias_fn_sn", "dob_alt"],
        alternatives={"alias_fn_sn": ["fn_sn"], "dob_alt": ["dob"]},
    )
    found = connection.sql(
        f"SELECT record_pid, fn_sn, dob, pc, alias_fn_sn, dob_alt FROM {sql}"
    ).fetchall()
    return {row[0]: tuple(row[1:]) for row in found}


def test_rows_of_one_record_pid_become_one_record() -> None:
    assert _merged(ROWS) == EXPECTED


def test_the_merge_does_not_depend_on_row_order() -> None:
    assert _merged(list(reversed(ROWS))) == EXPECTED


@pytest.mark.parametrize(
    ("manifest", "declared"),
    [
        ({"kind": "identity", "record_ids_unique": False}, True),
        ({"kind": "identity", "record_ids_unique": True}, False),
        ({"kind": "identity"}, False),  # an older manifest: not declared, so refused
        ({"kind": "events", "record_ids_unique": False}, False),
        ({"extract": {"kind": "identity", "record_ids_unique": False}}, True),  # package
        ({"extract": {"kind": "identity", "record_ids_unique": True}}, False),
    ],
)
def test_only_a_manifest_that_says_record_ids_repeat_declares_repeats(
    manifest: dict[str, Any], declared: bool
) -> None:
    assert declares_repeated_record_ids(manifest) is declared


@pytest.fixture
def match_keys() -> MatchKeySpec:
    return load_match_key_spec()


def _tables(connection: duckdb.DuckDBPyConnection, match_keys: MatchKeySpec) -> None:
    """An ICTG-like identity table (URN U repeats with another name) and its attributes."""
    columns = ", ".join(
        f"CAST(NULL AS {'BIGINT[]' if match_keys.key(name).list else 'BIGINT'}) AS {name}"
        for name in match_keys.token_columns
        if name not in ("fn_sn", "fn", "dob")
    )
    connection.execute(
        f"CREATE TABLE identity AS SELECT record_pid, CAST(fn_sn AS BIGINT) AS fn_sn, "
        f"CAST(fn_sn AS BIGINT) AS fn, CAST(dob AS BIGINT) AS dob, {columns} FROM "
        "(VALUES ('U', 1, 10), ('U', 2, 10), ('V', 3, 30)) t(record_pid, fn_sn, dob)"
    )
    connection.execute(
        "CREATE TABLE attributes AS SELECT * FROM (VALUES ('U', 'F', 'albanian'), "
        "('U', 'F', NULL), ('U', 'M', 'albanian'), ('V', 'M', 'vietnamese')) "
        "t(record_pid, sex, nationality)"
    )


def _prepare(
    connection: duckdb.DuckDBPyConnection, match_keys: MatchKeySpec, *, declared: bool
) -> None:
    source = DatasetSource(
        name="ictg",
        identity="identity",
        attributes="attributes",
        linkage_key_id=None,
        origin="ictg/identity.parquet",
        record_ids_repeat=declared,
    )
    prepare_inputs(
        connection,
        [source],
        match_keys=match_keys,
        comparisons=match_keys.comparisons,
        required_comparisons=("name", "dob"),
        attribute_columns=("sex",),
    )


def test_a_declared_dataset_gives_one_input_and_one_attributes_row_per_record_pid(
    match_keys: MatchKeySpec,
) -> None:
    connection = duckdb.connect()
    _tables(connection, match_keys)
    _prepare(connection, match_keys, declared=True)
    inputs = connection.sql(
        "SELECT record_pid, fn_sn, alias_fn_sn, sex FROM input_ictg ORDER BY 1"
    ).fetchall()
    assert inputs == [("U", 1, [2], "F"), ("V", 3, None, "M")]
    attributes = connection.sql(
        "SELECT record_pid, sex, nationality FROM attributes_ictg ORDER BY 1"
    ).fetchall()
    assert attributes == [("U", "F", "albanian"), ("V", "M", "vietnamese")]


def test_an_undeclared_dataset_with_repeated_ids_is_refused_naming_it(
    match_keys: MatchKeySpec,
) -> None:
    connection = duckdb.connect()
    _tables(connection, match_keys)
    with pytest.raises(InputTableError, match=r"dataset 'ictg'\): 1 duplicate record_pid values"):
        _prepare(connection, match_keys, declared=False)
