"""Blocking rules from the job spec: pure SQL for prediction, training and the prior.

A rule whose match keys a run does not have (no input carries them) is dropped, so
one default rule set serves datasets with and without NHS numbers, pupil numbers or
police ids. A ``cross`` term expands into both directions, because Splink keeps only
one ordering of each pair and a swap may sit on either side.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable

from splink.blocking_rule_library import CustomRule, block_on
from splink.internals.blocking_rule_creator import BlockingRuleCreator

from linkage.job import BlockingRuleSpec
from specs.match_keys import EqualTerm

__all__ = [
    "blocking_rule_sql",
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


def usable(keys: Iterable[str], available: Collection[str]) -> bool:
    """True when every key is a column the run's inputs carry."""
    return all(key in available for key in keys)


def prediction_blocking_rules(
    rules: Iterable[BlockingRuleSpec], *, available: Collection[str]
) -> list[BlockingRuleCreator]:
    """Splink rules for prediction, skipping rules on keys the inputs lack."""
    creators: list[BlockingRuleCreator] = []
    for rule in rules:
        if usable(rule.keys, available):
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
