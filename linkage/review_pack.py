"""Clerical review, the TRE's side: candidates, the review pack, the reviewer's labels.

The round trip (``docs/clerical-reviewer.md``; the owner's and reviewer's steps are in
``pseudonymise.review``):

1. ``trelink link`` writes ``review_candidates.parquet``: the pairs it held back and the
   pairs whose match weight lies within ``REVIEW_BAND_BITS`` of the threshold's, with
   each comparison's level (labels, never token values).
2. ``export_review_pack`` (``trelink review-pack``) picks pairs from it, gives them
   pack-local ids in a random order and writes, under ``OUT/send/``, one sealed request
   per dataset for its owner (pair id, side and that dataset's record pids only) and one
   sealed evidence file for the reviewer (pair ids, datasets, probability, weight,
   reason and levels; no record pids). The TRE keeps ``OUT/tre/`` (pair id → both
   record pids), which never leaves the TRE. Every sealed file is signed by the TRE.
3. ``import_labels`` (``trelink review-import``) verifies the reviewer's signed labels,
   checks they answer this pack (its id and the evidence the reviewer saw) and name
   only its pairs, and writes ``clerical_labels.parquet`` for ``trelink link --labels``
   (``linkage.clerical``).
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
_PAIR_COLUMNS = ("dataset_l", "record_pid_l", "dataset_r", "record_pid_r")


def threshold_weight(threshold: float) -> float:
    """The match weight (log2 Bayes factor of the posterior odds) of a probability."""
    return math.log2(threshold / (1 - threshold))


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
    """Write ``review_candidates.parquet``: held-back and near-threshold pairs with their
    comparison levels; return how many.

    ``pair_select`` selects the pair columns from Splink's predictions and
    ``held_back_sql`` is the run's ``... AS held_back`` column; the work table
    ``held_back`` (pairs actually held back) must exist.
    """
    weight = threshold_weight(threshold)
    rule = held_back_sql.removesuffix(" AS held_back")
    names = sorted({name for name, _label in gammas})
    gamma_columns = ", ".join(f"gamma_{name}" for name in names)
    band = f"abs(match_weight - {weight!r}) <= {REVIEW_BAND_BITS!r}"
    backend.to_work(
        predictions,
        "review_scored",
        select=f"{pair_select}, {gamma_columns}",
        where=f"{band} OR ({rule}) IS NOT NULL",
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
    connection = backend.connection
    connection.execute(
        "CREATE OR REPLACE TABLE review_candidates AS SELECT "
        + ", ".join(f"s.{column}" for column in _PAIR_COLUMNS)
        + ", s.match_weight, s.match_probability, "
        f"s.match_weight - {weight!r} AS bits_from_threshold, "
        f"CASE WHEN h.rule IS NOT NULL THEN 'held back: ' || h.rule "
        f"WHEN {band.replace('match_weight', 's.match_weight')} THEN 'near threshold' END "
        f"AS reason, {', '.join(levels)} FROM review_scored s "
        f"LEFT JOIN held_back h ON {join}"
    )
    connection.execute("DELETE FROM review_candidates WHERE reason IS NULL")
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


def _choose(
    candidates: pa.Table,
    *,
    band: float,
    max_pairs: int,
    held_back: bool,
    datasets: Sequence[str] | None,
) -> list[dict[str, Any]]:
    rows = candidates.to_pylist()
    if datasets is not None:
        rows = [row for row in rows if {row["dataset_l"], row["dataset_r"]} <= set(datasets)]
    chosen_held = [row for row in rows if held_back and row["reason"].startswith("held back")]
    near = [
        row
        for row in rows
        if row["reason"] == "near threshold" and abs(row["bits_from_threshold"]) <= band
    ]
    chosen_held.sort(key=lambda row: -row["match_probability"])
    near.sort(key=lambda row: abs(row["bits_from_threshold"]))
    return (chosen_held + near)[:max_pairs]


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
    datasets: Sequence[str] | None = None,
) -> ReviewPack:
    """Write a review pack for the candidates of the run in ``link_dir`` into ``out``.

    ``datasets`` keeps only pairs both of whose records are in those datasets (a pack
    for the owners one review agreement covers)."""
    if not 0 < band <= REVIEW_BAND_BITS:
        raise ClericalReviewError(
            f"--band must be in (0, {REVIEW_BAND_BITS}] bits of match weight, got {band}"
        )
    if max_pairs < 1:
        raise ClericalReviewError(f"--max-pairs must be at least 1, got {max_pairs}")
    source, target = Path(link_dir), Path(out)
    chosen = _choose(
        _candidates(source),
        band=band,
        max_pairs=max_pairs,
        held_back=held_back,
        datasets=datasets,
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
        }
        (staging / "tre" / "pack.json").write_text(json.dumps(pack_record, indent=2) + "\n")
    held = sum(1 for row in chosen if row["reason"].startswith("held back"))
    return ReviewPack(
        pack_id=pack_id,
        pairs=len(chosen),
        held_back=held,
        near_threshold=len(chosen) - held,
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
            }
        )
    schema = pa.schema(
        [("pack_id", pa.string()), ("pair_id", pa.string())]
        + [(column, pa.string()) for column in _PAIR_COLUMNS]
        + [("label", pa.string())]
    )
    with atomic_file(target) as temporary:
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), temporary)
    matches = sum(1 for row in rows if row["label"] == "match")
    return ImportedLabels(record["pack_id"], matches, len(rows) - matches, target)
