"""A simulated clerical reviewer for the demo: fill a decision sheet from the truth.

    .venv/bin/python bench/review_from_truth.py out/demo reviewer/pack1/decisions.csv

Writes ``match`` or ``non-match`` in every row of a ``trelink review-sheet`` decision
sheet from the demo's synthetic truth (``synthetic/truth/records.parquet``), and prints
how the model had decided the same pairs. A perfect reviewer: a real one errs and says
"unsure". Synthetic data only; a sheet of real records has no truth.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import duckdb

from trelink.spreadsheet import unescape_cell


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("demo", type=Path, help="Folder of a `trelink demo` run.")
    parser.add_argument("sheet", type=Path, help="decisions.csv from `trelink review-sheet`.")
    parser.add_argument("--threshold", type=float, default=0.8)
    options = parser.parse_args()
    records = options.demo / "synthetic" / "truth" / "records.parquet"
    truth = {
        (dataset, record_id): person
        for dataset, record_id, person in duckdb.execute(
            "SELECT dataset, record_id, person_id FROM read_parquet(?)", [str(records)]
        ).fetchall()
    }
    with options.sheet.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    counts: dict[str, int] = {}
    for row in rows:
        left = truth[row["left_dataset"], unescape_cell(row["left_record_id"])]
        right = truth[row["right_dataset"], unescape_cell(row["right_record_id"])]
        row["decision"] = "match" if left == right else "non-match"
        held = row["reason"].startswith("held back")
        linked = not held and float(row["match_probability"]) >= options.threshold
        model = "held back" if held else "linked" if linked else "not linked"
        key = f"{model}, {'one person' if left == right else 'different people'}"
        counts[key] = counts.get(key, 0) + 1
    with options.sheet.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for key, count in sorted(counts.items()):
        print(f"{key}: {count:,}")


if __name__ == "__main__":
    main()
