"""A small protected table's decision record, checked in and verified by hand.

Counts (region x outcome): E 11 13 30 | N 12 20 15 | S 14 2 0. With threshold 10 and
zeros disclosive, S|B = 2 (threshold) and S|C = 0 (zeros) are primary. Every column
then needs a second hidden cell, and no row may hold a single hidden cell, so the
cheapest pattern hides all of row S and a whole second row: N (12 + 20 + 15, plus
one per cell) is cheaper than E (11 + 13 + 30); the information loss is 15 + 3 + 1 +
13 + 21 + 16 = 69. In that pattern S|B can be anything in [0, 16] and S|C in [0, 15].
If a deliberate change alters decisions, regenerate the file and re-check by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sdc import frequency_table, load_policy

GOLDEN = Path(__file__).with_name("golden") / "outcome_by_region.sdc.json"


def golden_data() -> pd.DataFrame:
    counts = {
        ("E", "A"): 11,
        ("E", "B"): 13,
        ("E", "C"): 30,
        ("N", "A"): 12,
        ("N", "B"): 20,
        ("N", "C"): 15,
        ("S", "A"): 14,
        ("S", "B"): 2,
    }
    rows = [key for key, count in counts.items() for _ in range(count)]
    return pd.DataFrame(rows, columns=["region", "outcome"])


def stable(record: dict[str, object]) -> dict[str, object]:
    record = dict(record)
    suppression = dict(record["suppression"])  # type: ignore[call-overload]
    suppression.pop("seconds")
    record["suppression"] = suppression
    return record


def test_decision_record_matches_the_golden_file() -> None:
    table = frequency_table(golden_data(), ["region"], ["outcome"], policy=load_policy())
    record = stable(table.decision_record())
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert record == expected
    cells = {(cell["row"], cell["column"]): cell for cell in expected["cells"]}
    assert cells[("S", "outcome: B")]["interval"] == [0, 16]
    assert expected["suppression"]["information_loss"] == 69
