"""Blocking rules from the match-key spec (or a job that overrides them), as SQL."""

from __future__ import annotations

import random

import duckdb
import pytest
from pydantic import ValidationError

from linkage.blocking import (
    blocking_rule_sql,
    capped_block_column,
    capped_block_sql,
    capped_blocks_sql,
    capped_rule_sql,
    key_block_rules,
    prediction_blocking_rules,
)
from linkage.errors import JobParameterError
from linkage.job import BlockingRuleSpec, LinkJob
from trelink.specs.match_keys import CrossTerm, EqualTerm, load_match_key_spec


def test_cross_terms_expand_into_both_directions() -> None:
    rule = BlockingRuleSpec(all=(CrossTerm(cross=("fn_sn", "sn_fn")), EqualTerm(equal="dob")))
    assert blocking_rule_sql(rule) == [
        "l.fn_sn = r.sn_fn AND l.dob = r.dob",
        "l.sn_fn = r.fn_sn AND l.dob = r.dob",
    ]


def test_rules_on_missing_keys_are_dropped() -> None:
    available = {"fn_sn", "sn_fn", "dob"}
    rules = [
        BlockingRuleSpec(all=(EqualTerm(equal="fn_sn"),)),
        BlockingRuleSpec(all=(EqualTerm(equal="nhs_number"),)),
    ]
    built = prediction_blocking_rules(rules, available=available)
    assert [rule.get_blocking_rule("duckdb").blocking_rule_sql for rule in built] == [
        "l.fn_sn = r.fn_sn"
    ]
    assert len(key_block_rules([("dob",), ("upn",)], available=available)) == 1


def test_default_rules_cover_swapped_names_and_typos_and_use_known_keys() -> None:
    spec = load_match_key_spec()
    known = set(spec.token_columns)
    rules = LinkJob().blocking_rules
    assert rules == spec.blocking  # the match-key spec's rules unless the job overrides
    sql = [text for rule in rules for text in blocking_rule_sql(rule)]
    # swapped order with a typo in one name: the other name across sides and the dob,
    # capped (common names are common as forenames and surnames alike)
    swapped = BlockingRuleSpec(
        all=(CrossTerm(cross=("fn", "sn")), EqualTerm(equal="dob")), max_block_size=10
    )
    assert swapped in rules
    # a typo late in the surname is still found through the forename and the dob
    assert "l.fn_sn_pre4 = r.fn_sn_pre4 AND l.dob = r.dob" in sql
    for rule in rules:
        assert set(rule.keys) <= known


def _capped(*keys: str, size: int = 2) -> BlockingRuleSpec:
    return BlockingRuleSpec(all=tuple(EqualTerm(equal=key) for key in keys), max_block_size=size)


def test_capped_rules_block_on_their_own_column() -> None:
    rules = [BlockingRuleSpec(all=(EqualTerm(equal="dob"),)), _capped("fn", "dob")]
    built = prediction_blocking_rules(rules, available={"fn", "dob"})
    assert [rule.get_blocking_rule("duckdb").blocking_rule_sql for rule in built] == [
        "l.dob = r.dob",
        f"l.{capped_block_column(1)} = r.{capped_block_column(1)}",
    ]


def test_a_cap_takes_one_cross_term_at_most() -> None:
    with pytest.raises(ValidationError, match="at most one `cross` term"):
        BlockingRuleSpec(
            all=(CrossTerm(cross=("fn", "sn")), CrossTerm(cross=("fn_sn", "sn_fn"))),
            max_block_size=5,
        )
    with pytest.raises(ValidationError):
        _capped("fn", size=1)


@pytest.mark.parametrize(
    ("left", "right", "size", "expected", "blocks"),
    [
        # (fn, dob) values; a block is counted over both tables together
        # a record alone in its block gets no value: it can pair with nothing
        ([(1, 10), (2, 20)], [(1, 10), (3, 30)], 2, [True, False, True, False], 1),
        ([(1, 10), (1, 10)], [(1, 10)], 2, [False, False, False], 0),  # 3 records > 2
        ([(1, 10), (1, 10)], [(1, 10)], 3, [True, True, True], 1),
        ([(1, 10), (1, 11)], [(1, 10), (1, 11)], 2, [True, True, True, True], 2),
        ([(1, 10), (1, 11)], [(1, 10), (1, 10)], 2, [False, False, False, False], 0),
        ([(1, None), (None, 10)], [(1, None)], 5, [False, False, False], 0),  # a key missing
    ],
)
def test_capped_columns_mark_small_blocks_only(
    left: list[tuple[int | None, int | None]],
    right: list[tuple[int | None, int | None]],
    size: int,
    expected: list[bool],
    blocks: int,
) -> None:
    connection = duckdb.connect()
    for name, rows in (("a", left), ("b", right)):
        connection.execute(f"CREATE TABLE {name} (record_pid VARCHAR, fn BIGINT, dob BIGINT)")
        connection.executemany(
            f"INSERT INTO {name} VALUES (?, ?, ?)",
            [(f"{name}{index}", fn, dob) for index, (fn, dob) in enumerate(rows)],
        )
    rule = _capped("fn", "dob", size=size)
    for statement in capped_block_sql(rule, tables=["a", "b"], column="c", pair_budget=0):
        connection.execute(statement)
    rows = connection.sql(
        "SELECT c FROM (SELECT * FROM a UNION ALL SELECT * FROM b) ORDER BY record_pid"
    ).fetchall()
    assert [row[0] is not None for row in rows] == expected
    # one value per kept block, so joining on the column pairs exactly its records
    assert len({row[0] for row in rows if row[0] is not None}) == blocks


def test_job_blocking_overrides_the_spec_and_a_missing_list_is_named() -> None:
    spec = load_match_key_spec()
    own = (BlockingRuleSpec(all=(EqualTerm(equal="dob"),)),)
    assert LinkJob(blocking=own).blocking_rules == own
    bare = type(spec).model_validate(spec.model_dump() | {"blocking": (), "em_blocks": ()})
    with pytest.raises(JobParameterError) as caught:
        LinkJob(match_keys=bare)
    assert caught.value.parameter == "blocking"
    assert str(caught.value) == (
        "blocking: neither the job nor the match-key spec gives any rule; "
        "training.em_blocks: neither the job nor the match-key spec gives any"
    )
    # A job that gives its own needs none from the spec.
    job = LinkJob(match_keys=bare, blocking=own, training={"em_blocks": [["dob"]]})
    assert job.blocking_rules == own and job.em_blocks == (("dob",),)


def test_capped_rules_keep_larger_blocks_while_their_pairs_fit_the_budget() -> None:
    """Small data: every block fits the budget, as an uncapped rule would keep it; large
    data: blocks are kept smallest first until the budget is spent, never below the cap."""
    connection = duckdb.connect()
    # blocks of 2, 3 and 6 records: 1, 3 and 15 pairs
    values = [1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3]
    connection.execute("CREATE TABLE a (record_pid VARCHAR, fn BIGINT)")
    connection.executemany(
        "INSERT INTO a VALUES (?, ?)", [(str(index), value) for index, value in enumerate(values)]
    )
    kept = {}
    for budget in (0, 4, 19):
        connection.execute("CREATE OR REPLACE TABLE b AS SELECT * FROM a")
        rule = BlockingRuleSpec(all=(EqualTerm(equal="fn"),), max_block_size=2)
        for statement in capped_block_sql(rule, tables=["b"], column="c", pair_budget=budget):
            connection.execute(statement)
        found = connection.execute("SELECT fn FROM b WHERE c IS NOT NULL").fetchall()
        kept[budget] = sorted({row[0] for row in found})
    assert kept == {0: [1], 4: [1, 2], 19: [1, 2, 3]}


def test_all_capped_columns_in_one_pass_equal_one_rule_at_a_time() -> None:
    # capped_blocks_sql rewrites each table once with every column; the blocks must be
    # the ones each rule gives alone.
    draw = random.Random(7)
    rows = [
        (f"r{index}", draw.randint(1, 40), draw.choice([draw.randint(1, 9), None]))
        for index in range(300)
    ]
    rules = [_capped("fn", "dob", size=3), _capped("fn", size=4), _capped("dob", size=10)]
    columns: dict[str, list[tuple[object, ...]]] = {}
    for mode in ("together", "alone"):
        connection = duckdb.connect()
        connection.execute("CREATE TABLE a (record_pid VARCHAR, fn BIGINT, dob BIGINT)")
        connection.executemany("INSERT INTO a VALUES (?, ?, ?)", rows)
        if mode == "together":
            statements = capped_blocks_sql(rules, tables=["a"], available={"fn", "dob"})
        else:
            statements = [
                statement
                for index, rule in enumerate(rules)
                for statement in capped_block_sql(
                    rule, tables=["a"], column=capped_block_column(index)
                )
            ]
        for statement in statements:
            connection.execute(statement)
        names = ", ".join(capped_block_column(index) for index in range(len(rules)))
        columns[mode] = connection.execute(
            f"SELECT record_pid, {names} FROM a ORDER BY record_pid"
        ).fetchall()
    assert columns["together"] == columns["alone"]
    assert any(value is not None for row in columns["together"] for value in row[1:])


def _pairs(connection: duckdb.DuckDBPyConnection, conditions: list[str]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for condition in conditions:
        rows = connection.execute(
            f"SELECT l.record_pid, r.record_pid FROM a l JOIN b r ON {condition}"
        ).fetchall()
        found |= {(str(left), str(right)) for left, right in rows}
    return found


def test_a_capped_cross_rule_finds_the_uncapped_pairs_of_its_small_blocks() -> None:
    """Names swapped: one side's forename is the other's surname. A block is a (name,
    dob) value and holds every record carrying it as forename or as surname; the capped
    rule finds exactly the uncapped rule's pairs whose block is small enough."""
    draw = random.Random(3)
    rows: dict[str, list[tuple[str, int, int | None, int]]] = {}
    for table in ("a", "b"):
        rows[table] = [
            (f"{table}{index}", draw.randint(1, 12), draw.choice([draw.randint(1, 12), None]), 1)
            for index in range(60)
        ]
    uncapped = BlockingRuleSpec(all=(CrossTerm(cross=("fn", "sn")), EqualTerm(equal="dob")))
    capped = BlockingRuleSpec(all=uncapped.all, max_block_size=12)
    assert capped_rule_sql(capped, 0) == [
        "l.capped_block_0 = r.capped_block_0_cross",
        "l.capped_block_0_cross = r.capped_block_0",
    ]
    found = {}
    for budget in (10**9, 0):
        connection = duckdb.connect()
        for table, records in rows.items():
            connection.execute(
                f"CREATE TABLE {table} (record_pid VARCHAR, fn BIGINT, sn BIGINT, dob BIGINT)"
            )
            connection.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", records)
        everything = _pairs(connection, blocking_rule_sql(uncapped))
        column = capped_block_column(0)
        for statement in capped_block_sql(
            capped, tables=["a", "b"], column=column, pair_budget=budget
        ):
            connection.execute(statement)
        found[budget] = _pairs(connection, capped_rule_sql(capped, 0))
    # A budget that holds every block: the uncapped rule's pairs.
    assert found[10**9] == everything
    # No budget: only blocks of at most 12 records, counted in both roles, both tables.
    sizes: dict[int, int] = {}
    for records in rows.values():
        for _, forename, surname, _ in records:
            for name in (forename, surname):
                if name is not None:
                    sizes[name] = sizes.get(name, 0) + 1
    by_id = {record[0]: record for records in rows.values() for record in records}
    small = set()
    for left, right in everything:
        _, left_fn, left_sn, _ = by_id[left]
        _, right_fn, right_sn, _ = by_id[right]
        shared = ({left_fn} & {right_sn}) | ({left_sn} & {right_fn})
        if any(sizes[name] <= 12 for name in shared if name is not None):
            small.add((left, right))
    assert found[0] == small
    assert small and small != everything  # the case tests something
