"""The clerical review round trip: TRE pack -> owners re-identify -> reviewer decides ->
signed labels -> the next link fixes the labelled pairs' decisions.

Each party holds only its own keys and files; the attacker tests forge and edit the
sealed files with code of their own and check every party refuses them, and scan what
the TRE holds for the owners' names and dates of birth.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from typer.testing import CliRunner

from linkage.errors import ClericalReviewError
from linkage.inputs import folder_source
from linkage.review_pack import ReviewPack, export_review_pack, import_labels
from linkage.run import LinkResult, link_datasets
from pseudonymise import pseudonymise_table, write_pseudonymised
from pseudonymise.review import (
    ReviewError,
    open_review,
    reidentify_request,
    sign_decisions,
)
from tests.entry_point import trelink_process as _trelink
from trelink.cli import app
from trelink.spreadsheet import formula_cells
from trelink.synth import write_benchmark_extracts
from trelink.trust import keys
from trelink.trust.sealed import (
    LABELS_KIND,
    PART_KIND,
    REQUEST_KIND,
    SealedFileError,
    open_sealed,
    seal,
)

pytestmark = pytest.mark.slow  # two linkage runs of 300 + 300 records: ~20 s on 2 cores

LINKAGE_KEY = bytes(range(32))
OWNER_KEYS = {"left": bytes(range(32, 64)), "right": bytes(range(64, 96))}
PARTIES = ("tre", "left", "right", "reviewer", "attacker")


@dataclass(frozen=True)
class Party:
    """One party's key pairs: HPKE (to receive) and Ed25519 (to sign)."""

    prefix: Path

    def __post_init__(self) -> None:
        keys.generate_recipient_keypair(f"{self.prefix}-hpke")
        keys.generate_signer_keypair(f"{self.prefix}-sign")

    @property
    def public(self) -> keys.RecipientPublicKey:
        return keys.load_recipient_public_key(keys.public_key_path(f"{self.prefix}-hpke"))

    @property
    def private(self) -> keys.RecipientPrivateKey:
        return keys.load_recipient_private_key(keys.private_key_path(f"{self.prefix}-hpke"))

    @property
    def signer(self) -> ed25519.Ed25519PrivateKey:
        return keys.load_signing_private_key(keys.private_key_path(f"{self.prefix}-sign"))

    @property
    def verifier(self) -> ed25519.Ed25519PublicKey:
        return keys.load_signing_public_key(keys.public_key_path(f"{self.prefix}-sign"))


@dataclass(frozen=True)
class RoundTrip:
    root: Path
    parties: dict[str, Party]
    extracts: dict[str, Path]
    folders: dict[str, Path]
    truth: dict[tuple[str, str], str]  # (dataset, record_id) -> person
    first: LinkResult
    pack: ReviewPack
    parts: dict[str, Path]
    review_dir: Path
    labels_file: Path
    labels: Path
    forced: dict[str, str]  # pair id -> the label that overrides the model
    second: LinkResult


def _link(
    folders: dict[str, Path], out: Path, labels: tuple[Path, ...] = (), model: Path | None = None
) -> LinkResult:
    sources = [folder_source(folders["left"]), folder_source(folders["right"])]
    return link_datasets(
        sources, out_dir=out, show_progress=False, clerical_labels=labels, model_path=model
    )


def _reidentify(
    trip_root: Path,
    parties: dict[str, Party],
    dataset: str,
    request: Path,
    extract: Path,
    folder: Path,
) -> Path:
    owner = parties[dataset]
    out = trip_root / f"part-{dataset}.trs"
    reidentify_request(
        request,
        private_key=owner.private,
        tre_trust=parties["tre"].verifier,
        lookup=folder / "lookup.parquet",
        extract=extract,
        reviewer=parties["reviewer"].public,
        signing_key=owner.signer,
        out=out,
    )
    return out


def _fill(sheet: Path, truth: dict[tuple[str, str], str], threshold: float) -> dict[str, str]:
    """Decide each pair by the truth, except that one linked pair is called a non-match
    and one unlinked pair a match (the reviewer overrides the model); a note names a
    person. Returns the overriding decisions."""
    with sheet.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    forced: dict[str, str] = {}
    for row in rows:
        same = (
            truth[row["left_dataset"], row["left_record_id"]]
            == truth[row["right_dataset"], row["right_record_id"]]
        )
        row["decision"] = "match" if same else "non-match"
        linked = float(row["match_probability"]) >= threshold
        if linked and "non-match" not in forced.values():
            row["decision"] = forced[row["pair_id"]] = "non-match"
        elif not linked and "match" not in forced.values():
            row["decision"] = forced[row["pair_id"]] = "match"
    rows[0]["note"] = f"spoke to {rows[0]['left_forename']} {rows[0]['left_surname']}"
    rows[-1]["decision"] = "unsure" if rows[-1]["pair_id"] not in forced else rows[-1]["decision"]
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return forced


@pytest.fixture(scope="module")
def trip(tmp_path_factory: pytest.TempPathFactory) -> RoundTrip:
    root = tmp_path_factory.mktemp("review")
    parties = {name: Party(root / name) for name in PARTIES}
    raw = write_benchmark_extracts(root / "raw", n_records=300, overlap=0.5, seed=11)
    extracts = {"left": raw.left, "right": raw.right}
    folders = {
        side: write_pseudonymised(
            pseudonymise_table(
                pq.read_table(path), linkage_key=LINKAGE_KEY, owner_key=OWNER_KEYS[side]
            ),
            root / side,
        )
        for side, path in extracts.items()
    }
    truth = {
        (row["dataset"], row["record_id"]): row["person_id"]
        for row in pq.read_table(raw.truth).to_pylist()
    }
    first = _link(folders, root / "link1")
    pack = export_review_pack(
        first.out_dir,
        out=root / "pack",
        owners={side: parties[side].public for side in ("left", "right")},
        reviewer=parties["reviewer"].public,
        signing_key=parties["tre"].signer,
        band=3.0,
        max_pairs=80,
        training_share=0.25,
    )
    parts = {
        dataset: _reidentify(root, parties, dataset, request, extracts[dataset], folders[dataset])
        for dataset, request in pack.requests.items()
    }
    review_dir = root / "review"
    open_review(
        pack.evidence,
        list(parts.values()),
        private_key=parties["reviewer"].private,
        tre_trust=parties["tre"].verifier,
        owners={side: parties[side].verifier for side in ("left", "right")},
        out=review_dir,
    )
    forced = _fill(review_dir / "decisions.csv", truth, first.threshold)
    labels_file = root / "labels.trs"
    sign_decisions(
        review_dir,
        recipient=parties["tre"].public,
        signing_key=parties["reviewer"].signer,
        out=labels_file,
    )
    labels = import_labels(
        labels_file,
        pack_dir=root / "pack",
        private_key=parties["tre"].private,
        reviewer=parties["reviewer"].verifier,
        out=root / "clerical_labels.parquet",
    ).out
    # The next run: the same model, the reviewer's decisions fixed.
    second = _link(folders, root / "link2", (labels,), model=first.out_dir / "model.json")
    return RoundTrip(
        root,
        parties,
        extracts,
        folders,
        truth,
        first,
        pack,
        parts,
        review_dir,
        labels_file,
        labels,
        forced,
        second,
    )


def _pairs(path: Path) -> set[tuple[str, str, str, str]]:
    found = set()
    for row in pq.read_table(path).to_pylist():
        key = (row["dataset_l"], row["record_pid_l"], row["dataset_r"], row["record_pid_r"])
        found.add(key)
        found.add((key[2], key[3], key[0], key[1]))
    return found


def _joined_by_match_labels(
    labels: list[dict[str, str]],
) -> Callable[[str, str], tuple[str, str]]:
    """The representative record of each record's group under the match labels alone."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(dataset: str, record: str) -> tuple[str, str]:
        node = (dataset, record)
        while parent.get(node, node) != node:
            node = parent[node]
        return node

    for row in labels:
        if row["label"] == "match":
            left = find(row["dataset_l"], row["record_pid_l"])
            right = find(row["dataset_r"], row["record_pid_r"])
            if left != right:
                parent[left] = right
    return find


def test_the_relink_fixes_the_labelled_decisions(trip: RoundTrip) -> None:
    labels = pq.read_table(trip.labels).to_pylist()
    assert len(labels) >= 10
    assert {row["pair_id"]: row["label"] for row in labels if row["pair_id"] in trip.forced} == (
        trip.forced
    )
    assert sorted(trip.forced.values()) == ["match", "non-match"]
    first_links = _pairs(trip.first.out_dir / "pairs.parquet")
    links = _pairs(trip.second.out_dir / "pairs.parquet")
    held = _pairs(trip.second.out_dir / "held_back.parquet")
    clusters = {
        (row["dataset"], row["record_pid"]): row["person_id"]
        for row in pq.read_table(trip.second.out_dir / "clusters.parquet").to_pylist()
    }
    for row in labels:
        pair = (row["dataset_l"], row["record_pid_l"], row["dataset_r"], row["record_pid_r"])
        if row["label"] == "match":
            assert pair in links
            assert clusters[pair[0], pair[1]] == clusters[pair[2], pair[3]]
        else:
            assert pair not in links and pair not in held
            # a non-match label splits a person other links would have joined, unless
            # the match labels themselves join the two records
            joined = _joined_by_match_labels(labels)
            assert (clusters[pair[0], pair[1]] == clusters[pair[2], pair[3]]) == (
                joined(pair[0], pair[1]) == joined(pair[2], pair[3])
            )
        if row["pair_id"] in trip.forced:  # the model decided otherwise the first time
            assert (pair in first_links) == (row["label"] == "non-match")
    assert any(note.startswith("clerical labels:") for note in trip.second.notes)


def test_the_labels_carry_their_inclusion_probabilities_and_train_the_model(
    trip: RoundTrip,
) -> None:
    design = json.loads((trip.root / "pack" / "tre" / "pack.json").read_text())["design"]
    assert design["probability_sample"] is True
    labels = pq.read_table(trip.labels).to_pylist()
    labelled: dict[str, int] = {}
    for row in labels:
        labelled[row["stratum"]] = labelled.get(row["stratum"], 0) + 1
    assert set(labelled) == {name for name, counts in design["strata"].items() if counts["drawn"]}
    for row in labels:  # rate x labelled / candidates: one undecided pair lowers its stratum's
        counts = design["strata"][row["stratum"]]
        expected = counts["rate"] * labelled[row["stratum"]] / counts["candidates"]
        assert row["inclusion_probability"] == pytest.approx(expected)
    trained = [note for note in trip.second.notes if "as training data: m of" in note]
    assert trained, trip.second.notes
    model = json.loads((trip.second.out_dir / "model.json").read_text())
    first = json.loads((trip.first.out_dir / "model.json").read_text())
    assert model["comparisons"] != first["comparisons"]  # the labels moved some m


def test_each_owner_receives_only_its_own_pseudonymous_ids(trip: RoundTrip) -> None:
    pids = {
        side: set(pq.read_table(folder / "lookup.parquet").column("record_pid").to_pylist())
        for side, folder in trip.folders.items()
    }
    for dataset, request in trip.pack.requests.items():
        other = "right" if dataset == "left" else "left"
        with pytest.raises(SealedFileError, match="addressed to recipient key"):
            open_sealed(
                request,
                kind=REQUEST_KIND,
                private_key=trip.parties[other].private,
                trust=trip.parties["tre"].verifier,
            )
        message = open_sealed(
            request,
            kind=REQUEST_KIND,
            private_key=trip.parties[dataset].private,
            trust=trip.parties["tre"].verifier,
        )
        sent = {row["record_pid"] for row in json.loads(message.members["records.json"])}
        assert sent and sent <= pids[dataset] and not sent & pids[other]
        text = message.members["records.json"].decode()
        assert not any(pid in text for pid in pids[other])
    # The reviewer's files carry identifiers but never a pid beside them.
    evidence = open_sealed(
        trip.pack.evidence,
        kind="review-evidence",
        private_key=trip.parties["reviewer"].private,
        trust=trip.parties["tre"].verifier,
    )
    reviewer_text = evidence.members["pairs.json"].decode()
    for part in trip.parts.values():
        dataset = "left" if "left" in part.name else "right"
        reviewer_text += (
            open_sealed(
                part,
                kind=PART_KIND,
                private_key=trip.parties["reviewer"].private,
                trust=trip.parties[dataset].verifier,
            )
            .members["records.json"]
            .decode()
        )
    reviewer_text += (trip.review_dir / "decisions.csv").read_text()
    assert not any(pid in reviewer_text for side in pids.values() for pid in side)


def _identifiers(trip: RoundTrip) -> set[str]:
    """The owners' names and dates of birth of every record in the pack."""
    found: set[str] = set()
    for path in trip.extracts.values():
        for row in pq.read_table(path, columns=["forename", "surname", "dob"]).to_pylist():
            found.update(
                value for value in (row["forename"], row["surname"]) if value and len(value) > 3
            )
            if row["dob"] is not None:
                found.add(row["dob"].isoformat())
    return found


def _decoded(path: Path) -> str:
    if path.suffix == ".parquet":
        return str(pq.read_table(path).to_pylist())
    return path.read_bytes().decode("utf-8", errors="replace")


def test_the_tre_side_files_hold_no_identifying_values(trip: RoundTrip) -> None:
    identifiers = _identifiers(trip)
    tre_files = [
        *(trip.root / "pack" / "tre").iterdir(),
        trip.labels,
        *trip.first.out_dir.glob("*.parquet"),
        *trip.second.out_dir.glob("*.parquet"),
    ]
    text = "\n".join(_decoded(path) for path in tre_files)
    assert "pair_id" in text and "near threshold" in text
    leaked = sorted(value for value in identifiers if value in text)
    assert leaked == []


def test_the_signed_labels_carry_pair_ids_and_labels_only(trip: RoundTrip) -> None:
    message = open_sealed(
        trip.labels_file,
        kind=LABELS_KIND,
        private_key=trip.parties["tre"].private,
        trust=trip.parties["reviewer"].verifier,
    )
    assert list(message.members) == ["labels.json"]
    labels = json.loads(message.members["labels.json"])
    assert all(set(label) == {"pair_id", "label"} for label in labels)
    assert message.meta["unsure"] >= 0
    everything = json.dumps(message.meta) + message.members["labels.json"].decode()
    assert "spoke to" not in everything
    assert not [value for value in _identifiers(trip) if value in everything]


def _flip_last_byte(source: Path, target: Path) -> Path:
    data = bytearray(source.read_bytes())
    data[-1] ^= 0x01
    target.write_bytes(bytes(data))
    return target


def test_hand_edited_or_forged_files_are_refused(trip: RoundTrip, tmp_path: Path) -> None:
    parties = trip.parties
    request = trip.pack.requests["left"]
    # An edited request: the owner refuses it before reading its lookup.
    edited = _flip_last_byte(request, tmp_path / "edited-request.trs")
    with pytest.raises(SealedFileError, match="does not decrypt"):
        _reidentify(tmp_path, parties, "left", edited, trip.extracts["left"], trip.folders["left"])
    # A request forged by someone else, sealed to the owner's public key.
    original = open_sealed(
        request,
        kind=REQUEST_KIND,
        private_key=parties["left"].private,
        trust=parties["tre"].verifier,
    )
    forged = tmp_path / "forged-request.trs"
    seal(
        forged,
        kind=REQUEST_KIND,
        meta=original.meta,
        members=original.members,
        recipient=parties["left"].public,
        signing_key=parties["attacker"].signer,
    )
    with pytest.raises(SealedFileError, match="signature does not verify"):
        _reidentify(tmp_path, parties, "left", forged, trip.extracts["left"], trip.folders["left"])
    # An owner part forged by an attacker: the reviewer refuses it.
    fake_part = tmp_path / "fake-part.trs"
    seal(
        fake_part,
        kind=PART_KIND,
        meta={"pack_id": trip.pack.pack_id, "dataset": "left"},
        members={"records.json": b"[]"},
        recipient=parties["reviewer"].public,
        signing_key=parties["attacker"].signer,
    )
    with pytest.raises(ReviewError, match="no --owner"):
        open_review(
            trip.pack.evidence,
            [fake_part, trip.parts["right"]],
            private_key=parties["reviewer"].private,
            tre_trust=parties["tre"].verifier,
            owners={side: parties[side].verifier for side in ("left", "right")},
            out=tmp_path / "review",
        )
    # An edited part.
    edited_part = _flip_last_byte(trip.parts["left"], tmp_path / "edited-part.trs")
    with pytest.raises(SealedFileError):
        open_review(
            trip.pack.evidence,
            [edited_part, trip.parts["right"]],
            private_key=parties["reviewer"].private,
            tre_trust=parties["tre"].verifier,
            owners={side: parties[side].verifier for side in ("left", "right")},
            out=tmp_path / "review2",
        )
    # Edited and forged labels: the TRE refuses them.

    def tre_imports(labels: Path, out: Path) -> None:
        import_labels(
            labels,
            pack_dir=trip.root / "pack",
            private_key=parties["tre"].private,
            reviewer=parties["reviewer"].verifier,
            out=out,
        )

    edited_labels = _flip_last_byte(trip.labels_file, tmp_path / "edited-labels.trs")
    with pytest.raises(ClericalReviewError, match="does not decrypt"):
        tre_imports(edited_labels, tmp_path / "a.parquet")
    genuine = open_sealed(
        trip.labels_file,
        kind=LABELS_KIND,
        private_key=parties["tre"].private,
        trust=parties["reviewer"].verifier,
    )
    everything_a_match = [
        {"pair_id": label["pair_id"], "label": "match"}
        for label in json.loads(genuine.members["labels.json"])
    ]
    forged_labels = tmp_path / "forged-labels.trs"
    seal(
        forged_labels,
        kind=LABELS_KIND,
        meta=genuine.meta,
        members={"labels.json": json.dumps(everything_a_match).encode()},
        recipient=parties["tre"].public,
        signing_key=parties["attacker"].signer,
    )
    with pytest.raises(ClericalReviewError, match="signature does not verify"):
        tre_imports(forged_labels, tmp_path / "b.parquet")
    assert not (tmp_path / "a.parquet").exists() and not (tmp_path / "b.parquet").exists()


def test_labels_for_another_pack_are_refused(trip: RoundTrip, tmp_path: Path) -> None:
    parties = trip.parties
    other = export_review_pack(
        trip.first.out_dir,
        out=tmp_path / "other-pack",
        owners={side: parties[side].public for side in ("left", "right")},
        reviewer=parties["reviewer"].public,
        signing_key=parties["tre"].signer,
        max_pairs=5,
    )
    other_record = json.loads((tmp_path / "other-pack" / "tre" / "pack.json").read_text())
    # The reviewer's genuine signature, on labels that answer the other pack.
    labels = tmp_path / "other-labels.trs"
    seal(
        labels,
        kind=LABELS_KIND,
        meta={"pack_id": other.pack_id, "evidence_sha256": other_record["evidence_sha256"]},
        members={"labels.json": b'[{"pair_id": "R0001", "label": "match"}]'},
        recipient=parties["tre"].public,
        signing_key=parties["reviewer"].signer,
    )
    with pytest.raises(ClericalReviewError, match="answers review pack"):
        import_labels(
            labels,
            pack_dir=trip.root / "pack",
            private_key=parties["tre"].private,
            reviewer=parties["reviewer"].verifier,
            out=tmp_path / "labels.parquet",
        )
    # An owner part of this pack does not answer the other pack's evidence.
    with pytest.raises(ReviewError, match="answers review pack"):
        open_review(
            other.evidence,
            list(trip.parts.values()),
            private_key=parties["reviewer"].private,
            tre_trust=parties["tre"].verifier,
            owners={side: parties[side].verifier for side in ("left", "right")},
            out=tmp_path / "review",
        )


def test_a_bad_decision_is_refused_with_its_row_and_column(trip: RoundTrip, tmp_path: Path) -> None:
    sheet = (trip.review_dir / "decisions.csv").read_text().splitlines()
    header = sheet[0].split(",")
    cells = next(csv.reader([sheet[1]]))
    cells[header.index("decision")] = "probably"
    bad = tmp_path / "decisions.csv"
    with bad.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, cells])
    with pytest.raises(ReviewError, match=r"row 2, column 'decision'"):
        sign_decisions(
            trip.review_dir,
            recipient=trip.parties["tre"].public,
            signing_key=trip.parties["reviewer"].signer,
            out=tmp_path / "labels.trs",
            decisions=bad,
        )
    assert not (tmp_path / "labels.trs").exists()


@dataclass(frozen=True)
class _Ran:
    returncode: int
    stdout: str
    stderr: str


def _command(*arguments: str | Path) -> _Ran:
    """The command in this process (fast); a refusal surfaces as its exception."""
    result = CliRunner().invoke(app, [str(argument) for argument in arguments])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return _Ran(result.exit_code, result.stdout, "")


def test_the_commands_run_the_round_trip(trip: RoundTrip, tmp_path: Path) -> None:
    """Each party's command, with only that party's files and keys."""
    key = {name: str(party.prefix) for name, party in trip.parties.items()}
    pack = tmp_path / "pack"
    done = _command(
        "review-pack", trip.first.out_dir, "--owner", f"left={key['left']}-hpke.public.pem",
        "--owner", f"right={key['right']}-hpke.public.pem",
        "--reviewer", f"{key['reviewer']}-hpke.public.pem",
        "--signing-key", f"{key['tre']}-sign.private.pem", "--out", pack,
        "--max-pairs", "12", "--band", "3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert ": 12 pairs (" in done.stdout
    parts = []
    for side in ("left", "right"):
        part = tmp_path / f"part-{side}.trs"
        done = _command(
            "review-reidentify", pack / "send" / f"request-{side}.trs",
            "--private-key", f"{key[side]}-hpke.private.pem",
            "--tre-key", f"{key['tre']}-sign.public.pem",
            "--lookup", trip.folders[side] / "lookup.parquet", "--extract", trip.extracts[side],
            "--reviewer", f"{key['reviewer']}-hpke.public.pem",
            "--signing-key", f"{key[side]}-sign.private.pem", "--out", part,
            "--fields", "forename,surname,dob",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        parts.append(part)
    review = tmp_path / "review"
    done = _command(
        "review-sheet", pack / "send" / "evidence-reviewer.trs", *parts,
        "--private-key", f"{key['reviewer']}-hpke.private.pem",
        "--tre-key", f"{key['tre']}-sign.public.pem",
        "--owner", f"left={key['left']}-sign.public.pem",
        "--owner", f"right={key['right']}-sign.public.pem", "--out", review,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "left_postcode" not in (review / "decisions.csv").read_text()  # only --fields
    assert (review / "decisions.csv").stat().st_mode & 0o077 == 0
    _fill(review / "decisions.csv", trip.truth, trip.first.threshold)
    labels = tmp_path / "labels.trs"
    done = _command(
        "review-sign", review, "--recipient", f"{key['tre']}-hpke.public.pem",
        "--signing-key", f"{key['reviewer']}-sign.private.pem", "--out", labels,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    imported = tmp_path / "labels.parquet"
    arguments = (
        "--private-key", f"{key['tre']}-hpke.private.pem",
        "--reviewer-key", f"{key['reviewer']}-sign.public.pem",
    )  # fmt: skip
    done = _command("review-import", labels, "--pack", pack, *arguments, "--out", imported)
    assert done.returncode == 0, done.stderr
    assert pq.read_table(imported).num_rows >= 6
    # The same labels against the other pack: refused with a message, no traceback.
    refused = _trelink(
        "review-import", labels, "--pack", trip.root / "pack", *arguments,
        "--out", tmp_path / "wrong.parquet",
    )  # fmt: skip
    assert refused.returncode not in (0, 1)  # a refusal, not an internal fault
    assert "answers review pack" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "wrong.parquet").exists()


def test_an_owners_value_cannot_run_as_a_formula_in_the_sheet(
    trip: RoundTrip, tmp_path: Path
) -> None:
    parties = trip.parties
    genuine = open_sealed(
        trip.parts["left"],
        kind=PART_KIND,
        private_key=parties["reviewer"].private,
        trust=parties["left"].verifier,
    )
    records = json.loads(genuine.members["records.json"])
    records[0]["fields"]["forename"] = '=HYPERLINK("http://example.org","x")'
    part = tmp_path / "part-left.trs"
    seal(part, kind=PART_KIND, meta=genuine.meta,
         members={"records.json": json.dumps(records).encode()},
         recipient=parties["reviewer"].public, signing_key=parties["left"].signer)  # fmt: skip
    open_review(
        trip.pack.evidence,
        [part, trip.parts["right"]],
        private_key=parties["reviewer"].private,
        tre_trust=parties["tre"].verifier,
        owners={side: parties[side].verifier for side in ("left", "right")},
        out=tmp_path / "review",
    )
    sheet = tmp_path / "review" / "decisions.csv"
    assert formula_cells(sheet) == []
    assert "'=HYPERLINK" in sheet.read_text(encoding="utf-8")


def test_a_repeated_record_id_shows_every_value_it_takes(trip: RoundTrip, tmp_path: Path) -> None:
    """ICTG URNs repeat: the owner's part shows each field's distinct values."""
    parties = trip.parties
    request = open_sealed(
        trip.pack.requests["left"],
        kind=REQUEST_KIND,
        private_key=parties["left"].private,
        trust=parties["tre"].verifier,
    )
    pids = [row["record_pid"] for row in json.loads(request.members["records.json"])]
    ids = {
        row["record_pid"]: row["record_id"]
        for row in pq.read_table(trip.folders["left"] / "lookup.parquet").to_pylist()
    }
    extract = pq.read_table(trip.extracts["left"])
    by_id = {row["record_id"]: row for row in extract.to_pylist()}
    first = next(
        ids[pid] for pid in pids if by_id[ids[pid]]["forename"] and by_id[ids[pid]]["surname"]
    )
    repeat = [dict(by_id[first])]
    repeat[0]["forename"] = "Zebedee"
    pq.write_table(
        pa.concat_tables([extract, pa.Table.from_pylist(repeat, schema=extract.schema)]),
        tmp_path / "left.parquet",
    )
    part = tmp_path / "part.trs"
    reidentify_request(
        trip.pack.requests["left"],
        private_key=parties["left"].private,
        tre_trust=parties["tre"].verifier,
        lookup=trip.folders["left"] / "lookup.parquet",
        extract=tmp_path / "left.parquet",
        reviewer=parties["reviewer"].public,
        signing_key=parties["left"].signer,
        out=part,
        fields=["forename", "surname"],
    )
    opened = open_sealed(
        part, kind=PART_KIND, private_key=parties["reviewer"].private,
        trust=parties["left"].verifier,
    )  # fmt: skip
    shown = next(
        row["fields"]
        for row in json.loads(opened.members["records.json"])
        if row["record_id"] == first
    )
    assert shown["forename"].endswith(" | Zebedee")
    assert " | " not in shown["surname"]
    assert set(shown) == {"forename", "surname"}
