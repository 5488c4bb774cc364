"""Benchmark: the leak scanner (``check_members``) on 1,000,000-row members; print seconds.

    .venv/bin/python bench/bench_identifiers.py [--rows 1000000] [--data out/bench/identifiers]

Writes, like ``trelink pseudonymise`` would, an attributes member shaped as the NRM one
(pid, sex, dates, categories, a list of exploitation types, counts, a score), an
identity member of 30 int64 token columns and 4 list-of-token columns, and the lookup;
then a free-text member (a distinct sentence with numbers in every row, the worst case
for the text checks). Each is scanned on its own and all together; the figures are the
wall-clock seconds of one scan (the scanner reads every row of every column).
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def _pids(rows: int) -> pa.Array:
    digest = hashlib.sha256(b"bench").hexdigest()
    return pa.array([f"{index:016x}{digest[:16]}" for index in range(rows)])


def _members(rows: int, folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(1)
    pids = _pids(rows)
    referral = np.datetime64("2016-01-01") + rng.integers(0, 2_000, rows)
    categories = {
        "sex": ["M", "F", "X"],
        "first_responder_type": ["local_authority", "police", "ngo", "home_office"],
        "nationality": ["vietnamese", "albanian", "british", "eritrean", "sudanese", "other"],
        "rg_decision": ["positive", "negative", "pending"],
        "period": ["2016-2019", "2020", "2021"],
    }
    attributes = pa.table(
        {
            "record_pid": pids,
            **{
                name: pa.array(np.asarray(values)[rng.integers(0, len(values), rows)])
                for name, values in categories.items()
            },
            "referral_date": pa.array(referral),
            "rg_date": pa.array(referral + rng.integers(0, 120, rows)),
            "cg_date": pa.array(referral + rng.integers(60, 700, rows)),
            "exploitation_types": pa.array(
                [["criminal"], ["sexual", "labour"], ["labour"]][index % 3] for index in range(rows)
            ),
            "missing_episodes": pa.array(rng.integers(0, 6, rows)),
            "attainment_score": pa.array(rng.random(rows) * 60),
        }
    )
    identity = pa.table(
        {
            "record_pid": pids,
            **{
                f"token_{index}": pa.array(rng.integers(-(2**63), 2**63 - 1, rows))
                for index in range(30)
            },
            **{
                f"token_list_{index}": pa.ListArray.from_arrays(
                    np.arange(0, 2 * rows + 1, 2, dtype=np.int32),
                    pa.array(rng.integers(-(2**63), 2**63 - 1, 2 * rows)),
                )
                for index in range(4)
            },
        }
    )
    words = np.asarray(["review", "placement", "school", "meeting", "visit", "plan", "call"])
    picks = rng.integers(0, 7, (rows, 2))
    counts = rng.integers(0, 40, (rows, 2))
    tags = rng.integers(0, 2**32, rows)
    notes = pa.table(
        {
            "record_pid": pids,
            "notes": pa.array(
                [
                    f"{words[a]} {words[b]}: {n} of {m} sessions, tag {tag:08x}"
                    for (a, b), (n, m), tag in zip(picks, counts, tags, strict=True)
                ]
            ),
        }
    )
    lookup = pa.table(
        {"record_id": pa.array([f"NRM-{index:08d}" for index in range(rows)]), "record_pid": pids}
    )
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in {
        "attributes": attributes,
        "identity": identity,
        "notes": notes,
        "lookup": lookup,
    }.items():
        paths[name] = folder / f"{name}.parquet"
        pq.write_table(table, paths[name])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=Path("out/bench/identifiers"))
    arguments = parser.parse_args()
    folder = arguments.data / str(arguments.rows)
    if not (folder / "lookup.parquet").exists():
        print(f"writing {arguments.rows:,}-row members into {folder} ...", flush=True)
        paths = _members(arguments.rows, folder)
    else:
        paths = {
            name: folder / f"{name}.parquet"
            for name in ("attributes", "identity", "notes", "lookup")
        }

    from pseudonymise.identifiers import check_members

    tokens = [f"token_{index}" for index in range(30)] + [
        f"token_list_{index}" for index in range(4)
    ]
    runs = {
        "attributes (12 columns)": [paths["attributes"]],
        "identity (30 tokens, 4 token lists)": [paths["identity"]],
        "free text (a distinct sentence per row)": [paths["notes"]],
        "attributes + identity": [paths["attributes"], paths["identity"]],
    }
    print(f"rows per member: {arguments.rows:,}; lookup beside: yes")
    for label, members in runs.items():
        started = time.perf_counter()
        check_members(members, lookup=paths["lookup"], token_columns=tokens)
        seconds = time.perf_counter() - started
        print(f"{label:42s} {seconds:6.1f} s  ({arguments.rows / seconds:,.0f} rows/s)", flush=True)


if __name__ == "__main__":
    main()
