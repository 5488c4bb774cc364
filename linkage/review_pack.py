"""Clerical review, the TRE's side: candidates, the review pack, the reviewer's labels.

The round trip (``docs/clerical-reviewer.md``; the owner's and reviewer's steps are in
``pseudonymise.review``):

1. ``trelink link`` writes ``review_candidates.parquet``: the pairs it held back, the
   pairs whose match weight lies within ``REVIEW_BAND_BITS`` of the threshold's, and a
   sample of each other stratum of scored pairs (``TRAINING_STRATA``) with the rate it
   was drawn at, with each comparison's level (labels, never token values).
2. ``export_review_pack`` (``trelink review-pack``) draws pairs from it by strata, a
   simple random sample within each, so every pair's inclusion probability is known
   (``tre/pack.json`` records the design), gives them pack-local ids in a random order
   and writes, under ``OUT/send/``, one sealed request
   per dataset for its owner (pair id, side and that dataset's record pids only) and one
   sealed evidence file for the reviewer (pair ids, datasets, probability, weight,
   reason and levels; no record pids). The TRE keeps ``OUT/tre/`` (pair id → both
   record pids), which never leaves the TRE. Every sealed file is signed by the TRE.
3. ``import_labels`` (``trelink review-import``) verifies the reviewer's signed labels,
   checks they answer this pack (its id and the evidence the reviewer saw) and name
   only its pairs, and writes ``clerical_labels.parquet`` for ``trelink link --labels``
   (``linkage.clerical``), with each label's stratum and inclusion probability when the
   pack was a probability sample of every stratum.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric import ed25519
from splink.internals.splink_dataframe import SplinkDataFrame

from linkage.backends import Backend
from linkage.errors import ClericalReviewError
from trelink.atomic import atomic_directory, atomic_file
from trelink.trust.keys import RecipientPrivateKey, RecipientPublicKey, key_id
from trelink.trust.sealed import (
    EVIDENCE_KIND,
    LABELS_KIND,
    REQUEST_KIND,
    SealedFileError,
    open_sealed,
    seal,
)

__all__ = [
    "CANDIDATES_FILE",
    "DEFAULT_TRAINING_SHARE",
    "INCLUSION",
    "LABEL_KINDS",
    "REVIEW_BAND_BITS",
    "ImportedLabels",
    "ReviewPack",
    "export_review_pack",
    "import_labels",
    "write_review_candidates",
]

CANDIDATES_FILE = "review_candidates.parquet"
# Pairs within this many bits of match weight of the threshold (a factor of 8 in the
# odds either side) are near enough to it to be worth a person's look.
REVIEW_BAND_BITS = 3.0
LABEL_KINDS = ("match", "non-match")
# Pairs outside the review band are sampled for training (labels that estimate m need a
# probability sample of every kind of pair): below the band, above it, and far above
# it (clear links, where most matches are). Each stratum keeps about this many
# candidates, drawn at a rate recorded with each pair.
TRAINING_STRATA = ("below", "above", "far above")
FAR_ABOVE_BITS = 10.0
TRAINING_CANDIDATES = 2000
# The strata a review pack draws first; pairs near the threshold but outside a pack's
# --band form a stratum of their own.
REVIEW_STRATA = ("held back", "near threshold")
OUTSIDE_BAND = "near threshold, outside the band"
# Training from labels is opt-in: measured on the demo (docs/tre-researcher.md), labels
# as training data on a well-trained model did not beat them as fixed decisions.
DEFAULT_TRAINING_SHARE = 0.0
# The labels file's column of each label's probability of having been drawn and decided.
INCLUSION = "inclusion_probability"
_PAIR_COLUMNS = ("dataset_l", "record_pid_l", "dataset_r", "record_pid_r")


def threshold_weight(threshold: float) -> float:
    """The match weight (log2 Bayes factor of the posterior odds) of a probability."""
    return math.log2(threshold / (1 - threshold))


def _draw_sql() -> str:
    """A pseudo-random draw in [0, 1) fixed by the pair's record pids: the same pairs are
    sampled every time the run is repeated, on either backend, whatever their scores
    (the first 32 bits of an MD5 of the pair). It is DuckDB SQL on both backends:
    ``Backend.to_work`` evaluates its select in the DuckDB work connection, over
    Spark's predictions brought back as Arrow."""
    digest = (
        "substr(md5(concat_ws('|', 'trelink review sample', CAST(record_pid_l AS STRING), "
        "CAST(record_pid_r AS STRING))), 1, 8)"
    )
    number = f"CAST('0x' || {digest} AS BIGINT)"
    return f"(CAST({number} AS DOUBLE) / 4294967296)"


def _stratum_sql(bits: str) -> str:
    """The training stratum of a pair outside the review band, by ``bits`` from the
    threshold (``TRAINING_STRATA``)."""
    return (
        f"CASE WHEN {bits} < -{REVIEW_BAND_BITS!r} THEN '{TRAINING_STRATA[0]}' "
        f"WHEN {bits} <= {FAR_ABOVE_BITS!r} THEN '{TRAINING_STRATA[1]}' "
        f"ELSE '{TRAINING_STRATA[2]}' END"
    )


def _candidate_rates(connection: Any, weight: float) -> dict[str, float]:
    """Each training stratum's sampling rate: at most ``TRAINING_CANDIDATES`` expected
    candidates, from its number of scored pairs (the work table ``scored_pairs``, held
    back pairs already moved out)."""
    bits = f"match_weight - {weight!r}"
    counts = dict(
        connection.execute(
            f"SELECT {_stratum_sql(bits)} AS stratum, count(*) FROM scored_pairs "
            f"WHERE abs({bits}) > {REVIEW_BAND_BITS!r} GROUP BY ALL"
        ).fetchall()
    )
    return {
        stratum: min(1.0, TRAINING_CANDIDATES / counts[stratum]) if counts.get(stratum) else 1.0
        for stratum in TRAINING_STRATA
    }


def write_review_candidates(
    backend: Backend,
    predictions: SplinkDataFrame,
    *,
    pair_select: str,
    held_back_sql: str,
    gammas: Mapping[tuple[str, str], int],
    threshold: float,
    staging: Path,
) -> int:
    """Write ``review_candidates.parquet``: held-back and near-threshold pairs, and a
    sample of every other stratum of scored pairs, with their comparison levels, each
    pair's ``stratum`` and the rate it was sampled at (``candidate_rate``); return how
    many.

    ``pair_select`` selects the pair columns from Splink's predictions and
    ``held_back_sql`` is the run's ``... AS held_back`` column; the work tables
    ``held_back`` (pairs actually held back) and ``scored_pairs`` must exist.
    """
    weight = threshold_weight(threshold)
    connection = backend.connection
    rates = _candidate_rates(connection, weight)
    rule = held_back_sql.removesuffix(" AS held_back")
    names = sorted({name for name, _label in gammas})
    gamma_columns = ", ".join(f"gamma_{name}" for name in names)
    bits = f"match_weight - {weight!r}"
    band = f"abs({bits}) <= {REVIEW_BAND_BITS!r}"
    rate = (
        f"CASE {_stratum_sql(bits)} "
        + " ".join(f"WHEN '{stratum}' THEN {value!r}" for stratum, value in rates.items())
        + " END"
    )
    draw = _draw_sql()
    backend.to_work(
        predictions,
        "review_scored",
        select=f"{pair_select}, {gamma_columns}, {draw} AS sample_draw",
        where=f"{band} OR ({rule}) IS NOT NULL OR {draw} < {rate}",
    )
    levels = []
    for name in names:
        cases = " ".join(
            f"WHEN {value} THEN '{label.replace(chr(39), chr(39) * 2)}'"
            for (comparison, label), value in sorted(gammas.items())
            if comparison == name
        )
        levels.append(f"CASE s.gamma_{name} {cases} END AS level_{name}")
    join = " AND ".join(f"h.{column} = s.{column}" for column in _PAIR_COLUMNS)
    scored_bits = bits.replace("match_weight", "s.match_weight")
    connection.execute(
        "CREATE OR REPLACE TABLE review_candidates AS SELECT "
        + ", ".join(f"s.{column}" for column in _PAIR_COLUMNS)
        + ", s.match_weight, s.match_probability, "
        f"{scored_bits} AS bits_from_threshold, "
        f"CASE WHEN h.rule IS NOT NULL THEN 'held back: ' || h.rule "
        f"WHEN {band.replace('match_weight', 's.match_weight')} THEN 'near threshold' "
        f"WHEN {scored_bits} < 0 THEN 'sample: below the threshold' "
        "ELSE 'sample: above the threshold' END AS reason, "
        f"CASE WHEN h.rule IS NOT NULL THEN 'held back' "
        f"WHEN {band.replace('match_weight', 's.match_weight')} THEN 'near threshold' "
        f"ELSE {_stratum_sql(scored_bits)} END AS stratum, "
        f"CASE WHEN h.rule IS NOT NULL OR {band.replace('match_weight', 's.match_weight')} "
        f"THEN 1.0 ELSE {rate.replace('match_weight', 's.match_weight')} END "
        f"AS candidate_rate, s.sample_draw, {', '.join(levels)} FROM review_scored s "
        f"LEFT JOIN held_back h ON {join}"
    )
    # A pair that fits a hold-back rule the run did not apply is an ordinary pair of
    # its stratum: it stays only if drawn.
    connection.execute(
        "DELETE FROM review_candidates WHERE stratum IN "
        f"({', '.join(repr(stratum) for stratum in TRAINING_STRATA)}) "
        "AND sample_draw >= candidate_rate"
    )
    connection.execute("ALTER TABLE review_candidates DROP COLUMN sample_draw")
    connection.execute("DROP TABLE review_scored")
    connection.execute(
        "COPY (SELECT * FROM review_candidates ORDER BY "
        + ", ".join(_PAIR_COLUMNS)
        + f") TO '{staging / CANDIDATES_FILE}' (FORMAT parquet)"
    )
    ((count,),) = connection.execute("SELECT count(*) FROM review_candidates").fetchall()
    connection.execute("DROP TABLE review_candidates")
    return int(count)


@dataclass(frozen=True)
class ReviewPack:
    """What ``export_review_pack`` wrote."""

    pack_id: str
    pairs: int
    held_back: int
    near_threshold: int
    sampled: int  # pairs drawn from the other strata (for training)
    probability_sample: bool  # every stratum drawn from: the labels can train the model
    requests: dict[str, Path]  # dataset -> sealed request for its owner
    evidence: Path  # sealed evidence for the reviewer
    record: Path  # the TRE's own pair-id -> record pids table (never sent)


def _candidates(link_dir: Path) -> pa.Table:
    path = link_dir / CANDIDATES_FILE
    if not path.is_file():
        raise ClericalReviewError(
            f"{path}: not found; give the output folder of a `trelink link` run (runs "
            "before clerical review support did not write it: link again)"
        )
    return pq.read_table(path)


@dataclass(frozen=True)
class _Design:
    """How a pack drew its pairs: per stratum, the candidates it drew from, the rate
    the run sampled them at and how many it drew."""

    strata: dict[str, dict[str, float]]  # stratum -> candidates, rate, drawn
    why_not: str | None  # why the pack is not a probability sample of all pairs

    def inclusion_probability(self, stratum: str, labelled: int) -> float:
        """A pair's probability of being in the labels, when ``labelled`` pairs of its
        stratum were drawn and labelled (pairs left undecided taken as missing at
        random within their stratum)."""
        counts = self.strata[stratum]
        return counts["rate"] * labelled / counts["candidates"]

    def record(self) -> dict[str, Any]:
        return {
            "probability_sample": self.why_not is None,
            "why_not": self.why_not,
            "strata": self.strata,
        }


def _stratum(row: dict[str, Any], band: float) -> str:
    stratum = str(
        row.get("stratum")
        or ("held back" if row["reason"].startswith("held back") else "near threshold")
    )
    if stratum == "near threshold" and abs(row["bits_from_threshold"]) > band:
        return OUTSIDE_BAND
    return stratum


def _fill(budget: int, sizes: Mapping[str, int]) -> dict[str, int]:
    """Share ``budget`` draws equally among strata of ``sizes`` candidates, a stratum
    never drawing more than it has (what one cannot use goes to the others)."""
    draws = dict.fromkeys(sizes, 0)
    open_strata = [name for name, size in sizes.items() if size]
    while budget > 0 and open_strata:
        share = max(1, budget // len(open_strata))
        for name in list(open_strata):
            take = min(share, sizes[name] - draws[name], budget)
            draws[name] += take
            budget -= take
            if draws[name] == sizes[name]:
                open_strata.remove(name)
            if budget == 0:
                break
    return draws


def _choose(
    candidates: pa.Table,
    *,
    band: float,
    max_pairs: int,
    held_back: bool,
    training_share: float,
    datasets: Sequence[str] | None,
    seed: int | None,
) -> tuple[list[dict[str, Any]], _Design]:
    """Draw the pack: held-back and near-threshold pairs up to ``1 - training_share`` of
    ``max_pairs``, shared equally between them (one with fewer pairs leaves the rest to
    the other), then the rest shared equally among the other strata; a simple random
    sample within each stratum, so each pair's inclusion probability is known."""
    rows = candidates.to_pylist()
    if datasets is not None:
        rows = [row for row in rows if {row["dataset_l"], row["dataset_r"]} <= set(datasets)]
    by_stratum: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        row["stratum"] = _stratum(row, band)
        by_stratum.setdefault(row["stratum"], []).append(row)
    sizes = {name: len(found) for name, found in by_stratum.items()}
    draws: dict[str, int] = {}
    budget = max_pairs if training_share == 0 else round(max_pairs * (1 - training_share))
    review = {
        name: sizes.get(name, 0)
        for name in REVIEW_STRATA
        if held_back or name != "held back"
    }
    draws.update(_fill(budget, review))
    if training_share > 0:
        others = {name: size for name, size in sizes.items() if name not in REVIEW_STRATA}
        draws.update(_fill(max_pairs - sum(draws.values()), others))
    chooser = random.SystemRandom() if seed is None else random.Random(seed)
    chosen = [
        row
        for name, found in sorted(by_stratum.items())
        for row in chooser.sample(found, draws.get(name, 0))
    ]
    strata = {
        name: {
            "candidates": sizes[name],
            "rate": float(by_stratum[name][0].get("candidate_rate") or 1.0),
            "drawn": draws.get(name, 0),
        }
        for name in sorted(sizes)
    }
    why_not = None
    if "candidate_rate" not in candidates.column_names:
        why_not = (
            "the link run sampled no pairs outside the review band (it predates training "
            "from labels: link again)"
        )
    elif training_share == 0:
        why_not = "--training-share 0 drew no pairs outside the review band"
    else:
        skipped = [name for name, counts in strata.items() if not counts["drawn"]]
        if skipped:
            why_not = f"no pair drawn from stratum/strata {skipped}"
    return chosen, _Design(strata, why_not)


def _json(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False).encode()


def export_review_pack(
    link_dir: str | Path,
    *,
    out: str | Path,
    owners: Mapping[str, RecipientPublicKey],
    reviewer: RecipientPublicKey,
    signing_key: ed25519.Ed25519PrivateKey,
    band: float = 2.0,
    max_pairs: int = 1000,
    held_back: bool = True,
    training_share: float = DEFAULT_TRAINING_SHARE,
    datasets: Sequence[str] | None = None,
    seed: int | None = None,
) -> ReviewPack:
    """Write a review pack for the candidates of the run in ``link_dir`` into ``out``.

    ``training_share`` of ``max_pairs`` (at least: what the held-back and near-threshold
    pairs leave goes there too) is drawn from the other strata, so that the labels are
    a probability sample of all scored pairs and can estimate the model (``0``, the
    default: review only). ``datasets`` keeps only pairs both of whose records are in
    those datasets (a pack for the owners one review agreement covers). ``seed`` makes
    the choice of pairs repeatable; pair ids are numbered in a random order whatever it
    is."""
    if not 0 < band <= REVIEW_BAND_BITS:
        raise ClericalReviewError(
            f"--band must be in (0, {REVIEW_BAND_BITS}] bits of match weight, got {band}"
        )
    if max_pairs < 1:
        raise ClericalReviewError(f"--max-pairs must be at least 1, got {max_pairs}")
    if not 0 <= training_share < 1:
        raise ClericalReviewError(f"--training-share must be in [0, 1), got {training_share}")
    source, target = Path(link_dir), Path(out)
    chosen, design = _choose(
        _candidates(source),
        band=band,
        max_pairs=max_pairs,
        held_back=held_back,
        training_share=training_share,
        datasets=datasets,
        seed=seed,
    )
    if not chosen:
        among = f" among datasets {sorted(datasets)}" if datasets is not None else ""
        raise ClericalReviewError(
            f"{source}: no held-back pairs and none within {band} bits of the threshold"
            f"{among}; nothing to review"
        )
    datasets = sorted({row["dataset_l"] for row in chosen} | {row["dataset_r"] for row in chosen})
    missing = [dataset for dataset in datasets if dataset not in owners]
    if missing:
        raise ClericalReviewError(
            f"the pack has pairs from dataset(s) {missing} but no --owner DATASET=KEY names "
            "their owner's public key"
        )
    # A random order, so a pair's id says nothing about its probability or its records.
    random.SystemRandom().shuffle(chosen)
    pack_id = secrets.token_hex(8)
    width = max(4, len(str(len(chosen))))
    for number, row in enumerate(chosen, start=1):
        row["pair_id"] = f"R{number:0{width}d}"
    level_names = [name for name in chosen[0] if name.startswith("level_")]
    evidence_rows = [
        {
            "pair_id": row["pair_id"],
            "dataset_l": row["dataset_l"],
            "dataset_r": row["dataset_r"],
            "match_probability": row["match_probability"],
            "match_weight": row["match_weight"],
            "reason": row["reason"],
            "levels": {name.removeprefix("level_"): row[name] for name in level_names},
        }
        for row in sorted(chosen, key=lambda row: row["pair_id"])
    ]
    meta = {"pack_id": pack_id, "datasets": datasets, "pairs": len(chosen)}
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ClericalReviewError(f"{target}: already exists and is not empty; choose another")
    with atomic_directory(target) as staging:
        (staging / "send").mkdir()
        (staging / "tre").mkdir(mode=0o700)
        requests: dict[str, Path] = {}
        for dataset in datasets:
            records = [
                {"pair_id": row["pair_id"], "side": side, "record_pid": row[f"record_pid_{side}"]}
                for row in sorted(chosen, key=lambda row: row["pair_id"])
                for side in ("l", "r")
                if row[f"dataset_{side}"] == dataset
            ]
            name = f"request-{dataset}.trs"
            seal(
                staging / "send" / name,
                kind=REQUEST_KIND,
                meta={**meta, "dataset": dataset},
                members={"records.json": _json(records)},
                recipient=owners[dataset],
                signing_key=signing_key,
            )
            requests[dataset] = target / "send" / name
        evidence_sha256 = seal(
            staging / "send" / "evidence-reviewer.trs",
            kind=EVIDENCE_KIND,
            meta=meta,
            members={"pairs.json": _json(evidence_rows)},
            recipient=reviewer,
            signing_key=signing_key,
        )
        record = pa.Table.from_pylist(
            [
                {
                    "pair_id": row["pair_id"],
                    **{column: row[column] for column in _PAIR_COLUMNS},
                    "match_probability": row["match_probability"],
                    "reason": row["reason"],
                    "stratum": row["stratum"],
                }
                for row in sorted(chosen, key=lambda row: row["pair_id"])
            ]
        )
        pq.write_table(record, staging / "tre" / "pairs.parquet")
        pack_record = {
            **meta,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "link_dir": str(source),
            "evidence_sha256": evidence_sha256,
            "pairs_sha256": hashlib.sha256(
                (staging / "tre" / "pairs.parquet").read_bytes()
            ).hexdigest(),
            "tre_signer_key_id": key_id(signing_key),
            "reviewer_key_id": reviewer.key_id,
            "owner_key_ids": {dataset: owners[dataset].key_id for dataset in datasets},
            "design": design.record(),
        }
        (staging / "tre" / "pack.json").write_text(json.dumps(pack_record, indent=2) + "\n")
    held = sum(1 for row in chosen if row["stratum"] == "held back")
    near = sum(1 for row in chosen if row["stratum"] == "near threshold")
    return ReviewPack(
        pack_id=pack_id,
        pairs=len(chosen),
        held_back=held,
        near_threshold=near,
        sampled=len(chosen) - held - near,
        probability_sample=design.why_not is None,
        requests=requests,
        evidence=target / "send" / "evidence-reviewer.trs",
        record=target / "tre" / "pairs.parquet",
    )


@dataclass(frozen=True)
class ImportedLabels:
    """What ``import_labels`` wrote."""

    pack_id: str
    matches: int
    non_matches: int
    out: Path
    why_not_training: str | None  # why the labels carry no inclusion probabilities


def _pack_record(pack_dir: Path) -> tuple[dict[str, Any], pa.Table]:
    path = pack_dir / "tre" / "pack.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClericalReviewError(
            f"{path}: not found; --pack names the folder `trelink review-pack` wrote"
        ) from None
    pairs_path = pack_dir / "tre" / "pairs.parquet"
    if hashlib.sha256(pairs_path.read_bytes()).hexdigest() != record.get("pairs_sha256"):
        raise ClericalReviewError(f"{pairs_path}: changed since the pack was made; refused")
    return record, pq.read_table(pairs_path)


def import_labels(
    labels_file: str | Path,
    *,
    pack_dir: str | Path,
    private_key: RecipientPrivateKey,
    reviewer: ed25519.Ed25519PublicKey,
    out: str | Path,
) -> ImportedLabels:
    """Verify the reviewer's labels for the pack in ``pack_dir``; write them as clerical
    labels on record pids (``dataset_l, record_pid_l, dataset_r, record_pid_r, label``)."""
    source, target = Path(labels_file), Path(out)
    if target.exists():
        raise ClericalReviewError(f"{target}: already exists; choose another --out")
    record, pairs = _pack_record(Path(pack_dir))
    try:
        message = open_sealed(source, kind=LABELS_KIND, private_key=private_key, trust=reviewer)
    except SealedFileError as error:
        raise ClericalReviewError(str(error)) from None
    answered = message.meta.get("pack_id")
    if answered != record["pack_id"]:
        raise ClericalReviewError(
            f"{source}: answers review pack {answered!s}, not this pack {record['pack_id']}; "
            "refused"
        )
    if message.meta.get("evidence_sha256") != record["evidence_sha256"]:
        raise ClericalReviewError(
            f"{source}: was decided on other evidence than this pack sent; refused"
        )
    try:
        labels = json.loads(message.members.get("labels.json", b"[]"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        labels = None
    if not isinstance(labels, list) or not all(isinstance(label, dict) for label in labels):
        raise ClericalReviewError(f"{source}: labels.json is not a list of labels; refused")
    by_pair = {row["pair_id"]: row for row in pairs.to_pylist()}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, label in enumerate(labels, start=1):
        pair_id, kind = label.get("pair_id"), label.get("label")
        if pair_id not in by_pair or pair_id in seen or kind not in LABEL_KINDS:
            raise ClericalReviewError(
                f"{source}: label {position} names an unknown or repeated pair, or a label "
                f"other than {' / '.join(LABEL_KINDS)}; refused"
            )
        seen.add(pair_id)
        pair = by_pair[pair_id]
        rows.append(
            {
                "pack_id": record["pack_id"],
                "pair_id": pair_id,
                **{column: pair[column] for column in _PAIR_COLUMNS},
                "label": kind,
                "stratum": pair.get("stratum"),
            }
        )
    why_not = _add_inclusion_probabilities(rows, record.get("design"))
    schema = pa.schema(
        [("pack_id", pa.string()), ("pair_id", pa.string())]
        + [(column, pa.string()) for column in _PAIR_COLUMNS]
        + [("label", pa.string()), ("stratum", pa.string()), (INCLUSION, pa.float64())]
    )
    with atomic_file(target) as temporary:
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), temporary)
    matches = sum(1 for row in rows if row["label"] == "match")
    return ImportedLabels(record["pack_id"], matches, len(rows) - matches, target, why_not)


def _add_inclusion_probabilities(
    rows: list[dict[str, Any]], design: dict[str, Any] | None
) -> str | None:
    """Give each label its inclusion probability (column ``INCLUSION``) when the pack
    was a probability sample and some pair of every stratum it drew from was labelled;
    else leave it null and return why."""
    if design is None:
        why_not: str | None = "the pack predates sampling for training"
    else:
        why_not = design.get("why_not")
    labelled: dict[str, int] = {}
    for row in rows:
        labelled[row["stratum"]] = labelled.get(row["stratum"], 0) + 1
    if why_not is None and design is not None:
        strata = design["strata"]
        undecided = [
            name for name, counts in strata.items() if counts["drawn"] and name not in labelled
        ]
        if undecided:
            why_not = f"no pair of stratum/strata {sorted(undecided)} was decided"
        else:
            sample = _Design(strata, None)
            for row in rows:
                row[INCLUSION] = sample.inclusion_probability(
                    row["stratum"], labelled[row["stratum"]]
                )
    for row in rows:
        row.setdefault(INCLUSION, None)
    return why_not
