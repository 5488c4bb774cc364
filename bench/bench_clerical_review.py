"""Benchmark: the clerical review round trip on generator data, with a simulated reviewer.

    .venv/bin/python bench/bench_clerical_review.py [--records 5000] [--seed 1]
        [--max-pairs 500] [--band 2] [--training-share 0.25] [--wrong-model]
        [--data out/bench/linkage]

Links two generated extracts (``linkage_bench_data``), makes a review pack (held-back
and near-threshold pairs, plus ``--training-share`` of ``--max-pairs`` sampled from the
other strata of scored pairs), lets each owner re-identify its side, has a *simulated*
reviewer decide every pair from the truth (a perfect reviewer: a real one errs and
says "unsure"), signs and imports the labels, and links again with the same model and
the labels, twice: with the labels as fixed decisions only (their inclusion
probabilities dropped, as an older pack's labels are) and as training data too. Prints
the pack's make-up, how many of the reviewed pairs the model had decided wrongly,
precision / recall / F1 against the truth for each run, and the time of each
round-trip step (linking excluded). Every party's keys are made fresh in a temporary
folder.

``--wrong-model`` starts from a model that is wrong the way a bad EM session makes it:
the first run's model with each comparison's top level given the m of its next level
down (agreement on a name or a date worth far less than it is) and the prior divided
by 20; the review, and the relinks, use that model.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric import ed25519

sys.path.insert(0, str(Path(__file__).resolve().parent))

from linkage_bench_data import bench_data

from linkage.inputs import folder_source
from linkage.review_pack import INCLUSION, ReviewPack, export_review_pack, import_labels
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


def _wrong_model(model: Path, out: Path) -> Path:
    """``model`` made wrong (module docstring)."""
    settings = json.loads(model.read_text(encoding="utf-8"))
    for comparison in settings["comparisons"]:
        levels = [
            level for level in comparison["comparison_levels"] if not level.get("is_null_level")
        ]
        if len(levels) >= 2 and "m_probability" in levels[1]:
            moved = levels[0]["m_probability"] - levels[1]["m_probability"]
            if moved > 0:
                levels[0]["m_probability"] -= moved
                levels[-1]["m_probability"] += moved
    settings["probability_two_random_records_match"] /= 20
    out.write_text(json.dumps(settings), encoding="utf-8")
    return out


def _without_inclusion(labels: Path, out: Path) -> Path:
    """The labels as an older pack's: no inclusion probabilities, fixed decisions only."""
    table = pq.read_table(labels)
    pq.write_table(table.drop_columns([INCLUSION, "stratum"]), out)
    return out


@dataclass(frozen=True)
class _Review:
    pack: ReviewPack
    labels: Path
    matches: int
    non_matches: int
    wrong: dict[str, int]
    timings: dict[str, float]


class _Parties:
    """Every party's keys, made fresh under ``root``."""

    def __init__(self, root: Path) -> None:
        self.pairs = {name: _keys(root, name) for name in ("tre", "left", "right", "reviewer")}

    def public(self, name: str) -> keys.RecipientPublicKey:
        return keys.load_recipient_public_key(keys.public_key_path(self.pairs[name][0]))

    def private(self, name: str) -> keys.RecipientPrivateKey:
        return keys.load_recipient_private_key(keys.private_key_path(self.pairs[name][0]))

    def signer(self, name: str) -> ed25519.Ed25519PrivateKey:
        return keys.load_signing_private_key(keys.private_key_path(self.pairs[name][1]))

    def verifier(self, name: str) -> ed25519.Ed25519PublicKey:
        return keys.load_signing_public_key(keys.public_key_path(self.pairs[name][1]))


def _review(
    first: LinkResult,
    work: Path,
    parties: _Parties,
    *,
    extracts: dict[str, Path],
    folders: dict[str, Path],
    truth: dict[tuple[str, str], str],
    options: argparse.Namespace,
) -> _Review:
    """The round trip on ``first``'s candidates, decided from the truth."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    pack = export_review_pack(
        first.out_dir,
        out=work / "pack",
        owners={side: parties.public(side) for side in ("left", "right")},
        reviewer=parties.public("reviewer"),
        signing_key=parties.signer("tre"),
        band=options.band,
        max_pairs=options.max_pairs,
        training_share=options.training_share,
        seed=options.seed,
    )
    timings["TRE: review-pack"] = time.perf_counter() - started
    parts = []
    for side in ("left", "right"):
        started = time.perf_counter()
        parts.append(work / f"part-{side}.trs")
        reidentify_request(
            pack.requests[side],
            private_key=parties.private(side),
            tre_trust=parties.verifier("tre"),
            lookup=folders[side] / "lookup.parquet",
            extract=extracts[side],
            reviewer=parties.public("reviewer"),
            signing_key=parties.signer(side),
            out=parts[-1],
        )
        timings[f"owner {side}: review-reidentify"] = time.perf_counter() - started
    started = time.perf_counter()
    open_review(
        pack.evidence,
        parts,
        private_key=parties.private("reviewer"),
        tre_trust=parties.verifier("tre"),
        owners={side: parties.verifier(side) for side in ("left", "right")},
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
        recipient=parties.public("tre"),
        signing_key=parties.signer("reviewer"),
        out=work / "labels.trs",
    )
    timings["reviewer: review-sign"] = time.perf_counter() - started
    started = time.perf_counter()
    labels = import_labels(
        work / "labels.trs",
        pack_dir=work / "pack",
        private_key=parties.private("tre"),
        reviewer=parties.verifier("reviewer"),
        out=work / "labels.parquet",
    )
    timings["TRE: review-import"] = time.perf_counter() - started
    return _Review(pack, labels.out, labels.matches, labels.non_matches, wrong, timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-pairs", type=int, default=500)
    parser.add_argument("--band", type=float, default=2.0)
    parser.add_argument("--training-share", type=float, default=0.25)
    parser.add_argument("--wrong-model", action="store_true")
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
        parties = _Parties(work)
        print(f"linking {options.records:,} + {options.records:,} records ...", flush=True)
        first = _link(folders, work / "link1", data.truth)
        model = first.out_dir / "model.json"
        if options.wrong_model:
            model = _wrong_model(model, work / "wrong-model.json")
            print("linking again with the wrong model ...", flush=True)
            first = _link(folders, work / "link1-wrong", data.truth, model_path=model)
        review = _review(
            first,
            work,
            parties,
            extracts=extracts,
            folders=folders,
            truth=truth,
            options=options,
        )
        print("relinking with the labels as fixed decisions only (same model) ...", flush=True)
        fixed = _link(
            folders,
            work / "link-fixed",
            data.truth,
            model_path=model,
            clerical_labels=(_without_inclusion(review.labels, work / "fixed.parquet"),),
        )
        trained = None
        if review.pack.probability_sample:
            print("relinking with the labels as training data too (same model) ...", flush=True)
            trained = _link(
                folders,
                work / "link-trained",
                data.truth,
                model_path=model,
                clerical_labels=(review.labels,),
            )
    pack = review.pack
    print(
        f"\nreview pack: {pack.pairs:,} pairs ({pack.held_back:,} held back, "
        f"{pack.near_threshold:,} within {options.band} bits of the threshold's weight, "
        f"{pack.sampled:,} sampled from the other strata)"
    )
    print(
        f"the model's decision was wrong for {sum(review.wrong.values()):,} of them: "
        + ", ".join(f"{count:,} {what}" for what, count in review.wrong.items())
    )
    print(f"reviewer (simulated, from the truth): {review.matches:,} match, "
          f"{review.non_matches:,} non-match")  # fmt: skip
    print(f"before review:               {_quality(first)}")
    print(f"labels as fixed decisions:   {_quality(fixed)}")
    if trained is not None:
        print(f"labels as training data too: {_quality(trained)}")
        for note in trained.notes:
            if note.startswith("clerical labels"):
                print(f"  {note}")
    for step, seconds in review.timings.items():
        print(f"  {step}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
