"""Evaluation, apart from every role: linkage quality against the synthetic truth.

Only the demonstration can do this, because it plays every party: it maps the
generator's truth (record id -> true person) through each owner's lookup (record id ->
record pid) to the pids the TRE linked, then scores the TRE's released-to-itself pairs
with ``linkage.evaluate``. Nothing computed here flows back into the TRE's steps.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from linkage import LinkageMetrics, LinkJob, QualityCounts
from linkage.evaluate import evaluate_against_truth
from linkage.threshold import ExpectedQuality
from trelink.atomic import atomic_file
from trelink.demo.layout import DemoLayout

__all__ = ["SUBGROUPS", "LinkageQuality", "evaluate_linkage"]

# Groups of the true person, from the generator's people table.
SUBGROUPS: tuple[str, ...] = ("nationality_group", "sex", "kind")


@dataclass(frozen=True)
class LinkageQuality:
    """Pairwise quality at the job's threshold, per subgroup, and where it was written."""

    metrics: LinkageMetrics
    truth_records: int
    path: Path
    # Per source: ICTG records put in the same spine person as that source's records,
    # against the truth. This is what the linked outcome analyses rest on.
    ictg_links: dict[str, QualityCounts]
    # People with more than one NRM record: as the spine finds them, and in the truth.
    repeat_nrm_found: int
    repeat_nrm_true: int
    # Pairs the job's hold-back rules kept out of the links, and how many of them were
    # in truth the same person (the links the rules cost).
    held_back: int = 0
    held_back_same_person: int = 0
    # What the model expected of itself, from its probabilities, with no truth (the
    # run's ``LinkResult.expected``): shown beside the measured figures.
    expected: ExpectedQuality | None = None

    def lines(self) -> list[str]:
        """A few lines for the terminal."""
        overall = self.metrics.overall
        lines = [
            f"pairwise at match probability >= {self.metrics.threshold}: "
            f"precision {overall.precision:.3f}, recall {overall.recall:.3f}, "
            f"F1 {overall.f1:.3f} ({self.metrics.true_pairs:,} true pairs among "
            f"{self.truth_records:,} records)"
        ]
        if self.expected is not None:
            lines.append(
                "the model expected, without the truth: precision "
                f"{self.expected.expected_precision:.3f}, recall "
                f"{self.expected.expected_recall:.3f}, F1 {self.expected.expected_f1:.3f}"
            )
        by_group = [g for g in self.metrics.by_group if g.subgroup == "nationality_group"]
        if by_group:
            lines.append(
                "recall by nationality group: "
                + ", ".join(f"{g.value} {g.counts.recall:.3f}" for g in by_group)
            )
        if self.ictg_links:
            lines.append(
                "ICTG records joined to each source through the spine: "
                + ", ".join(
                    f"{dataset} precision {counts.precision:.3f} recall {counts.recall:.3f}"
                    for dataset, counts in self.ictg_links.items()
                )
            )
        lines.append(
            f"people with repeat NRM referrals: {self.repeat_nrm_found:,} in the spine, "
            f"{self.repeat_nrm_true:,} in the truth"
        )
        if self.held_back:
            lines.append(
                f"pairs held back as look-alikes (possible twins): {self.held_back:,}, "
                f"{self.held_back - self.held_back_same_person:,} of them different people"
            )
        return lines


def _truth_pids(
    connection: duckdb.DuckDBPyConnection, layout: DemoLayout, lookups: Mapping[str, Path]
) -> None:
    """Table ``truth_pids`` (dataset, record_pid, person_id) and one groups table per dataset."""
    records = layout.truth / "records.parquet"
    parts = [
        f"SELECT '{dataset}' AS dataset, l.record_pid, t.person_id "
        f"FROM read_parquet('{lookup}') l JOIN read_parquet('{records}') t "
        f"ON t.dataset = '{dataset}' AND CAST(t.record_id AS VARCHAR) = l.record_id"
        for dataset, lookup in lookups.items()
    ]
    connection.execute(
        "CREATE TABLE truth_pids AS SELECT DISTINCT * FROM (" + " UNION ALL ".join(parts) + ")"
    )
    columns = ", ".join(f"p.{group}" for group in SUBGROUPS)
    for dataset in lookups:
        connection.execute(
            f"CREATE TABLE groups_{dataset} AS SELECT t.record_pid, {columns} FROM truth_pids t "
            f"JOIN read_parquet('{layout.truth / 'people.parquet'}') p USING (person_id) "
            f"WHERE t.dataset = '{dataset}'"
        )


# Record pairs (an ICTG record, another source's record) that are the same person in
# the truth or in the spine, each judged both ways.
_ICTG_LINKS_SQL = """
WITH judged AS (
    SELECT t.dataset, t.record_pid, t.person_id AS true_person, c.person_id AS spine_person
    FROM truth_pids t JOIN clusters c USING (dataset, record_pid)
),
ictg AS (SELECT * FROM judged WHERE dataset = 'ictg'),
other AS (SELECT * FROM judged WHERE dataset <> 'ictg'),
candidates AS (
    SELECT i.record_pid AS ictg_pid, o.dataset, o.record_pid
    FROM ictg i JOIN other o ON i.true_person = o.true_person
    UNION
    SELECT i.record_pid, o.dataset, o.record_pid
    FROM ictg i JOIN other o ON i.spine_person = o.spine_person
)
SELECT c.dataset,
    count(*) FILTER (WHERE i.true_person = o.true_person AND i.spine_person = o.spine_person),
    count(*) FILTER (WHERE i.true_person <> o.true_person AND i.spine_person = o.spine_person),
    count(*) FILTER (WHERE i.true_person = o.true_person AND i.spine_person <> o.spine_person)
FROM candidates c
JOIN ictg i ON i.record_pid = c.ictg_pid
JOIN other o ON o.dataset = c.dataset AND o.record_pid = c.record_pid
GROUP BY c.dataset ORDER BY c.dataset
"""


_HELD_BACK_SQL = """
SELECT count(*), count(*) FILTER (WHERE a.person_id = b.person_id)
FROM held_back h
JOIN truth_pids a ON a.dataset = h.dataset_l AND a.record_pid = h.record_pid_l
JOIN truth_pids b ON b.dataset = h.dataset_r AND b.record_pid = h.record_pid_r
"""


_REPEATS_SQL = """
SELECT
    (SELECT count(*) FROM (SELECT person_id FROM clusters WHERE dataset = 'nrm'
        GROUP BY person_id HAVING count(*) > 1)),
    (SELECT count(*) FROM (SELECT person_id FROM truth_pids WHERE dataset = 'nrm'
        GROUP BY person_id HAVING count(*) > 1))
"""


def _ictg_links(connection: duckdb.DuckDBPyConnection) -> dict[str, QualityCounts]:
    return {
        str(dataset): QualityCounts(
            true_positives=int(found), false_positives=int(wrong), false_negatives=int(missed)
        )
        for dataset, found, wrong, missed in connection.sql(_ICTG_LINKS_SQL).fetchall()
    }


def _to_json(
    quality: LinkageMetrics, truth_records: int, ictg_links: Mapping[str, QualityCounts]
) -> dict[str, object]:
    def counts(found: QualityCounts) -> dict[str, float | int]:
        return {
            "true_positives": found.true_positives,
            "false_positives": found.false_positives,
            "false_negatives": found.false_negatives,
            "precision": round(found.precision, 4),
            "recall": round(found.recall, 4),
            "f1": round(found.f1, 4),
        }

    return {
        "threshold": quality.threshold,
        "truth_records": truth_records,
        "true_pairs": quality.true_pairs,
        "overall": counts(quality.overall),
        "by_group": [
            {
                "subgroup": g.subgroup,
                "value": g.value,
                "true_pairs": g.true_pairs,
                **counts(g.counts),
            }
            for g in quality.by_group
        ],
        "ictg_links": {dataset: counts(found) for dataset, found in ictg_links.items()},
        "by_threshold": [
            {"threshold": level, **counts(found)} for level, found in quality.by_threshold
        ],
    }


def evaluate_linkage(
    layout: DemoLayout, job: LinkJob, lookups: Mapping[str, Path]
) -> LinkageQuality:
    """Score the TRE's pairs and spine against the truth; write ``linkage_quality.json``.

    ``lookups`` maps each linked dataset to its owner's ``lookup.parquet``. Pairs below
    the job's threshold are not kept by the linkage run, so the sensitivity table only
    covers thresholds at or above it.
    """
    layout.evaluation.mkdir(parents=True, exist_ok=True)
    truth_path = layout.evaluation / "truth_pids.parquet"
    with duckdb.connect(":memory:") as connection:
        _truth_pids(connection, layout, lookups)
        connection.execute(f"COPY truth_pids TO '{truth_path}' (FORMAT parquet)")
        truth_records = int(connection.sql("SELECT count(*) FROM truth_pids").fetchall()[0][0])
        connection.execute(
            "CREATE TABLE scored_pairs AS SELECT * FROM read_parquet(?)",
            [str(layout.linkage / "pairs.parquet")],
        )
        connection.execute(
            "CREATE TABLE clusters AS SELECT * FROM read_parquet(?)",
            [str(layout.linkage / "clusters.parquet")],
        )
        metrics = evaluate_against_truth(
            connection,
            truth_path=truth_path,
            link_type=job.link_type,
            threshold=job.threshold,
            attributes={dataset: f"groups_{dataset}" for dataset in lookups},
            subgroups=SUBGROUPS,
        )
        ictg_links = _ictg_links(connection)
        repeats_found, repeats_true = connection.sql(_REPEATS_SQL).fetchall()[0]
        held_back, held_back_same = 0, 0
        if (layout.linkage / "held_back.parquet").exists():
            connection.execute(
                "CREATE TABLE held_back AS SELECT * FROM read_parquet(?)",
                [str(layout.linkage / "held_back.parquet")],
            )
            held_back, held_back_same = connection.sql(_HELD_BACK_SQL).fetchall()[0]
    path = layout.evaluation / "linkage_quality.json"
    with atomic_file(path) as temporary:
        temporary.write_text(
            json.dumps(
                {
                    **_to_json(metrics, truth_records, ictg_links),
                    "repeat_nrm": {"spine": repeats_found, "truth": repeats_true},
                    "held_back": {"pairs": held_back, "same_person": held_back_same},
                },
                indent=1,
            )
            + "\n"
        )
    return LinkageQuality(
        metrics=metrics,
        truth_records=truth_records,
        path=path,
        ictg_links=ictg_links,
        repeat_nrm_found=int(repeats_found),
        repeat_nrm_true=int(repeats_true),
        held_back=int(held_back),
        held_back_same_person=int(held_back_same),
    )
