"""Benchmark: what each default blocking rule costs and finds, on generator data.

    .venv/bin/python bench/bench_blocking_rules.py [--records 1000000] [--seed 1]
        [--data out/bench/linkage] [--uncapped | --uncap N [N ...]]

Loads the cached tokenised extracts of ``bench_linkage_quality.py`` (generated once
per size and seed) as a run does, capped block columns included, and prints per rule
of the default job: its candidate pairs, the true pairs among them, the pairs no other
rule finds, and the true pairs no other rule finds (what dropping the rule would cost
in blocking recall). Then all rules together: candidate pairs and blocking recall.
``--uncapped`` drops every ``max_block_size`` first, to see what the caps save;
``--uncap N ...`` only those of the rules at positions N (0-based, as listed).

Run from the repository root. A rule is one line even when a ``cross`` term makes it
two joins; the rule's pairs are those of either direction.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

from linkage_bench_data import bench_data

from linkage.blocking import blocking_rule_sql, capped_rule_sql, usable
from linkage.inputs import folder_source
from linkage.job import BlockingRuleSpec, LinkJob
from linkage.run import load_job_inputs
from trelink.specs.match_keys import EqualTerm


def _describe(rule: BlockingRuleSpec) -> str:
    terms = [
        term.equal if isinstance(term, EqualTerm) else f"{term.cross[0]} ~ {term.cross[1]}"
        for term in rule.all
    ]
    cap = f" (cap {rule.max_block_size})" if rule.max_block_size else ""
    return " + ".join(terms) + cap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=Path("out/bench/linkage"))
    parser.add_argument("--uncapped", action="store_true")
    parser.add_argument("--uncap", type=int, nargs="+", default=[], metavar="N")
    options = parser.parse_args()
    started = time.perf_counter()
    data = bench_data(options.data, records=options.records, seed=options.seed)
    job = LinkJob(link_type="link_only")
    if options.uncapped or options.uncap:
        uncap = set(range(len(job.blocking_rules))) if options.uncapped else set(options.uncap)
        job = job.with_changes(
            blocking=[
                BlockingRuleSpec(all=rule.all) if index in uncap else rule
                for index, rule in enumerate(job.blocking_rules)
            ]
        )
    connection = duckdb.connect(config={"memory_limit": "14GB"})
    prepared = load_job_inputs(
        connection, [folder_source(data.left), folder_source(data.right)], job
    )
    (left_name, left_table), (right_name, right_table) = prepared.tables.items()
    connection.execute(
        "CREATE TABLE true_pairs AS SELECT a.record_pid AS l, b.record_pid AS r "
        f"FROM read_parquet('{data.truth}') a JOIN read_parquet('{data.truth}') b "
        f"ON a.person_id = b.person_id AND a.dataset = '{left_name}' "
        f"AND b.dataset = '{right_name}'"
    )
    connection.execute("CREATE TABLE found (rule INTEGER, l VARCHAR, r VARCHAR)")
    rules: list[tuple[int, BlockingRuleSpec]] = []
    for index, rule in enumerate(job.blocking_rules):
        if not usable(rule.keys, prepared.available):
            continue
        conditions = (
            capped_rule_sql(rule, index) if rule.max_block_size else blocking_rule_sql(rule)
        )
        for condition in conditions:
            connection.execute(
                f"INSERT INTO found SELECT {index}, l.record_pid, r.record_pid "
                f"FROM {left_table} l JOIN {right_table} r ON {condition}"
            )
        rules.append((index, rule))
    connection.execute(
        "CREATE TABLE pairs AS SELECT f.l, f.r, list(DISTINCT f.rule) AS rules, "
        "bool_or(t.l IS NOT NULL) AS true_pair FROM found f "
        "LEFT JOIN true_pairs t USING (l, r) GROUP BY f.l, f.r"
    )
    ((true_total,),) = connection.execute("SELECT count(*) FROM true_pairs").fetchall()
    print(
        f"blocking rules, {options.records:,} x {options.records:,} generator records "
        f"(seed {options.seed}), {true_total:,} true pairs"
        + (", caps removed" if options.uncapped else "")
        + (f", caps removed from rules {options.uncap}" if options.uncap else "")
    )
    print()
    print(
        "| position | rule | pairs | true pairs | pairs only it finds | true pairs only it finds |"
    )
    print("|---|---|---|---|---|---|")
    for index, rule in rules:
        pairs, true, alone, alone_true = connection.execute(
            f"SELECT count(*), count(*) FILTER (WHERE true_pair), "
            f"count(*) FILTER (WHERE rules = [{index}]), "
            f"count(*) FILTER (WHERE rules = [{index}] AND true_pair) "
            f"FROM pairs WHERE list_contains(rules, {index})"
        ).fetchall()[0]
        print(
            f"| {index} | {_describe(rule)} | {pairs:,} | {true:,} | {alone:,} | {alone_true:,} |"
        )
    candidates, reached = connection.execute(
        "SELECT count(*), count(*) FILTER (WHERE true_pair) FROM pairs"
    ).fetchall()[0]
    print(
        f"| | **all rules** | {candidates:,} | {reached:,} "
        f"(blocking recall {reached / true_total:.4f}) | | |"
    )
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
