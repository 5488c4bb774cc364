"""The person spine from scored pairs: persons, datasets per person, repeat records."""

from __future__ import annotations

import duckdb

from linkage.clusters import Spine, build_spine


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


def _triangle() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE input_a (record_pid VARCHAR)")
    connection.execute("INSERT INTO input_a VALUES ('A'), ('B'), ('C'), ('D'), ('E')")
    connection.execute(
        "CREATE TABLE scored_pairs (dataset_l VARCHAR, record_pid_l VARCHAR, "
        "dataset_r VARCHAR, record_pid_r VARCHAR, match_weight DOUBLE, match_probability DOUBLE)"
    )
    connection.execute(
        "INSERT INTO scored_pairs VALUES ('a', 'A', 'a', 'B', 9, 0.99), "
        "('a', 'B', 'a', 'C', 4, 0.85), ('a', 'D', 'a', 'E', 9, 0.99)"
    )
    connection.execute(
        "CREATE TABLE cannot (dataset_l VARCHAR, record_pid_l VARCHAR, dataset_r VARCHAR, "
        "record_pid_r VARCHAR)"
    )
    return connection


def _persons(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = connection.execute("SELECT record_pid, person_id FROM clusters").fetchall()
    return {pid: person for pid, person in rows}


def _labelled_spine(
    connection: duckdb.DuckDBPyConnection, *, must_link: str | None = None
) -> Spine:
    """The spine of ``_triangle``'s pairs at 0.8 with its ``cannot`` labels (and
    ``must_link``'s, if given)."""
    return build_spine(
        connection,
        tables={"a": "input_a"},
        threshold=0.8,
        repeats_dataset=None,
        cannot_link="cannot",
        must_link=must_link,
    )


def test_a_non_match_label_splits_a_person_at_its_weakest_link() -> None:
    connection = _triangle()
    connection.execute("INSERT INTO cannot VALUES ('a', 'C', 'a', 'A')")  # either orientation
    spine = _labelled_spine(connection)
    person = _persons(connection)
    assert person["A"] == person["B"] != person["C"]
    assert person["D"] == person["E"]  # a person without a label is left alone
    assert spine.persons == 3 and spine.separated_pairs == 1 and spine.cut_links == 1
    assert connection.execute(
        "SELECT record_pid_l, record_pid_r, match_probability FROM spine_cut_links"
    ).fetchall() == [("B", "C", 0.85)]


def test_the_strongest_links_stay_when_a_chain_is_cut() -> None:
    connection = _triangle()
    # A-B 0.99, B-C 0.85, C-E 0.95, D-E 0.99: a chain; A and D labelled different people
    connection.execute("INSERT INTO scored_pairs VALUES ('a', 'C', 'a', 'E', 6, 0.95)")
    connection.execute("INSERT INTO cannot VALUES ('a', 'A', 'a', 'D')")
    spine = _labelled_spine(connection)
    person = _persons(connection)
    assert person["A"] == person["B"] and person["C"] == person["D"] == person["E"]
    assert person["A"] != person["D"]
    assert (spine.persons, spine.cut_links) == (2, 1)
    assert connection.execute(
        "SELECT record_pid_l, record_pid_r FROM spine_cut_links"
    ).fetchall() == [("B", "C")]


def test_a_non_match_already_apart_cuts_nothing() -> None:
    connection = _triangle()
    connection.execute("INSERT INTO cannot VALUES ('a', 'A', 'a', 'E')")
    spine = _labelled_spine(connection)
    assert (spine.persons, spine.separated_pairs, spine.cut_links) == (2, 0, 0)
    person = _persons(connection)
    assert person["A"] == person["B"] == person["C"]


def test_a_match_label_is_never_cut_and_contradicting_labels_are_counted() -> None:
    connection = _triangle()
    connection.execute("INSERT INTO cannot VALUES ('a', 'A', 'a', 'C')")
    # the reviewer called B-C a match (probability 1) but A-C a non-match: A-B is cut
    connection.execute("UPDATE scored_pairs SET match_probability = 1.0 WHERE record_pid_r = 'C'")
    connection.execute("CREATE TABLE must AS SELECT * FROM scored_pairs WHERE record_pid_r = 'C'")
    spine = _labelled_spine(connection, must_link="must")
    person = _persons(connection)
    assert person["B"] == person["C"] != person["A"]
    assert (spine.cut_links, spine.contradicted_pairs) == (1, 0)
    # with A-B labelled match too, the labels join A and C: nothing is cut, it is counted
    connection.execute("INSERT INTO must SELECT * FROM scored_pairs WHERE record_pid_r = 'B'")
    spine = _labelled_spine(connection, must_link="must")
    person = _persons(connection)
    assert person["A"] == person["B"] == person["C"]
    assert (spine.separated_pairs, spine.cut_links, spine.contradicted_pairs) == (0, 0, 1)
