"""Blocking rules from the job spec: pure SQL for prediction, training and the prior.

A rule whose match keys a run does not have (no input carries them) is dropped, so
one default rule set serves datasets with and without NHS numbers, pupil numbers or
police ids. A ``cross`` term expands into both directions, because Splink keeps only
one ordering of each pair and a swap may sit on either side.

A rule with ``max_block_size`` blocks on a work column of its own (``capped_block_<i>``
for the rule at position ``i``): a hash of the rule's tokens where at most that many
records share them, null elsewhere. A capped rule with a ``cross`` term ``[a, b]`` has
two: one hashes ``a`` with the rule's other keys, one ``b`` (``capped_block_<i>_cross``),
and its pairs are those where one side's first equals the other side's second. The
TRE computes the columns from token frequencies, which it already holds for
term-frequency adjustments, so it learns nothing new.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Sequence

from splink.blocking_rule_library import CustomRule, block_on
from splink.internals.blocking_rule_creator import BlockingRuleCreator

from linkage.job import BlockingRuleSpec
from trelink.specs.match_keys import EqualTerm

__all__ = [
    "CAPPED_RULE_PAIRS",
    "blocking_rule_sql",
    "capped_block_column",
    "capped_block_columns",
    "capped_block_sql",
    "capped_blocks_sql",
    "capped_rule_sql",
    "key_block_rules",
    "prediction_blocking_rules",
    "usable",
]


def blocking_rule_sql(rule: BlockingRuleSpec) -> list[str]:
    """The SQL conditions of one rule; one per direction of each ``cross`` term."""
    alternatives: list[list[str]] = []
    for term in rule.all:
        if isinstance(term, EqualTerm):
            alternatives.append([f"l.{term.equal} = r.{term.equal}"])
        else:
            first, second = term.cross
            alternatives.append([f"l.{first} = r.{second}", f"l.{second} = r.{first}"])
    return [" AND ".join(choice) for choice in itertools.product(*alternatives)]


def capped_block_column(index: int) -> str:
    """The work column that carries capped rule number ``index``."""
    return f"capped_block_{index}"


def capped_block_columns(rule: BlockingRuleSpec, index: int) -> tuple[str, ...]:
    """The work columns of capped rule number ``index``: one per side of its cross term
    (``capped_block_<i>`` for the first key, ``capped_block_<i>_cross`` for the second),
    one alone for a rule of equalities."""
    column = capped_block_column(index)
    return (column, f"{column}_cross") if len(_roles(rule)) == 2 else (column,)


def capped_rule_sql(rule: BlockingRuleSpec, index: int) -> list[str]:
    """The conditions of capped rule ``index``: both directions when it has a cross term."""
    columns = capped_block_columns(rule, index)
    if len(columns) == 1:
        return [f"l.{columns[0]} = r.{columns[0]}"]
    first, second = columns
    return [f"l.{first} = r.{second}", f"l.{second} = r.{first}"]


def _roles(rule: BlockingRuleSpec) -> list[tuple[str, ...]]:
    """The keys one record contributes to a block, in term order: a cross term ``[a, b]``
    is read as ``a`` by one side of a pair and as ``b`` by the other."""
    roles: list[list[str]] = [[]]
    for term in rule.all:
        if isinstance(term, EqualTerm):
            for keys in roles:
                keys.append(term.equal)
        else:  # the spec allows one cross term in a capped rule
            first, second = term.cross
            roles = [[*keys, first] for keys in roles] + [[*keys, second] for keys in roles]
    return [tuple(keys) for keys in roles]


# Pairs a capped rule may add beyond its ``max_block_size``: on small data a capped rule
# then keeps every block (as an uncapped rule would), on large data only the small ones.
CAPPED_RULE_PAIRS = 250_000


def capped_block_sql(
    rule: BlockingRuleSpec,
    *,
    tables: Sequence[str],
    column: str,
    pair_budget: int = CAPPED_RULE_PAIRS,
) -> list[str]:
    """Statements that add ``column`` to every table in ``tables`` for a capped ``rule``.

    Block sizes count every table together, so a value common in one dataset is
    skipped even where another holds it rarely (its pairs would still be many). The cap
    adapts to the data: blocks are kept smallest first while their pairs add up to at
    most ``pair_budget``, and never fewer than those of ``max_block_size`` records. A
    record alone in its block gets no value: it can pair with nothing.
    """
    return _capped_columns_sql([(rule, column)], tables=tables, pair_budget=pair_budget)


def capped_blocks_sql(
    rules: Sequence[BlockingRuleSpec],
    *,
    tables: Sequence[str],
    available: Collection[str],
    pair_budget: int = CAPPED_RULE_PAIRS,
) -> list[str]:
    """Statements adding the block column of every capped rule the tables can run.

    Each table is rewritten once with all the columns: rewriting it once per rule cost
    46.8 s of a 1M x 1M run (six rules, two wide tables).
    """
    capped = [
        (rule, capped_block_column(index))
        for index, rule in enumerate(rules)
        if rule.max_block_size is not None and usable(rule.keys, available)
    ]
    return _capped_columns_sql(capped, tables=tables, pair_budget=pair_budget)


def _capped_columns_sql(
    capped: Sequence[tuple[BlockingRuleSpec, str]], *, tables: Sequence[str], pair_budget: int
) -> list[str]:
    if not capped:
        return []
    statements: list[str] = []
    selected: list[str] = []
    joins: list[str] = []
    for position, (rule, column) in enumerate(capped):
        if rule.max_block_size is None:
            raise ValueError("capped_block_sql needs a rule with max_block_size")
        roles = _roles(rule)
        # Block values by position (k0, k1, ...), so both sides of a cross term count
        # into the same blocks: a block holds every record carrying its values in
        # either role.
        slots = [f"k{slot}" for slot in range(len(roles[0]))]
        listed = ", ".join(slots)
        present = " AND ".join(f"{slot} IS NOT NULL" for slot in slots)
        projections = [
            ", ".join(f"{key} AS {slot}" for key, slot in zip(keys, slots, strict=True))
            for keys in roles
        ]
        union = " UNION ALL ".join(
            f"SELECT {projection} FROM {table}" for table in tables for projection in projections
        )
        sizes = f"{column}_sizes"
        statements += [
            f"CREATE OR REPLACE TEMP TABLE {sizes} AS SELECT {listed}, count(*) AS block_size "
            f"FROM ({union}) WHERE {present} GROUP BY ALL HAVING count(*) > 1",
            f"DELETE FROM {sizes} WHERE block_size > (SELECT greatest({rule.max_block_size}, "
            f"coalesce(max(block_size) FILTER (WHERE pairs <= {pair_budget}), 0)) FROM "
            "(SELECT block_size, sum(blocks * block_size * (block_size - 1) / 2) "
            "OVER (ORDER BY block_size) AS pairs FROM (SELECT block_size, count(*) AS blocks "
            f"FROM {sizes} GROUP BY block_size)))",
        ]
        names = (column, f"{column}_cross")
        for role, (keys, name) in enumerate(zip(roles, names, strict=False)):
            alias = f"b{position}_{role}"
            # The hash is shifted into the signed range: Spark has no unsigned 64-bit
            # type. It reads the block's values, so both roles of a block hash alike.
            value = f"CAST(hash({', '.join(f'{alias}.{slot}' for slot in slots)}) >> 1 AS BIGINT)"
            selected.append(f"CASE WHEN {alias}.k0 IS NULL THEN NULL ELSE {value} END AS {name}")
            joined = " AND ".join(
                f"t.{key} = {alias}.{slot}" for key, slot in zip(keys, slots, strict=True)
            )
            joins.append(f"LEFT JOIN {sizes} {alias} ON {joined}")
    for table in tables:
        statements.append(
            f"CREATE OR REPLACE TABLE {table} AS SELECT t.*, {', '.join(selected)} "
            f"FROM {table} t {' '.join(joins)}"
        )
    statements.extend(f"DROP TABLE {column}_sizes" for _, column in capped)
    return statements


def usable(keys: Iterable[str], available: Collection[str]) -> bool:
    """True when every key is a column the run's inputs carry."""
    return all(key in available for key in keys)


def prediction_blocking_rules(
    rules: Iterable[BlockingRuleSpec], *, available: Collection[str]
) -> list[BlockingRuleCreator]:
    """Splink rules for prediction, skipping rules on keys the inputs lack."""
    creators: list[BlockingRuleCreator] = []
    for index, rule in enumerate(rules):
        if not usable(rule.keys, available):
            continue
        if rule.max_block_size is not None:
            creators.extend(CustomRule(sql) for sql in capped_rule_sql(rule, index))
        else:
            creators.extend(CustomRule(sql) for sql in blocking_rule_sql(rule))
    return creators


def key_block_rules(
    blocks: Iterable[tuple[str, ...]], *, available: Collection[str]
) -> list[BlockingRuleCreator]:
    """Equality blocks on match keys (EM training sessions, prior estimation).

    ``block_on`` names the columns themselves, so Splink switches off exactly the
    comparisons that read them during an EM session (it matches by column name).
    """
    return [block_on(*block) for block in blocks if usable(block, available)]
