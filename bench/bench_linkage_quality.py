"""Benchmark: linkage quality on keyed tokens against cleartext Splink, on generator data.

    .venv/bin/python bench/bench_linkage_quality.py [--records 100000] [--seeds 1 2]
        [--threshold P] [--data out/bench/linkage] [--missed]

For each seed the generator writes two extracts sharing half their people (typos,
transliteration variants, family name first, estimated dates of birth, moves, twins
and siblings; see ``synth.rates``); the owner's pseudonymisation tokenises them.
``trelink``'s default job links the tokens; the cleartext reference
(``cleartext_reference.py``) links the normalised values of the same records with
string-similarity levels. Both are scored against the truth at the same threshold
(the job's default unless ``--threshold``): pairwise precision, recall and F1, and
recall (and precision) per nationality group with the largest gap between groups.
Targets: tokens F1 >= 0.95 and at least cleartext's; recall gap <= 3 points.

``--missed`` also prints the true pairs the token model missed by injected error (the
truth's ``errors`` column, either record), and how often, in the cleartext, the same
child and different children look alike in the commonest missed pattern: same names,
one date of birth 1 January, birth years at most one apart, dates and postcodes
different.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cleartext_reference import cleartext_hold_back_sql, link_cleartext_extracts
from linkage_bench_data import BenchData, bench_data

from linkage.errors import JobParameterError
from linkage.evaluate import LinkageMetrics, QualityCounts, evaluate_against_truth
from linkage.inputs import folder_source
from linkage.job import LinkJob
from linkage.run import link_datasets
from linkage.subgroups import nationality_group_sql

SUBGROUPS = ("nationality_group", "nationality")


def _evaluate(
    pairs_sql: str,
    records: dict[str, str],
    attributes: dict[str, str],
    truth: Path,
    threshold: float,
) -> LinkageMetrics:
    """Score pairs (a SQL query) with ``linkage.evaluate`` in a fresh connection."""
    connection = duckdb.connect()
    connection.execute(f"CREATE TABLE scored_pairs AS {pairs_sql}")
    connection.execute(
        "CREATE TABLE clusters AS "
        + " UNION ALL ".join(
            f"SELECT '{dataset}' AS dataset, record_pid FROM read_parquet('{path}')"
            for dataset, path in records.items()
        )
    )
    tables = {}
    for dataset, query in attributes.items():
        tables[dataset] = f"attributes_{dataset}"
        connection.execute(
            f"CREATE TABLE attributes_{dataset} AS SELECT a.record_pid, a.nationality, "
            f"{nationality_group_sql('a.nationality')} AS nationality_group FROM ({query}) a"
        )
    return evaluate_against_truth(
        connection,
        truth_path=truth,
        link_type="link_only",
        threshold=threshold,
        attributes=tables,
        subgroups=SUBGROUPS,
    )


def _missed(data: BenchData, pairs_sql: str, threshold: float) -> None:
    """Missed true pairs by injected error, and the look-alike counts (cleartext)."""
    connection = duckdb.connect()
    lookups = " UNION ALL ".join(
        f"SELECT record_id, record_pid FROM read_parquet('{folder / 'lookup.parquet'}')"
        for folder in (data.left, data.right)
    )
    connection.execute(
        "CREATE TABLE records AS SELECT t.dataset, t.person_id, t.errors, k.record_pid "
        f"FROM read_parquet('{data.raw_truth}') t JOIN ({lookups}) k USING (record_id)"
    )
    connection.execute(
        f"CREATE TABLE linked AS SELECT record_pid_l, record_pid_r FROM ({pairs_sql}) "
        f"WHERE match_probability >= {threshold}"
    )
    connection.execute(
        "CREATE TABLE missed AS SELECT l.errors || ';' || r.errors AS errors "
        "FROM records l JOIN records r ON l.person_id = r.person_id "
        "AND l.dataset = 'left' AND r.dataset = 'right' "
        "ANTI JOIN linked p ON (p.record_pid_l = l.record_pid AND p.record_pid_r = r.record_pid) "
        "ANTI JOIN linked q ON (q.record_pid_l = r.record_pid AND q.record_pid_r = l.record_pid)"
    )
    total = connection.sql("SELECT count(*) FROM missed").fetchall()[0][0]
    print(f"  missed true pairs: {total:,}; by injected error (either record):")
    rows = connection.sql(
        "SELECT error, count(*) FROM (SELECT list_distinct(string_split(errors, ';')) AS e "
        "FROM missed), unnest(e) AS u(error) WHERE error <> '' GROUP BY 1 ORDER BY 2 DESC LIMIT 8"
    ).fetchall()
    print("    " + ", ".join(f"{error} {count:,}" for error, count in rows))
    raw = " UNION ALL ".join(
        f"SELECT *, '{side}' AS side FROM read_parquet('{path}')"
        for side, path in (("left", data.raw_left), ("right", data.raw_right))
    )
    same, different = connection.sql(
        f"WITH c AS ({raw}), p AS (SELECT t.person_id, c.* FROM c "
        f"JOIN read_parquet('{data.raw_truth}') t USING (record_id)) "
        "SELECT count(*) FILTER (l.person_id = r.person_id), "
        "count(*) FILTER (l.person_id <> r.person_id) FROM p l JOIN p r "
        "ON l.side = 'left' AND r.side = 'right' AND l.forename = r.forename "
        "AND l.surname = r.surname "
        "WHERE (strftime(l.dob, '%m-%d') = '01-01' OR strftime(r.dob, '%m-%d') = '01-01') "
        "AND abs(year(l.dob) - year(r.dob)) <= 1 AND l.dob <> r.dob "
        "AND l.postcode <> r.postcode"
    ).fetchall()[0]
    print(
        "  same names, one 1 January date, years <= 1 apart, dates and postcodes differ: "
        f"{same:,} pairs of one child, {different:,} of different children"
    )


def _tokens(data: BenchData, job: LinkJob, work: Path) -> tuple[LinkageMetrics, float, str]:
    started = time.perf_counter()
    result = link_datasets(
        [folder_source(data.left), folder_source(data.right)],
        out_dir=work / "tokens",
        job=job,
        show_progress=False,
    )
    seconds = time.perf_counter() - started
    pairs = (
        "SELECT dataset_l, record_pid_l, dataset_r, record_pid_r, match_probability "
        f"FROM read_parquet('{result.out_dir / 'pairs.parquet'}')"
    )
    folders = {"left": data.left, "right": data.right}
    metrics = _evaluate(
        pairs,
        {side: str(folder / "identity.parquet") for side, folder in folders.items()},
        {
            side: "SELECT record_pid, nationality "
            f"FROM read_parquet('{folder / 'attributes.parquet'}')"
            for side, folder in folders.items()
        },
        data.truth,
        job.threshold,
    )
    return metrics, seconds, pairs


def _cleartext(data: BenchData, job: LinkJob, work: Path) -> tuple[LinkageMetrics, float]:
    started = time.perf_counter()
    connection, linker = link_cleartext_extracts(data.raw_left, data.raw_right, job=job)
    predictions = linker.inference.predict(
        threshold_match_probability=job.threshold, warning_mode="never"
    )
    pairs_path = work / "cleartext_pairs.parquet"
    connection.execute(
        "COPY (SELECT source_dataset_l AS dataset_l, record_id_l AS record_pid_l, "
        "source_dataset_r AS dataset_r, record_id_r AS record_pid_r, match_probability "
        f"FROM {predictions.physical_name} WHERE NOT {cleartext_hold_back_sql(linker, job)}) "
        f"TO '{pairs_path}' (FORMAT parquet)"
    )
    seconds = time.perf_counter() - started
    truth = work / "cleartext_truth.parquet"
    duckdb.execute(
        "COPY (SELECT dataset, record_id AS record_pid, person_id FROM read_parquet(?)) "
        f"TO '{truth}' (FORMAT parquet)",
        [str(data.raw_truth)],
    )
    raw = {"left": data.raw_left, "right": data.raw_right}
    _write_ids(raw, work)
    metrics = _evaluate(
        f"SELECT * FROM read_parquet('{pairs_path}')",
        {side: str(work / f"{side}_ids.parquet") for side in raw},
        {
            side: f"SELECT record_id AS record_pid, nationality FROM read_parquet('{path}')"
            for side, path in raw.items()
        },
        truth,
        job.threshold,
    )
    return metrics, seconds


def _write_ids(raw: dict[str, Path], work: Path) -> None:
    for side, path in raw.items():
        ids = pq.read_table(path, columns=["record_id"]).rename_columns(["record_pid"])
        pq.write_table(ids, work / f"{side}_ids.parquet")


def _groups(metrics: LinkageMetrics, subgroup: str) -> dict[str, QualityCounts]:
    return {
        item.value: item.counts
        for item in metrics.by_group
        if item.subgroup == subgroup and item.value != "not recorded"
    }


def _print(label: str, metrics: LinkageMetrics, seconds: float) -> None:
    overall = metrics.overall
    groups = _groups(metrics, "nationality_group")
    recalls = [counts.recall for counts in groups.values()]
    gap = max(recalls) - min(recalls)
    print(
        f"  {label:<9} precision {overall.precision:.4f}  recall {overall.recall:.4f}  "
        f"F1 {overall.f1:.4f}  nationality-group recall gap {100 * gap:.1f} points  "
        f"({seconds:.1f} s)"
    )
    print(
        "            recall (precision) "
        + "  ".join(
            f"{name} {counts.recall:.3f} ({counts.precision:.3f})"
            for name, counts in sorted(groups.items())
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--data", type=Path, default=Path("out/bench/linkage"))
    parser.add_argument("--missed", action="store_true", help="analyse the missed pairs")
    arguments = parser.parse_args()
    job = LinkJob(link_type="link_only")
    if arguments.threshold is not None:
        try:
            job = job.with_changes(threshold=arguments.threshold)
        except JobParameterError as error:
            parser.error(f"--threshold: {error.problem}")
    print(
        f"linkage quality, {arguments.records:,} x {arguments.records:,} records, "
        f"threshold {job.threshold}"
    )
    for seed in arguments.seeds:
        data = bench_data(arguments.data, records=arguments.records, seed=seed)
        with tempfile.TemporaryDirectory(dir=arguments.data) as work:
            tokens, token_seconds, pairs = _tokens(data, job, Path(work))
            clear, clear_seconds = _cleartext(data, job, Path(work))
            print(f"seed {seed}: {tokens.true_pairs:,} true pairs")
            _print("tokens", tokens, token_seconds)
            _print("cleartext", clear, clear_seconds)
            print(f"  tokens - cleartext F1: {tokens.overall.f1 - clear.overall.f1:+.4f}")
            if arguments.missed:
                _missed(data, pairs, job.threshold)


if __name__ == "__main__":
    main()
