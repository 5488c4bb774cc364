"""Evaluation of a spine against hand-built truth."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linkage import LinkJob
from linkage.threshold import ExpectedQuality
from trelink.demo.evaluation import evaluate_linkage
from trelink.demo.layout import DemoLayout

# Truth: person A has ictg i1, education e1, health h1; person B has ictg i2 and
# education e2. The spine joins i1-e1 and i2-e2 correctly, misses h1, and wrongly puts
# e3 (person C) with person B. Person A was referred to the NRM twice (n1, n2); the
# spine finds n1 and B's n3 but misses the repeat n2.
RECORDS = {
    "ictg": [("U1", "i1", "A"), ("U2", "i2", "B")],
    "education": [("P1", "e1", "A"), ("P2", "e2", "B"), ("P3", "e3", "C")],
    "health": [("H1", "h1", "A")],
    "nrm": [("N1", "n1", "A"), ("N2", "n2", "A"), ("N3", "n3", "B")],
}
SPINE = [
    ("ictg", "i1", "s1"),
    ("education", "e1", "s1"),
    ("health", "h1", "s9"),
    ("ictg", "i2", "s2"),
    ("education", "e2", "s2"),
    ("education", "e3", "s2"),
    ("nrm", "n1", "s1"),
    ("nrm", "n2", "s5"),  # A's repeat referral is missed
    ("nrm", "n3", "s2"),
]


def _write(path: Path, columns: dict[str, list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)


@pytest.fixture
def layout(tmp_path: Path) -> DemoLayout:
    layout = DemoLayout(tmp_path)
    rows = [(dataset, *row) for dataset, items in RECORDS.items() for row in items]
    _write(
        layout.truth / "records.parquet",
        {
            "dataset": [r[0] for r in rows],
            "record_id": [r[1] for r in rows],
            "person_id": [r[3] for r in rows],
        },
    )
    _write(
        layout.truth / "people.parquet",
        {
            "person_id": ["A", "B", "C"],
            "nationality_group": ["British", "European", "British"],
            "sex": ["F", "M", "F"],
            "kind": ["child", "child", "outside"],
        },
    )
    for dataset, items in RECORDS.items():
        _write(
            tmp_path / "lookups" / f"{dataset}.parquet",
            {"record_id": [i[0] for i in items], "record_pid": [i[1] for i in items]},
        )
    _write(
        layout.linkage / "clusters.parquet",
        {
            "dataset": [s[0] for s in SPINE],
            "record_pid": [s[1] for s in SPINE],
            "person_id": [s[2] for s in SPINE],
        },
    )
    pairs = [
        ("education", "e1", "ictg", "i1", 0.99),
        ("education", "e2", "ictg", "i2", 0.97),
        ("education", "e3", "ictg", "i2", 0.95),
        ("education", "e2", "education", "e3", 0.93),
    ]
    _write(
        layout.linkage / "pairs.parquet",
        {
            "dataset_l": [p[0] for p in pairs],
            "record_pid_l": [p[1] for p in pairs],
            "dataset_r": [p[2] for p in pairs],
            "record_pid_r": [p[3] for p in pairs],
            "match_weight": [10.0] * len(pairs),
            "match_probability": [p[4] for p in pairs],
        },
    )
    return layout


def test_spine_is_scored_against_the_truth(layout: DemoLayout) -> None:
    lookups = {dataset: layout.root / "lookups" / f"{dataset}.parquet" for dataset in RECORDS}
    quality = evaluate_linkage(layout, LinkJob(version=1, threshold=0.9), lookups)
    overall = quality.metrics.overall
    # 10 true pairs within A, 3 within B. Found: i1-e1 and i2-e2; wrong: two with e3.
    assert (overall.true_positives, overall.false_positives, overall.false_negatives) == (2, 2, 11)
    education, health = quality.ictg_links["education"], quality.ictg_links["health"]
    assert (education.true_positives, education.false_positives) == (2, 1)
    assert education.false_negatives == 0
    assert (health.true_positives, health.false_negatives) == (0, 1)
    nrm = quality.ictg_links["nrm"]
    assert (nrm.true_positives, nrm.false_positives, nrm.false_negatives) == (2, 0, 1)
    written = json.loads(quality.path.read_text(encoding="utf-8"))
    assert written["ictg_links"]["education"]["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert quality.truth_records == 9
    assert (quality.repeat_nrm_found, quality.repeat_nrm_true) == (0, 1)
    assert any("education precision 0.667 recall 1.000" in line for line in quality.lines())
    # The model's own expectation (no truth) is printed beside the measured figures.
    expected = ExpectedQuality(
        threshold=0.9,
        links=4,
        expected_true_links=3.6,
        expected_true_pairs=4.0,
        expected_precision=0.9,
        expected_recall=0.9,
        expected_f1=0.9,
    )
    lines = replace(quality, expected=expected).lines()
    assert (
        lines[1] == "the model expected, without the truth: precision 0.900, recall 0.900, F1 0.900"
    )
    assert not any("the model expected" in line for line in quality.lines())


def test_held_back_pairs_are_judged_against_the_truth(layout: DemoLayout) -> None:
    # Two pairs held back as possible twins: e2-e3 (B and C, different people) and
    # n1-n2 (both A: a link the rule cost).
    held = [("education", "e2", "education", "e3"), ("nrm", "n1", "nrm", "n2")]
    _write(
        layout.linkage / "held_back.parquet",
        {
            "dataset_l": [h[0] for h in held],
            "record_pid_l": [h[1] for h in held],
            "dataset_r": [h[2] for h in held],
            "record_pid_r": [h[3] for h in held],
            "match_weight": [9.0, 9.0],
            "match_probability": [0.95, 0.95],
            "rule": ["possible twins", "possible twins"],
        },
    )
    lookups = {dataset: layout.root / "lookups" / f"{dataset}.parquet" for dataset in RECORDS}
    quality = evaluate_linkage(layout, LinkJob(version=1, threshold=0.9), lookups)
    assert (quality.held_back, quality.held_back_same_person) == (2, 1)
    assert "possible twins): 2, 1 of them different people" in quality.lines()[-1]
    written = json.loads(quality.path.read_text(encoding="utf-8"))
    assert written["held_back"] == {"pairs": 2, "same_person": 1}
