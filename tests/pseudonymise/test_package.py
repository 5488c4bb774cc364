"""Packages: round trip, tamper detection over every byte region, identifier refusal."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pseudonymise.errors import IdentifierLeakError, PackageError, PackageVerifyError
from pseudonymise.package import build_package
from trelink.trust import keys
from trelink.trust.package import CHUNK_SIZE, MAGIC, open_package

from .conftest import OwnerSetup


def _build(owner: OwnerSetup, out: Path, *, kem: keys.RecipientKem = "x25519") -> Path:
    recipient = owner.recipient
    if kem != "x25519":
        recipient = owner.root / "pq"
        keys.generate_recipient_keypair(recipient, kem=kem)
    build_package(
        owner.extract,
        recipient=keys.load_recipient_public_key(keys.public_key_path(recipient)),
        signing_key=keys.load_signing_private_key(owner.signer_private),
        out=out,
    )
    return out


def _open(owner: OwnerSetup, package: Path, *, recipient: Path | None = None) -> None:
    private = keys.private_key_path(recipient or owner.recipient)
    with open_package(
        package,
        private_key=keys.load_recipient_private_key(private),
        trust=keys.load_signing_public_key(owner.signer_public),
    ) as opened:
        for name in ("identity.parquet", "attributes.parquet"):
            assert opened.member(name).read_bytes() == (owner.extract / name).read_bytes()


@pytest.mark.parametrize("kem", ["x25519", "mlkem768-x25519"])
def test_round_trip(owner: OwnerSetup, kem: keys.RecipientKem) -> None:
    package = _build(owner, owner.root / "nrm.tlp", kem=kem)
    _open(owner, package, recipient=owner.root / "pq" if kem != "x25519" else None)
    # the lookup never travels, and nothing in the file is readable in clear
    data = package.read_bytes()
    assert b"NRM-0" not in data and b"record_id" not in data and b"PAR1" not in data


def _regions(data: bytes) -> dict[str, tuple[int, int]]:
    offset = len(MAGIC)
    (header_length,) = struct.unpack(">I", data[offset : offset + 4])
    header = (offset + 4, offset + 4 + header_length)
    (sealed_length,) = struct.unpack(">I", data[header[1] : header[1] + 4])
    sealed = (header[1] + 4, header[1] + 4 + sealed_length)
    return {
        "magic": (0, len(MAGIC)),
        "header length": (offset, offset + 4),
        "header": header,
        "sealed key length": (header[1], header[1] + 4),
        "sealed key": sealed,
        "chunks": (sealed[1], len(data)),
    }


def test_every_byte_region_is_authenticated(owner: OwnerSetup) -> None:
    package = _build(owner, owner.root / "nrm.tlp")
    data = package.read_bytes()
    regions = _regions(data)
    chunk_start, end = regions["chunks"]
    # probe the first, middle and last byte of every region; for the encrypted
    # stream also every 97th byte, which covers manifest, signature and members
    positions = {
        position
        for start, stop in regions.values()
        for position in (start, (start + stop) // 2, stop - 1)
    }
    positions.update(range(chunk_start, end, 97))
    tampered = owner.root / "tampered.tlp"
    for position in sorted(positions):
        altered = bytearray(data)
        altered[position] ^= 0x01
        tampered.write_bytes(bytes(altered))
        with pytest.raises(PackageVerifyError, match=r"tampered\.tlp"):
            _open(owner, tampered)


def test_truncation_and_appended_bytes_are_refused(owner: OwnerSetup) -> None:
    package = _build(owner, owner.root / "nrm.tlp")
    data = package.read_bytes()
    broken = owner.root / "broken.tlp"
    for cut in (1, 16, 17, len(data) // 2, len(data) - _regions(data)["chunks"][0] - 1):
        broken.write_bytes(data[:-cut])
        with pytest.raises(PackageVerifyError):
            _open(owner, broken)
    broken.write_bytes(data + b"\0")
    with pytest.raises(PackageVerifyError, match=r"appended|authentication"):
        _open(owner, broken)
    broken.write_bytes(b"")
    with pytest.raises(PackageVerifyError, match="magic"):
        _open(owner, broken)


def test_multi_chunk_payload_detects_reordered_and_dropped_chunks(owner: OwnerSetup) -> None:
    # A member larger than two chunks, made of random (incompressible) tokens.
    big = pa.table({"record_pid": [f"{i:032x}" for i in range(120_000)]})
    pq.write_table(big, owner.extract / "attributes.parquet", compression="none")
    manifest = json.loads((owner.extract / "manifest.json").read_text())
    manifest["members"].pop("attributes.parquet", None)
    (owner.extract / "manifest.json").write_text(json.dumps(manifest))
    package = _build(owner, owner.root / "big.tlp")
    _open(owner, package)
    data = package.read_bytes()
    start = _regions(data)["chunks"][0]
    size = CHUNK_SIZE + 16
    assert len(data) - start > 2 * size
    first, second = data[start : start + size], data[start + size : start + 2 * size]
    swapped = owner.root / "swapped.tlp"
    swapped.write_bytes(data[:start] + second + first + data[start + 2 * size :])
    with pytest.raises(PackageVerifyError, match="chunk 0"):
        _open(owner, swapped)
    dropped = owner.root / "dropped.tlp"
    dropped.write_bytes(data[: start + size] + data[start + 2 * size :])
    with pytest.raises(PackageVerifyError, match="chunk 1"):
        _open(owner, dropped)
    at_boundary = owner.root / "cut.tlp"
    at_boundary.write_bytes(data[: start + 2 * size])
    with pytest.raises(PackageVerifyError, match="truncated"):
        _open(owner, at_boundary)


def test_wrong_recipient_and_wrong_trust_key(owner: OwnerSetup) -> None:
    package = _build(owner, owner.root / "nrm.tlp")
    keys.generate_recipient_keypair(owner.root / "other")
    with pytest.raises(PackageVerifyError, match="addressed to recipient key"):
        _open(owner, package, recipient=owner.root / "other")
    keys.generate_signer_keypair(owner.root / "impostor")
    with (
        pytest.raises(PackageVerifyError, match="signature does not verify"),
        open_package(
            package,
            private_key=keys.load_recipient_private_key(owner.recipient_private),
            trust=keys.load_signing_public_key(owner.root / "impostor.public.pem"),
        ),
    ):
        pass


def test_a_signer_cannot_be_swapped_in_transit(owner: OwnerSetup) -> None:
    """Re-signing needs the content key, and the header names the original signer."""
    package = _build(owner, owner.root / "nrm.tlp")
    data = bytearray(package.read_bytes())
    start, stop = _regions(bytes(data))["header"]
    header = json.loads(data[start:stop])
    header["signer_key_id"] = "0" * 16
    replaced = json.dumps(header, sort_keys=True).encode()
    assert len(replaced) == stop - start
    data[start:stop] = replaced
    package.write_bytes(bytes(data))
    with pytest.raises(PackageVerifyError, match="cannot be unsealed"):
        _open(owner, package)


def _add_attribute(owner: OwnerSetup, name: str, values: list[object]) -> None:
    path = owner.extract / "attributes.parquet"
    table = pq.read_table(path)
    pq.write_table(table.append_column(name, pa.array(values)), path)
    manifest = json.loads((owner.extract / "manifest.json").read_text())
    manifest["members"].pop("attributes.parquet", None)
    (owner.extract / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("surname", "person names"),
        ("postcode", "postcodes"),
        ("record_id", "the owner's record ids"),
    ],
)
def test_identifier_values_are_refused_under_any_name(
    owner: OwnerSetup, column: str, kind: str
) -> None:
    _add_attribute(owner, "notes", owner.frame[column].tolist())
    with pytest.raises(IdentifierLeakError, match=f"'notes' holds .*{kind}") as caught:
        _build(owner, owner.root / "leak.tlp")
    for value in owner.frame[column]:
        assert str(value) not in str(caught.value)
    assert not (owner.root / "leak.tlp").exists()


def test_nhs_numbers_and_dates_of_birth_are_refused(owner: OwnerSetup) -> None:
    _add_attribute(owner, "ref", ["9434765919", "4010232137"] * 20)
    _add_attribute(owner, "event_day", pd.to_datetime(owner.frame["dob"]).dt.date.tolist())
    with pytest.raises(IdentifierLeakError) as caught:
        _build(owner, owner.root / "leak.tlp")
    assert "'ref' holds values that look like NHS numbers" in str(caught.value)
    assert "'event_day' holds values that look like dates of birth" in str(caught.value)


def test_categories_and_event_dates_are_not_mistaken_for_identifiers(owner: OwnerSetup) -> None:
    _build(owner, owner.root / "ok.tlp")  # nationality, sex, referral_date pass


def test_lookup_is_refused_as_a_member(owner: OwnerSetup) -> None:
    (owner.extract / "identity.parquet").unlink()
    (owner.extract / "lookup.parquet").rename(owner.extract / "identity.parquet")
    manifest = json.loads((owner.extract / "manifest.json").read_text())
    manifest["members"] = {}
    (owner.extract / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IdentifierLeakError, match="lookup"):
        _build(owner, owner.root / "leak.tlp")


def test_member_changed_after_pseudonymise_is_refused(owner: OwnerSetup) -> None:
    path = owner.extract / "attributes.parquet"
    pq.write_table(pq.read_table(path).slice(1), path)
    with pytest.raises(PackageError, match="changed since"):
        _build(owner, owner.root / "x.tlp")
