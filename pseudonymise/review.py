"""Clerical review outside the TRE: the owner re-identifies, the reviewer decides.

The TRE's review pack (``linkage.review_pack``) sends each data owner a sealed request
naming, for each pack-local pair id, the side and the owner's own record pid; and the
reviewer (the trusted third party the governance names) a sealed evidence file with
each pair's datasets, probability, weight, reason and comparison levels.

* ``reidentify_request`` (owner, ``trelink review-reidentify``): verifies the TRE's
  signature, maps each record pid to the owner's record id through its lookup, takes
  the identifying fields from its own extract, and seals them for the reviewer, signed
  by the owner. Record pids do not travel on: the reviewer never holds a pid beside a
  name.
* ``open_review`` (reviewer, ``trelink review-sheet``): verifies the evidence (TRE) and
  every owner's part (each with that dataset owner's key), checks they answer one
  pack and cover exactly its pairs, and writes a decision sheet (``decisions.csv``,
  mode 0600) and a side-by-side page (``review.html``).
* ``sign_decisions`` (reviewer, ``trelink review-sign``): reads the filled sheet and
  seals, for the TRE, only pair ids and labels (match / non-match): no identifier and
  no note leaves the reviewer.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric import ed25519

from pseudonymise.canonical import IDENTIFIER_COLUMNS
from pseudonymise.errors import PackageError
from trelink.atomic import atomic_directory
from trelink.spreadsheet import escape_cell
from trelink.trust.keys import RecipientPrivateKey, RecipientPublicKey, key_id
from trelink.trust.sealed import (
    EVIDENCE_KIND,
    LABELS_KIND,
    PART_KIND,
    REQUEST_KIND,
    header_claims,
    open_sealed,
    seal,
)

__all__ = [
    "DECISIONS",
    "OpenedReview",
    "ReidentifiedPart",
    "ReviewError",
    "SignedLabels",
    "open_review",
    "reidentify_request",
    "sign_decisions",
]


class ReviewError(PackageError):
    """A clerical review step's inputs do not fit each other (a part of another pack,
    a lookup of another dataset) or are malformed (a bad decision sheet)."""


DECISIONS = ("match", "non-match", "unsure")
DEFAULT_FIELDS: tuple[str, ...] = (*IDENTIFIER_COLUMNS, "sex")
_SIDES = {"l": "left", "r": "right"}


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(_text(item) for item in value)
    if isinstance(value, dict):
        return " ".join(_text(item) for item in value.values())
    return str(value)


def _read_extract(path: Path) -> pa.Table:
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pq.read_table(path)
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    except FileNotFoundError:
        raise ReviewError(f"{path}: extract not found") from None
    except (pa.ArrowInvalid, OSError):
        raise ReviewError(f"{path}: not a readable Parquet or CSV extract") from None


@dataclass(frozen=True)
class ReidentifiedPart:
    pack_id: str
    dataset: str
    records: int
    fields: tuple[str, ...]
    out: Path


def reidentify_request(
    request: str | os.PathLike[str],
    *,
    private_key: RecipientPrivateKey,
    tre_trust: ed25519.Ed25519PublicKey,
    lookup: str | os.PathLike[str],
    extract: str | os.PathLike[str],
    reviewer: RecipientPublicKey,
    signing_key: ed25519.Ed25519PrivateKey,
    out: str | os.PathLike[str],
    fields: Sequence[str] | None = None,
    id_column: str = "record_id",
) -> ReidentifiedPart:
    """Answer the TRE's review request with this owner's identifying fields, sealed for
    the reviewer (see the module docstring)."""
    source, target = Path(request), Path(out)
    if target.exists():
        raise ReviewError(f"{target}: already exists; choose another --out")
    message = open_sealed(source, kind=REQUEST_KIND, private_key=private_key, trust=tre_trust)
    pack_id, dataset = str(message.meta.get("pack_id")), str(message.meta.get("dataset"))
    wanted = json.loads(message.members["records.json"])
    lookup_path, extract_path = Path(lookup), Path(extract)
    try:
        mapping = pq.read_table(lookup_path, columns=["record_id", "record_pid"]).to_pylist()
    except FileNotFoundError:
        raise ReviewError(f"{lookup_path}: lookup not found") from None
    except (pa.ArrowInvalid, KeyError, OSError):
        raise ReviewError(
            f"{lookup_path}: not a lookup (Parquet with record_id and record_pid) as "
            "`trelink pseudonymise` writes it"
        ) from None
    record_ids = {row["record_pid"]: row["record_id"] for row in mapping}
    unknown = sum(1 for row in wanted if row["record_pid"] not in record_ids)
    if unknown:
        raise ReviewError(
            f"{lookup_path}: {unknown} of the {len(wanted)} record pid(s) the request for "
            f"dataset {dataset!r} names are not in this lookup; is it this dataset's lookup?"
        )
    table = _read_extract(extract_path)
    if id_column not in table.column_names:
        raise ReviewError(
            f"{extract_path}: no column {id_column!r} (the record id the lookup maps to); "
            "name it with --id-column"
        )
    chosen = (
        tuple(fields)
        if fields
        else tuple(name for name in DEFAULT_FIELDS if name in table.column_names)
    )
    absent = [name for name in chosen if name not in table.column_names]
    if absent or not chosen:
        raise ReviewError(
            f"{extract_path}: field(s) {absent or list(DEFAULT_FIELDS)} not found; name the "
            "identifying columns to show the reviewer with --fields"
        )
    # A record id may repeat (ICTG URNs: one pid per URN); the reviewer sees every
    # distinct value each field takes across the id's rows.
    by_id: dict[str, dict[str, list[str]]] = {}
    for row in table.select([id_column, *chosen]).to_pylist():
        seen = by_id.setdefault(_text(row[id_column]), {name: [] for name in chosen})
        for name in chosen:
            value = _text(row[name])
            if value and value not in seen[name]:
                seen[name].append(value)
    missing = sum(1 for row in wanted if str(record_ids[row["record_pid"]]) not in by_id)
    if missing:
        raise ReviewError(
            f"{extract_path}: {missing} record(s) of the request are in the lookup but not "
            f"in this extract (column {id_column!r}); give the extract that was pseudonymised"
        )
    records = []
    for row in wanted:
        record_id = str(record_ids[row["record_pid"]])
        values = by_id[record_id]
        records.append(
            {
                "pair_id": row["pair_id"],
                "side": row["side"],
                "record_id": record_id,
                "fields": {name: " | ".join(values[name]) for name in chosen},
            }
        )
    seal(
        target,
        kind=PART_KIND,
        meta={"pack_id": pack_id, "dataset": dataset, "fields": list(chosen)},
        members={"records.json": json.dumps(records, ensure_ascii=False).encode()},
        recipient=reviewer,
        signing_key=signing_key,
    )
    return ReidentifiedPart(pack_id, dataset, len(records), chosen, target)


@dataclass(frozen=True)
class OpenedReview:
    pack_id: str
    pairs: int
    out: Path


def _owner_parts(
    parts: Sequence[str | os.PathLike[str]],
    *,
    private_key: RecipientPrivateKey,
    owners: Mapping[str, ed25519.Ed25519PublicKey],
    pack_id: str,
) -> dict[str, tuple[list[str], dict[tuple[str, str], dict[str, Any]]]]:
    """Each dataset's fields and its records by (pair id, side), verified."""
    opened: dict[str, tuple[list[str], dict[tuple[str, str], dict[str, Any]]]] = {}
    for part in parts:
        path = Path(part)
        signer = _signer_in_header(path)
        datasets = [name for name, key in owners.items() if key_id(key) == signer]
        if not datasets:
            raise ReviewError(
                f"{path}: signed by key {signer}, which no --owner DATASET=KEY names; refused"
            )
        message = open_sealed(
            path, kind=PART_KIND, private_key=private_key, trust=owners[datasets[0]]
        )
        dataset = str(message.meta.get("dataset"))
        if dataset not in datasets:
            raise ReviewError(
                f"{path}: claims dataset {dataset!r}, but its signer owns {datasets}; refused"
            )
        if message.meta.get("pack_id") != pack_id:
            raise ReviewError(
                f"{path}: answers review pack {message.meta.get('pack_id')!s}, not the "
                f"evidence's pack {pack_id}; refused"
            )
        if dataset in opened:
            raise ReviewError(f"{path}: a second part for dataset {dataset!r}; give one each")
        records = json.loads(message.members["records.json"])
        opened[dataset] = (
            [str(name) for name in message.meta.get("fields", [])],
            {(row["pair_id"], row["side"]): row for row in records},
        )
    return opened


def _signer_in_header(path: Path) -> str:
    """The signer key id a sealed file's clear header claims (checked on opening)."""
    return str(header_claims(path).get("signer_key_id"))


def open_review(
    evidence: str | os.PathLike[str],
    parts: Sequence[str | os.PathLike[str]],
    *,
    private_key: RecipientPrivateKey,
    tre_trust: ed25519.Ed25519PublicKey,
    owners: Mapping[str, ed25519.Ed25519PublicKey],
    out: str | os.PathLike[str],
) -> OpenedReview:
    """Verify the evidence and the owners' parts; write the decision sheet and page."""
    target = Path(out)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ReviewError(f"{target}: already exists and is not empty; choose another --out")
    message = open_sealed(evidence, kind=EVIDENCE_KIND, private_key=private_key, trust=tre_trust)
    pack_id = str(message.meta.get("pack_id"))
    pairs = json.loads(message.members["pairs.json"])
    opened = _owner_parts(parts, private_key=private_key, owners=owners, pack_id=pack_id)
    needed = {pair[f"dataset_{side}"] for pair in pairs for side in _SIDES}
    missing = sorted(needed - set(opened))
    if missing:
        raise ReviewError(f"no owner's part for dataset(s) {missing}; give every owner's part")
    expected: dict[str, set[tuple[str, str]]] = {dataset: set() for dataset in needed}
    for pair in pairs:
        for side in _SIDES:
            expected[pair[f"dataset_{side}"]].add((pair["pair_id"], side))
    for dataset, (_fields, records) in opened.items():
        if set(records) != expected.get(dataset, set()):
            raise ReviewError(
                f"the part for dataset {dataset!r} does not cover exactly the pairs the "
                "evidence lists for it; refused"
            )
    fields: list[str] = []
    for names, _records in opened.values():
        fields.extend(name for name in names if name not in fields)
    levels = sorted({name for pair in pairs for name in pair["levels"]})
    rows = []
    for pair in pairs:
        row: dict[str, str] = {
            "pair_id": pair["pair_id"],
            "decision": "",
            "note": "",
            "match_probability": f"{pair['match_probability']:.4f}",
            "match_weight": f"{pair['match_weight']:.2f}",
            "reason": pair["reason"],
        }
        for side, word in _SIDES.items():
            dataset = pair[f"dataset_{side}"]
            record = opened[dataset][1][pair["pair_id"], side]
            row[f"{word}_dataset"] = dataset
            row[f"{word}_record_id"] = record["record_id"]
            for name in fields:
                row[f"{word}_{name}"] = record["fields"].get(name, "")
        for name in levels:
            row[f"level_{name}"] = _text(pair["levels"].get(name))
        rows.append(row)
    with atomic_directory(target) as staging:
        os.chmod(staging, 0o700)
        sheet = io.StringIO()
        writer = csv.DictWriter(sheet, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        # Owners' values are text a spreadsheet could run as formulas (``=HYPERLINK``).
        writer.writerows({name: escape_cell(value) for name, value in row.items()} for row in rows)
        (staging / "decisions.csv").write_text(sheet.getvalue(), encoding="utf-8")
        os.chmod(staging / "decisions.csv", 0o600)
        (staging / "review.html").write_text(_page(pack_id, rows, fields, levels))
        os.chmod(staging / "review.html", 0o600)
        (staging / "pack.json").write_text(
            json.dumps(
                {
                    "pack_id": pack_id,
                    "evidence_sha256": message.manifest_sha256,
                    "pair_ids": [pair["pair_id"] for pair in pairs],
                },
                indent=2,
            )
            + "\n"
        )
    return OpenedReview(pack_id, len(rows), target)


def _page(pack_id: str, rows: list[dict[str, str]], fields: list[str], levels: list[str]) -> str:
    """A readable, self-contained page: each pair's two records side by side."""
    escape = html.escape
    blocks = []
    for row in rows:
        lines = []
        for name in ["dataset", "record_id", *fields]:
            left, right = row[f"left_{name}"], row[f"right_{name}"]
            style = "" if left == right or name in ("dataset", "record_id") else ' class="d"'
            lines.append(
                f"<tr{style}><th>{escape(name)}</th><td>{escape(left)}</td>"
                f"<td>{escape(right)}</td></tr>"
            )
        agreement = ", ".join(f"{escape(name)}: {escape(row[f'level_{name}'])}" for name in levels)
        blocks.append(
            f"<section><h2>{escape(row['pair_id'])}</h2><p>match probability "
            f"{escape(row['match_probability'])} (weight {escape(row['match_weight'])}); "
            f"{escape(row['reason'])}</p><table><tr><th></th><th>left</th><th>right</th>"
            f'</tr>{"".join(lines)}</table><p class="l">{agreement}</p></section>'
        )
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        f"<title>Clerical review {escape(pack_id)}</title><style>"
        "body{font-family:sans-serif;max-width:60em;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;"
        "text-align:left}tr.d td{background:#fde2e2}.l{color:#555;font-size:.9em}</style>"
        f"<h1>Clerical review, pack {escape(pack_id)}</h1><p>{len(rows)} pairs. Record your "
        "decision for each pair id in decisions.csv (match, non-match or unsure); fields "
        "that differ are shaded. This page holds identifiers: keep it where the governance "
        "says and delete it when the review is done.</p>" + "".join(blocks) + "</html>\n"
    )


@dataclass(frozen=True)
class SignedLabels:
    pack_id: str
    matches: int
    non_matches: int
    unsure: int
    undecided: int
    out: Path


_SPELLINGS = {
    "match": "match",
    "non-match": "non-match",
    "nonmatch": "non-match",
    "non match": "non-match",
    "unsure": "unsure",
    "": "",
}


def sign_decisions(
    review_dir: str | os.PathLike[str],
    *,
    recipient: RecipientPublicKey,
    signing_key: ed25519.Ed25519PrivateKey,
    out: str | os.PathLike[str],
    decisions: str | os.PathLike[str] | None = None,
) -> SignedLabels:
    """Seal the filled decision sheet's labels (pair id + match / non-match only) for
    the TRE, signed by the reviewer."""
    folder, target = Path(review_dir), Path(out)
    try:
        pack = json.loads((folder / "pack.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReviewError(
            f"{folder / 'pack.json'}: not found; give the folder `trelink review-sheet` wrote"
        ) from None
    sheet = Path(decisions) if decisions is not None else folder / "decisions.csv"
    try:
        text = sheet.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReviewError(f"{sheet}: decision sheet not found") from None
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"pair_id", "decision"} <= set(reader.fieldnames):
        raise ReviewError(f"{sheet}: needs the columns pair_id and decision")
    known = set(pack["pair_ids"])
    labels: list[dict[str, str]] = []
    seen: set[str] = set()
    counts = {"match": 0, "non-match": 0, "unsure": 0, "": 0}
    for line, row in enumerate(reader, start=2):
        pair_id = (row.get("pair_id") or "").strip()
        if pair_id not in known:
            raise ReviewError(f"{sheet}: row {line}, column 'pair_id': not a pair of this pack")
        if pair_id in seen:
            raise ReviewError(f"{sheet}: row {line}, column 'pair_id': pair listed twice")
        seen.add(pair_id)
        spelled = " ".join((row.get("decision") or "").strip().lower().split())
        if spelled not in _SPELLINGS:
            raise ReviewError(
                f"{sheet}: row {line}, column 'decision': write match, non-match, unsure "
                "or leave it blank"
            )
        decision = _SPELLINGS[spelled]
        counts[decision] += 1
        if decision in ("match", "non-match"):
            labels.append({"pair_id": pair_id, "label": decision})
    if not labels:
        raise ReviewError(f"{sheet}: no pair is decided match or non-match; nothing to sign")
    seal(
        target,
        kind=LABELS_KIND,
        meta={
            "pack_id": pack["pack_id"],
            "evidence_sha256": pack["evidence_sha256"],
            "unsure": counts["unsure"],
            "undecided": counts[""] + len(known - seen),
        },
        members={"labels.json": json.dumps(labels).encode()},
        recipient=recipient,
        signing_key=signing_key,
    )
    return SignedLabels(
        pack["pack_id"],
        counts["match"],
        counts["non-match"],
        counts["unsure"],
        counts[""] + len(known - seen),
        target,
    )
