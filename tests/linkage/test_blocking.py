"""Blocking rules generated from the job spec."""

from __future__ import annotations

from linkage.blocking import blocking_rule_sql, key_block_rules, prediction_blocking_rules
from linkage.job import DEFAULT_PREDICTION_RULES, BlockingRuleSpec
from specs.match_keys import CrossTerm, EqualTerm, load_match_key_spec


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
    known = set(load_match_key_spec().token_columns)
    sql = [text for rule in DEFAULT_PREDICTION_RULES for text in blocking_rule_sql(rule)]
    # swapped order with a typo in one name: the other name across sides and the dob
    assert "l.fn = r.sn AND l.dob = r.dob" in sql and "l.sn = r.fn AND l.dob = r.dob" in sql
    # a typo late in the surname is still found through the forename and the dob
    assert "l.fn_sn_pre4 = r.fn_sn_pre4 AND l.dob = r.dob" in sql
    for rule in DEFAULT_PREDICTION_RULES:
        assert set(rule.keys) <= known
