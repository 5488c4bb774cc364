"""`trelink ictg`: inputs from Parquet files, pseudonymised folders or a TRE database; bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from linkage.ictg import IctgInputError
from trelink.cli import app

_REFERRAL = """
    SELECT * FROM (VALUES
        ('a', 'albanian', 'croydon', DATE '2019-01-01', ['criminal'], 'dw', DATE '2019-05-01',
         'turning_18', NULL, '2017-2019', 'DW'),
        ('a', 'albanian', 'croydon', DATE '2019-01-02', ['criminal'], 'dw', NULL,
         NULL, NULL, '2017-2019', 'Missing'),
        ('a', 'albanian', 'wales', DATE '2019-09-01', ['labour'], 'rpc', NULL,
         NULL, NULL, '2017-2019', 'RPC'),
        ('b', NULL, 'wales', DATE '2020-02-01', NULL, NULL, NULL, NULL, NULL, '2020', 'DW')
    ) AS t(record_pid, nationality, site, referral_date, exploitation_types, worker_type,
           closure_date, closure_reason, moved_on_service, period, "group")
"""
_MONTHLY = """
    SELECT * FROM (VALUES
        ('a', DATE '2019-01-01', 'open', 1, 'foster_care', '2017-2019', 'DW'),
        ('a', DATE '2019-01-01', 'open', 1, 'foster_care', '2017-2019', 'Missing'),
        ('a', DATE '2019-10-01', 'open', 0, 'secure', '2017-2019', 'RPC')
    ) AS t(record_pid, month, status, missing_episodes, placement_type, period, "group")
"""
_CONTACT = """
    SELECT record_pid, CAST(contact_date AS DATE) AS contact_date, contact_type,
        contact_subject, period, "group"
    FROM (VALUES
        ('a', '2019-01-03', 'telephone', 'health', '2017-2019', 'DW'),
        ('a', '2019-09-04', 'face_to_face', 'education', '2017-2019', 'RPC')
    ) AS t(record_pid, contact_date, contact_type, contact_subject, period, "group")
"""
_TABLES = {"referral": _REFERRAL, "monthly": _MONTHLY, "contact": _CONTACT}


def _parquet_inputs(folder: Path, **replaced: str) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    paths = {}
    for table, sql in {**_TABLES, **replaced}.items():
        paths[table] = folder / f"{table}.parquet"
        connection.execute(f"COPY ({sql}) TO '{paths[table]}' (FORMAT parquet)")
    return paths


def _arguments(paths: dict[str, Path | str]) -> list[str | Path]:
    return [item for table in _TABLES for item in (f"--{table}", paths[table])]


def test_cli_writes_five_tables_and_a_summary(tmp_path: Path) -> None:
    paths = _parquet_inputs(tmp_path / "in")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["ictg", *map(str, _arguments(dict(paths))), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "re-entries after closure" in result.output
    names = sorted(path.name for path in out.iterdir())
    assert names == [f"{t}.parquet" for t in ("contact", "long", "monthly", "referral")] + [
        "summary.json",
        "wide.parquet",
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["referral"]["episodes"] == 2
    assert summary["referral"]["re_entries"] == 1
    assert summary["referral"]["excluded"] == {"urn_missing": 1}
    assert summary["monthly"]["duplicates_removed"] == 1
    assert pq.read_table(out / "wide.parquet").num_rows == 1
    # No internal helper column leaves the TRE work connection.
    for name in ("referral", "monthly", "contact", "long", "wide"):
        assert not [c for c in pq.read_schema(out / f"{name}.parquet").names if c.startswith("_")]


def test_cli_reads_pseudonymised_folders_and_a_tre_database(tmp_path: Path) -> None:
    paths = _parquet_inputs(tmp_path / "in")
    folders: dict[str, Path | str] = {}
    for table, path in paths.items():
        folder = tmp_path / f"ictg_{table}"
        folder.mkdir()
        path.rename(folder / "attributes.parquet")
        folders[table] = folder
    from_folders = tmp_path / "from_folders"
    result = CliRunner().invoke(
        app, ["ictg", *map(str, _arguments(folders)), "--out", str(from_folders)]
    )
    assert result.exit_code == 0, result.output

    database = tmp_path / "tre.duckdb"
    with duckdb.connect(str(database)) as connection:
        for table, place in folders.items():
            attributes = Path(place) / "attributes.parquet"
            connection.execute(f"CREATE TABLE ictg_{table} AS SELECT * FROM '{attributes}'")
    tables: dict[str, Path | str] = {table: f"ictg_{table}" for table in _TABLES}
    from_db = tmp_path / "from_db"
    result = CliRunner().invoke(
        app, ["ictg", "--db", str(database), *map(str, _arguments(tables)), "--out", str(from_db)]
    )
    assert result.exit_code == 0, result.output
    for name in ("referral", "long", "wide"):
        assert pq.read_table(from_folders / f"{name}.parquet").equals(
            pq.read_table(from_db / f"{name}.parquet")
        )


BAD_INPUTS = [
    (
        "missing column",
        {"contact": "SELECT * EXCLUDE (contact_subject) FROM (" + _CONTACT + ")"},
        r"contact\.parquet: the contact table lacks column\(s\) \['contact_subject'\]",
    ),
    (
        "unparseable date",
        {
            "monthly": "SELECT * REPLACE (CASE WHEN missing_episodes = 0 THEN 'Sept 2019' "
            "ELSE CAST(month AS VARCHAR) END AS month) FROM (" + _MONTHLY + ")"
        },
        r"monthly\.parquet: column 'month': row 3 \(and 0 more\) is not a date",
    ),
    (
        "list column as text",
        {
            "referral": "SELECT * REPLACE ('criminal' AS exploitation_types) FROM ("
            + _REFERRAL
            + ")"
        },
        r"column 'exploitation_types' is VARCHAR, expected a list of category codes",
    ),
    (
        "empty table",
        {"monthly": "SELECT * FROM (" + _MONTHLY + ") LIMIT 0"},
        r"monthly table is empty",
    ),
]


@pytest.mark.parametrize(
    ("replaced", "message"), [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS]
)
def test_bad_input_is_named_and_writes_nothing(
    tmp_path: Path, replaced: dict[str, str], message: str
) -> None:
    paths = _parquet_inputs(tmp_path / "in", **replaced)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["ictg", *map(str, _arguments(dict(paths))), "--out", str(out)]
    )
    assert isinstance(result.exception, IctgInputError)
    text = str(result.exception)
    assert re.search(message, text), text
    assert "Sept 2019" not in text  # values never appear in messages
    assert not out.exists()


def test_existing_output_is_not_replaced_without_overwrite(tmp_path: Path) -> None:
    paths = _parquet_inputs(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier results")
    arguments = ["ictg", *map(str, _arguments(dict(paths))), "--out", str(out)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code != 0 and (out / "keep.txt").exists()
    result = CliRunner().invoke(app, [*arguments, "--overwrite"])
    assert result.exit_code == 0 and not (out / "keep.txt").exists()
