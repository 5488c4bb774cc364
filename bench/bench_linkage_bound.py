"""Benchmark: the best recall per nationality group that the recorded fields allow.

    .venv/bin/python bench/bench_linkage_bound.py [--records 100000] [--seeds 1]
        [--train-seeds 2 3 ...] [--patterns coarse|fine] [--data out/bench/linkage]

An upper bound, not a linker. On the cleartext of the benchmark extracts (the same
records ``bench_linkage_quality.py`` links), every pair that shares a name set, a
surname or forename with birth years at most one apart, an NHS number, or a date of
birth and postcode district is described by a pattern of what its recorded fields
say: how the names agree and how common the name set is, how the dates of birth agree
(including "one is 1 January and the birth years are at most one apart", the mark of
an assessed age), how the postcodes, sexes and NHS numbers agree. Every true pair is
added whether or not any of those holds. Patterns are then accepted best first, for
each nationality group separately, ranked by their share of true pairs:

* by default on the very pairs being scored (an *oracle*: no classifier of these
  patterns can beat it on these pairs, and the pairs left out, all non-matches, only
  flatter it);
* with ``--train-seeds``, on the pairs of other seeds (a supervised model trained on
  their labels; patterns never seen there come last).

Printed: for each nationality group, the recall when that group's accepted pairs are
at least 99%, 95% and 90% precise, and the gap between groups; then the best pairwise
F1 with the recall of every group within 3 points of every other (each group cut at
its own point, the most favourable case for closing the gap).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
import pyarrow as pa

from linkage.subgroups import nationality_group_sql
from trelink.specs.classifications import OTHER_GROUP
from trelink.synth import write_benchmark_extracts

PRECISIONS = (0.99, 0.95, 0.90)
GAP = 0.03

# One row per record: normalised names (accents folded, lower case) and the group.
_RECORDS = """
SELECT r.record_id, t.person_id, nullif(strip_accents(lower(r.forename)), '') AS fn,
    nullif(strip_accents(lower(r.surname)), '') AS sn, r.dob, r.sex, r.postcode,
    r.nhs_number, coalesce({group}, '{other}') AS grp
FROM read_parquet('{path}') r
JOIN read_parquet('{truth}') t USING (record_id)
"""

# Candidate pairs: any shared name evidence near in age, shared identifiers, and truth.
_CANDIDATES = """
SELECT l.record_id AS id_l, r.record_id AS id_r FROM l JOIN r
    ON list_sort([l.fn, l.sn]) = list_sort([r.fn, r.sn])
UNION SELECT l.record_id, r.record_id FROM l JOIN r
    ON l.sn = r.sn AND abs(year(l.dob) - year(r.dob)) <= 1
UNION SELECT l.record_id, r.record_id FROM l JOIN r
    ON l.fn = r.fn AND abs(year(l.dob) - year(r.dob)) <= 1
UNION SELECT l.record_id, r.record_id FROM l JOIN r ON l.nhs_number = r.nhs_number
UNION SELECT l.record_id, r.record_id FROM l JOIN r
    ON l.dob = r.dob AND split_part(l.postcode, ' ', 1) = split_part(r.postcode, ' ', 1)
UNION SELECT l.record_id, r.record_id FROM l JOIN r USING (person_id)
"""

# What the recorded fields say about a pair. Name frequency: records carrying the
# pair's name set (either order) on both sides, in powers of two.
_FEATURES = """
SELECT l.person_id = r.person_id AS is_match, l.grp,
    CASE
        WHEN l.fn IS NULL OR l.sn IS NULL OR r.fn IS NULL OR r.sn IS NULL THEN 'missing'
        WHEN l.fn = r.fn AND l.sn = r.sn THEN 'exact'
        WHEN l.fn = r.sn AND l.sn = r.fn THEN 'swapped'
        WHEN greatest(
            least(jaro_winkler_similarity(l.fn, r.fn), jaro_winkler_similarity(l.sn, r.sn)),
            least(jaro_winkler_similarity(l.fn, r.sn), jaro_winkler_similarity(l.sn, r.fn))
        ) >= 0.85 THEN 'both similar'
        WHEN l.sn = r.sn THEN 'surname'
        WHEN l.fn = r.fn THEN 'forename'
        ELSE 'other'
    END AS name,
    least(floor(log2(coalesce(f.records, 1))), 8) AS name_frequency,
    CASE WHEN coalesce(f.records, 1) <= 16 THEN coalesce(f.records, 1)
        ELSE 16 + floor(log2(f.records)) END AS name_records,
    floor(log2(coalesce(ff.records, 1))) AS forename_frequency,
    floor(log2(coalesce(sf.records, 1))) AS surname_frequency,
    CASE
        WHEN l.dob IS NULL OR r.dob IS NULL THEN 'missing'
        WHEN l.dob = r.dob THEN 'exact'
        WHEN year(l.dob) = year(r.dob) AND month(l.dob) = day(r.dob)
            AND day(l.dob) = month(r.dob) THEN 'day and month swapped'
        WHEN strftime(l.dob, '%m-%d') = '01-01' OR strftime(r.dob, '%m-%d') = '01-01' THEN
            CASE WHEN abs(year(l.dob) - year(r.dob)) <= 1 THEN '1 January, years <= 1 apart'
                 ELSE '1 January' END
        WHEN year(l.dob) = year(r.dob) AND month(l.dob) = month(r.dob) THEN 'year and month'
        WHEN month(l.dob) = month(r.dob) AND day(l.dob) = day(r.dob) THEN 'month and day'
        WHEN year(l.dob) = year(r.dob) AND day(l.dob) = day(r.dob) THEN 'year and day'
        WHEN abs(year(l.dob) - year(r.dob)) <= 1 THEN 'years <= 1 apart'
        ELSE 'other'
    END AS dob,
    CASE
        WHEN l.postcode IS NULL OR r.postcode IS NULL THEN 'missing'
        WHEN l.postcode = r.postcode THEN 'full'
        WHEN left(l.postcode, length(l.postcode) - 2) = left(r.postcode, length(r.postcode) - 2)
            THEN 'sector'
        WHEN split_part(l.postcode, ' ', 1) = split_part(r.postcode, ' ', 1) THEN 'district'
        ELSE 'other'
    END AS postcode,
    CASE WHEN l.sex IS NULL OR r.sex IS NULL THEN 'missing'
        WHEN l.sex = r.sex THEN 'agree' ELSE 'differ' END AS sex,
    CASE WHEN l.nhs_number IS NULL OR r.nhs_number IS NULL THEN 'missing'
        WHEN l.nhs_number = r.nhs_number THEN 'agree' ELSE 'differ' END AS nhs
FROM candidates c
JOIN l ON l.record_id = c.id_l
JOIN r ON r.record_id = c.id_r
LEFT JOIN name_frequency f ON f.name_set = list_sort([l.fn, l.sn])
LEFT JOIN part_frequency ff ON ff.part = l.fn
LEFT JOIN part_frequency sf ON sf.part = l.sn
"""

# Coarse: name frequency in powers of two. Fine: name-set counts up to 16 exactly, and
# the forename's and surname's own frequencies (an oracle on these flatters itself
# more, since many patterns hold a handful of pairs).
PATTERNS = {
    "coarse": "name, name_frequency, dob, postcode, sex, nhs",
    "fine": "name, name_records, forename_frequency, surname_frequency, dob, postcode, sex, nhs",
}


def _connection(raw_left: Path, raw_right: Path, raw_truth: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    group = nationality_group_sql("r.nationality")
    for name, path in (("l", raw_left), ("r", raw_right)):
        connection.execute(
            f"CREATE TABLE {name} AS "
            + _RECORDS.format(path=path, truth=raw_truth, group=group, other=OTHER_GROUP)
        )
    connection.execute(
        "CREATE TABLE name_frequency AS SELECT list_sort([fn, sn]) AS name_set, "
        "count(*) AS records FROM (SELECT fn, sn FROM l UNION ALL SELECT fn, sn FROM r) "
        "WHERE fn IS NOT NULL AND sn IS NOT NULL GROUP BY 1"
    )
    connection.execute(
        "CREATE TABLE part_frequency AS SELECT part, count(*) AS records FROM ("
        "SELECT fn AS part FROM l UNION ALL SELECT sn FROM l "
        "UNION ALL SELECT fn FROM r UNION ALL SELECT sn FROM r) GROUP BY 1"
    )
    connection.execute(f"CREATE TABLE candidates AS {_CANDIDATES}")
    connection.execute(f"CREATE TABLE features AS {_FEATURES}")
    return connection


def _training_counts(root: Path, records: int, seeds: list[int], pattern: str) -> pa.Table | None:
    """True and false pairs per group and pattern, pooled over the training seeds."""
    if not seeds:
        return None
    tables = []
    for seed in seeds:
        connection = _connection(*_raw(root, records, seed))
        tables.append(
            connection.sql(
                f"SELECT grp, {pattern}, count(*) FILTER (is_match) AS t, "
                "count(*) FILTER (NOT is_match) AS f FROM features GROUP BY ALL"
            ).to_arrow_table()
        )
        connection.close()
    return pa.concat_tables(tables)


def _curves(
    connection: duckdb.DuckDBPyConnection, training: pa.Table | None, pattern: str
) -> dict[str, list[tuple[int, int]]]:
    """Per group: cumulative (true, false) pairs as patterns are accepted, best first.

    Patterns are ranked by their share of true pairs: in the pairs scored (the oracle),
    or in the training seeds' pairs (smoothed; a pattern never seen there comes last).
    """
    if training is None:
        score = "t / (t + f)"
        source = "features"
    else:
        connection.register("training_pairs", training)
        connection.execute(
            f"CREATE OR REPLACE TABLE trained AS SELECT grp, {pattern}, "
            "sum(t) AS t, sum(f) AS f FROM training_pairs GROUP BY ALL"
        )
        score = "any_value(coalesce((tr.t + 0.5) / (tr.t + tr.f + 1), 0))"
        source = f"features LEFT JOIN trained tr USING (grp, {pattern})"
    rows = connection.sql(
        "SELECT grp, count(*) FILTER (is_match) AS t, count(*) FILTER (NOT is_match) AS f, "
        f"{score} AS score FROM {source} GROUP BY grp, {pattern} "
        "ORDER BY grp, score DESC, t DESC"
    ).fetchall()
    curves: dict[str, list[tuple[int, int]]] = {}
    for group, true, false, _ in rows:
        points = curves.setdefault(group, [(0, 0)])
        last_true, last_false = points[-1]
        points.append((last_true + true, last_false + false))
    return curves


def _best_recall(points: list[tuple[int, int]], total: int, precision: float) -> float:
    best = 0
    for true, false in points[1:]:
        if true / (true + false) >= precision:
            best = max(best, true)
    return best / total


def _cut(points: list[tuple[int, int]], total: int, low: float, high: float) -> tuple[int, int]:
    """The pattern prefix with recall in [low, high] and the most true minus false pairs."""
    chosen: tuple[int, int] | None = None
    for true, false in points:
        inside = low <= true / total <= high
        if inside and (chosen is None or true - false > chosen[0] - chosen[1]):
            chosen = (true, false)
    if chosen is None:
        raise ValueError("no cut in range")
    return chosen


def _within_gap(curves: dict[str, list[tuple[int, int]]], totals: dict[str, int]) -> str:
    """The best F1 with every group's recall within GAP of the others."""
    best: tuple[float, float, float, float] | None = None
    for step in range(0, 401):
        low = 0.80 + step * 0.0005
        try:
            cuts = {group: _cut(curves[group], totals[group], low, low + GAP) for group in curves}
        except ValueError:
            continue
        true = sum(cut[0] for cut in cuts.values())
        false = sum(cut[1] for cut in cuts.values())
        precision = true / (true + false)
        recall = true / sum(totals.values())
        f1 = 2 * precision * recall / (precision + recall)
        if best is None or f1 > best[0]:
            best = (f1, precision, recall, low)
    if best is None:
        return "no set of cuts puts every group within the gap"
    f1, precision, recall, low = best
    return (
        f"F1 {f1:.4f} (precision {precision:.4f}, recall {recall:.4f}), "
        f"every group's recall in [{low:.3f}, {low + GAP:.3f}]"
    )


def _raw(root: Path, records: int, seed: int) -> tuple[Path, Path, Path]:
    """The cleartext extracts and truth of one seed (generated once, then cached)."""
    raw = root / f"{records}-seed{seed}" / "raw"
    if not (raw / "truth.parquet").exists():
        print(f"generating {records:,} records per side (seed {seed}) ...", flush=True)
        write_benchmark_extracts(raw, n_records=records, overlap=0.5, seed=seed)
    return raw / "left.parquet", raw / "right.parquet", raw / "truth.parquet"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument(
        "--train-seeds",
        type=int,
        nargs="*",
        default=[],
        help="rank patterns on these seeds' pairs instead of the scored ones",
    )
    parser.add_argument("--patterns", choices=sorted(PATTERNS), default="coarse")
    parser.add_argument("--data", type=Path, default=Path("out/bench/linkage"))
    arguments = parser.parse_args()
    pattern = PATTERNS[arguments.patterns]
    training = _training_counts(arguments.data, arguments.records, arguments.train_seeds, pattern)
    ranking = (
        f"patterns ranked on seeds {' '.join(map(str, arguments.train_seeds))}"
        if arguments.train_seeds
        else "oracle: patterns ranked on the pairs scored"
    )
    print(
        f"best recall from recorded fields, {arguments.records:,} x {arguments.records:,}, "
        f"{ranking}, {arguments.patterns} patterns"
    )
    for seed in arguments.seeds:
        connection = _connection(*_raw(arguments.data, arguments.records, seed))
        pairs, true_pairs = connection.sql(
            "SELECT count(*), count(*) FILTER (is_match) FROM features"
        ).fetchall()[0]
        print(f"seed {seed}: {pairs:,} pairs described, {true_pairs:,} true")
        totals = dict(
            connection.sql(
                "SELECT grp, count(*) FROM features WHERE is_match GROUP BY grp"
            ).fetchall()
        )
        curves = _curves(connection, training, pattern)
        best = {
            precision: {
                group: _best_recall(curves[group], totals[group], precision) for group in curves
            }
            for precision in PRECISIONS
        }
        header = "  ".join(f"P>={precision:.2f}" for precision in PRECISIONS)
        print(f"  {'group':<30} {'true pairs':>10}  recall at {header}")
        for group in sorted(curves):
            recalls = "  ".join(f"{best[precision][group]:>7.3f}" for precision in PRECISIONS)
            print(f"  {group:<30} {totals[group]:>10,}            {recalls}")
        gaps = "  ".join(
            f"{100 * (max(values.values()) - min(values.values())):>7.1f}"
            for values in best.values()
        )
        print(f"  {'gap between groups, points':<30} {'':>10}            {gaps}")
        print(f"  every group within {100 * GAP:.0f} points: {_within_gap(curves, totals)}")
        connection.close()


if __name__ == "__main__":
    main()
