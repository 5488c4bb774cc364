"""The person spine from scored pairs: persons, datasets per person, repeat records."""

from __future__ import annotations

import duckdb

from linkage.clusters import build_spine


def _connection() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE input_nrm (record_pid VARCHAR)")
    connection.execute("INSERT INTO input_nrm VALUES ('n1'), ('n2'), ('n3'), ('n4')")
    connection.execute("CREATE TABLE input_ictg (record_pid VARCHAR)")
    connection.execute("INSERT INTO input_ictg VALUES ('i1'), ('i2')")
    connection.execute(
        "CREATE TABLE scored_pairs (dataset_l VARCHAR, record_pid_l VARCHAR, "
        "dataset_r VARCHAR, record_pid_r VARCHAR, match_weight DOUBLE, match_probability DOUBLE)"
    )
    connection.execute(
        "INSERT INTO scored_pairs VALUES "
        "('nrm', 'n1', 'nrm', 'n2', 10, 0.99),"  # the same child referred twice
        "('nrm', 'n2', 'ictg', 'i1', 9, 0.98),"  # ... and supported by ICTG
        "('nrm', 'n3', 'ictg', 'i2', 1, 0.60),"  # below the threshold: not a link
        "('nrm', 'n4', 'nrm', 'n3', -5, 0.02)"
    )
    return connection


def test_spine_counts_persons_and_repeat_referrals() -> None:
    connection = _connection()
    spine = build_spine(
        connection,
        tables={"nrm": "input_nrm", "ictg": "input_ictg"},
        threshold=0.8,
        repeats_dataset="nrm",
    )
    assert spine.records == 6
    assert spine.persons == 4  # {n1, n2, i1}, {n3}, {n4}, {i2}
    assert spine.persons_in_several_datasets == 1
    assert spine.repeat_persons == 1 and spine.repeat_records == 1
    rows = connection.sql("SELECT dataset, record_pid, person_id FROM clusters").fetchall()
    person = {(dataset, pid): person_id for dataset, pid, person_id in rows}
    assert person["nrm", "n1"] == person["nrm", "n2"] == person["ictg", "i1"]
    assert len({person["nrm", "n3"], person["ictg", "i2"], person["nrm", "n4"]}) == 3
    # person ids are neutral sequence numbers, not record ids
    assert all(value.startswith("P") and value[1:].isdigit() for value in person.values())


def test_lower_threshold_joins_more_and_no_repeats_without_the_dataset() -> None:
    spine = build_spine(
        _connection(),
        tables={"nrm": "input_nrm", "ictg": "input_ictg"},
        threshold=0.5,
        repeats_dataset="health",
    )
    assert spine.persons == 3
    assert spine.repeat_persons is None and spine.repeats_dataset is None
