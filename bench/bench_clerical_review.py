"""Benchmark: the clerical review round trip on generator data, with a simulated reviewer.

    .venv/bin/python bench/bench_clerical_review.py [--records 5000] [--seed 1]
        [--max-pairs 500] [--band 2] [--data out/bench/linkage]

Links two generated extracts (``linkage_bench_data``), makes a review pack of the
held-back and near-threshold pairs, lets each owner re-identify its side, has a
*simulated* reviewer decide every pair from the truth (a perfect reviewer: a real one
errs and says "unsure"), signs and imports the labels, and links again with the same
model and the labels. Prints the pack's make-up, how many of the reviewed pairs the
model had decided wrongly, precision / recall / F1 against the truth before and after,
and the time of each round-trip step (linking excluded). Every party's keys are made
fresh in a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric import ed25519

sys.path.insert(0, str(Path(__file__).resolve().parent))

from linkage_bench_data import bench_data

from linkage.inputs import folder_source
from linkage.review_pack import export_review_pack, import_labels
from linkage.run import LinkResult, link_datasets
from pseudonymise.review import open_review, reidentify_request, sign_decisions
from trelink.trust import keys


def _keys(root: Path, name: str) -> tuple[Path, Path]:
    hpke, sign = root / f"{name}-hpke", root / f"{name}-sign"
    keys.generate_recipient_keypair(hpke)
    keys.generate_signer_keypair(sign)
    return hpke, sign


def _link(folders: dict[str, Path], out: Path, truth: Path, **options: object) -> LinkResult:
    sources = [folder_source(folders["left"]), folder_source(folders["right"])]
    return link_datasets(
        sources,
        out_dir=out,
        truth_path=truth,
        show_progress=False,
        **options,  # type: ignore[arg-type]
    )


def _quality(result: LinkResult) -> str:
    assert result.metrics is not None
    overall = result.metrics.overall
    return (
        f"precision {overall.precision:.4f}, recall {overall.recall:.4f}, F1 {overall.f1:.4f} "
        f"({result.pairs:,} links, {result.held_back:,} held back)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-pairs", type=int, default=500)
    parser.add_argument("--band", type=float, default=2.0)
    parser.add_argument("--data", type=Path, default=Path("out/bench/linkage"))
    options = parser.parse_args()
    data = bench_data(options.data, records=options.records, seed=options.seed)
    extracts = {"left": data.raw_left, "right": data.raw_right}
    folders = {"left": data.left, "right": data.right}
    truth = {
        (row["dataset"], row["record_id"]): row["person_id"]
        for row in pq.read_table(data.raw_truth).to_pylist()
    }
    with tempfile.TemporaryDirectory(prefix="bench-review-") as work_name:
        work = Path(work_name)
        pairs = {name: _keys(work, name) for name in ("tre", "left", "right", "reviewer")}

        def public(name: str) -> keys.RecipientPublicKey:
            return keys.load_recipient_public_key(keys.public_key_path(pairs[name][0]))

        def private(name: str) -> keys.RecipientPrivateKey:
            return keys.load_recipient_private_key(keys.private_key_path(pairs[name][0]))

        def signer(name: str) -> ed25519.Ed25519PrivateKey:
            return keys.load_signing_private_key(keys.private_key_path(pairs[name][1]))

        def verifier(name: str) -> ed25519.Ed25519PublicKey:
            return keys.load_signing_public_key(keys.public_key_path(pairs[name][1]))

        print(f"linking {options.records:,} + {options.records:,} records ...", flush=True)
        first = _link(folders, work / "link1", data.truth)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        pack = export_review_pack(
            first.out_dir,
            out=work / "pack",
            owners={side: public(side) for side in ("left", "right")},
            reviewer=public("reviewer"),
            signing_key=signer("tre"),
            band=options.band,
            max_pairs=options.max_pairs,
        )
        timings["TRE: review-pack"] = time.perf_counter() - started
        parts = []
        for side in ("left", "right"):
            started = time.perf_counter()
            parts.append(work / f"part-{side}.trs")
            reidentify_request(
                pack.requests[side],
                private_key=private(side),
                tre_trust=verifier("tre"),
                lookup=folders[side] / "lookup.parquet",
                extract=extracts[side],
                reviewer=public("reviewer"),
                signing_key=signer(side),
                out=parts[-1],
            )
            timings[f"owner {side}: review-reidentify"] = time.perf_counter() - started
        started = time.perf_counter()
        open_review(
            pack.evidence,
            parts,
            private_key=private("reviewer"),
            tre_trust=verifier("tre"),
            owners={side: verifier(side) for side in ("left", "right")},
            out=work / "review",
        )
        timings["reviewer: review-sheet"] = time.perf_counter() - started
        sheet = work / "review" / "decisions.csv"
        with sheet.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        wrong = {"linked, different people": 0, "not linked, same person": 0}
        for row in rows:
            same = (
                truth[row["left_dataset"], row["left_record_id"]]
                == truth[row["right_dataset"], row["right_record_id"]]
            )
            row["decision"] = "match" if same else "non-match"
            linked = float(row["match_probability"]) >= first.threshold
            linked = linked and not row["reason"].startswith("held back")
            if linked and not same:
                wrong["linked, different people"] += 1
            if same and not linked:
                wrong["not linked, same person"] += 1
        with sheet.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        started = time.perf_counter()
        sign_decisions(
            work / "review",
            recipient=public("tre"),
            signing_key=signer("reviewer"),
            out=work / "labels.trs",
        )
        timings["reviewer: review-sign"] = time.perf_counter() - started
        started = time.perf_counter()
        labels = import_labels(
            work / "labels.trs",
            pack_dir=work / "pack",
            private_key=private("tre"),
            reviewer=verifier("reviewer"),
            out=work / "labels.parquet",
        )
        timings["TRE: review-import"] = time.perf_counter() - started
        print("relinking with the labels (same model) ...", flush=True)
        second = _link(
            folders,
            work / "link2",
            data.truth,
            model_path=first.out_dir / "model.json",
            clerical_labels=(labels.out,),
        )
    print(
        f"\nreview pack: {pack.pairs:,} pairs ({pack.held_back:,} held back, "
        f"{pack.near_threshold:,} within {options.band} bits of the threshold's weight)"
    )
    print(
        f"the model's decision was wrong for {sum(wrong.values()):,} of them: "
        + ", ".join(f"{count:,} {what}" for what, count in wrong.items())
    )
    print(f"reviewer (simulated, from the truth): {labels.matches:,} match, "
          f"{labels.non_matches:,} non-match")  # fmt: skip
    print(f"before review: {_quality(first)}")
    print(f"after review:  {_quality(second)}")
    for step, seconds in timings.items():
        print(f"  {step}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
